//! The service's binary as a child process, for what only a process shows:
//! settings from the environment, start-up, log lines, signals, replicas.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, PoisonError, mpsc},
    time::Duration,
};

/// The service's binary, run in the package folder (where `config/` is), with
/// no `APP_*` or `RUST_LOG` variable inherited from the test's environment.
pub(crate) fn service() -> Command {
    let mut command = Command::new(env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME"))));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars() {
        if key.starts_with("APP_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
}

/// How long the binary gets to say it is listening.
const LISTENING_WITHIN: Duration = Duration::from_secs(30);

/// The binary serving (`APP_ENV=test`, JSON logs at `info`, a random port,
/// unless `env` says otherwise), with everything it prints collected; killed
/// when dropped.
pub(crate) struct Running {
    child: Child,
    port: u16,
    output: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `serve` with `env` and waits until it is listening; what it
    /// printed when it exits (or stays silent) before.
    pub(crate) fn start(env: &[(&str, &str)]) -> Result<Self, String> {
        let mut child = service()
            .env("APP_ENV", "test")
            .env("APP__SERVER__PORT", "0")
            .env("APP__LOG__FILTER", "info")
            .env("APP__LOG__FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the service starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (listening, port) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let collected = Arc::clone(&output);
        // Reads to the end, so the service never writes to a closed pipe.
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = listening.send(port);
                }
                push_line(&collected, &line);
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let collected = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            push_line(&collected, &text);
        });
        // Fails at once when the service exits: its stdout closes.
        if let Ok(port) = port.recv_timeout(LISTENING_WITHIN) {
            Ok(Self {
                child,
                port,
                output,
            })
        } else {
            let _ = child.kill();
            let _ = child.wait();
            Err(collected_output(&output))
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM and waits (without blocking the runtime, whose other
    /// tasks may be serving the service) for the exit; whether it exited with
    /// success, and everything it printed.
    pub(crate) async fn terminate(mut self) -> (bool, String) {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        let mut success = false;
        if signalled {
            for _ in 0..600 {
                if let Some(status) = self.child.try_wait().expect("the service's status") {
                    success = status.success();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        (success, self.stop())
    }

    /// Its JSON log lines so far.
    pub(crate) fn json_lines(&self) -> Vec<serde_json::Value> {
        json_lines(&collected_output(&self.output))
    }

    /// Stops it and returns everything it printed.
    pub(crate) fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        collected_output(&self.output)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of a JSON `listening` log line.
fn listening_port(line: &str) -> Option<u16> {
    let line: serde_json::Value = serde_json::from_str(line).ok()?;
    (line["fields"]["message"] == "listening")
        .then(|| line["fields"]["port"].as_u64())
        .flatten()
        .and_then(|port| u16::try_from(port).ok())
}

/// What the readers collected, once they have read what is left in the pipes.
fn collected_output(output: &Mutex<String>) -> String {
    std::thread::sleep(Duration::from_millis(50));
    output
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

fn push_line(output: &Mutex<String>, line: &str) {
    let mut output = output.lock().unwrap_or_else(PoisonError::into_inner);
    output.push_str(line);
    output.push('\n');
}

/// The JSON log lines of `output` at `level` whose message contains `text`.
pub(crate) fn log_lines<'o>(output: &'o str, level: &str, text: &str) -> Vec<&'o str> {
    output
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|json| {
                json["level"] == level
                    && json["fields"]["message"]
                        .as_str()
                        .is_some_and(|message| message.contains(text))
            })
        })
        .collect()
}

/// The JSON log lines of `output`.
pub(crate) fn json_lines(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
