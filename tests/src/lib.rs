//! Helpers for the template's tests: generate a service with cargo-generate,
//! run cargo in it, look for leftover Liquid, run its binary as a child process.
//!
//! Generated services live in one stable folder outside the repository
//! (`$TMPDIR/auth-svc-template-tests/<name>`), and all of them share one
//! `CARGO_TARGET_DIR` (`<repo>/target/generated`), so a second run, or a second
//! variant, rebuilds only what differs.

use std::{
    ffi::OsStr,
    fs::File,
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

/// The template repository's root.
#[must_use]
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The target folder every generated service builds into.
#[must_use]
pub fn shared_target_dir() -> PathBuf {
    std::env::var_os("TEMPLATE_TESTS_TARGET_DIR").map_or_else(
        || repo_root().join("target").join("generated"),
        PathBuf::from,
    )
}

/// Where generated services are written: outside the repository, so
/// cargo-generate does not add them to an enclosing workspace or git repo.
#[must_use]
pub fn work_dir() -> PathBuf {
    std::env::temp_dir().join("auth-svc-template-tests")
}

/// `cargo generate` of this repository for `name` into [`work_dir`] (the
/// previous project of that name removed), outside any workspace or git
/// repository, with nothing to answer on stdin: a prompt fails at once
/// instead of waiting. The sub-template, answers and `--silent` are the
/// caller's to add.
#[must_use]
pub fn cargo_generate(name: &str) -> Command {
    tag_cache_folders();
    let dest = work_dir();
    std::fs::create_dir_all(&dest).expect("create the work folder");
    let project = dest.join(name);
    if project.exists() {
        std::fs::remove_dir_all(&project).expect("remove the previous project");
    }
    let mut command = Command::new("cargo");
    command
        .arg("generate")
        .arg("--path")
        .arg(repo_root())
        .args(["--name", name, "--no-workspace", "--vcs", "none"])
        .arg("--destination")
        .arg(&dest)
        .stdin(Stdio::null());
    command
}

/// [`cargo_generate`] as the README runs it: the sub-template named (no
/// "which one?" prompt), with `--define`s.
#[must_use]
pub fn generate_command(name: &str, defines: &[(&str, &str)]) -> Command {
    let mut command = cargo_generate(name);
    command.arg("template");
    for (key, value) in defines {
        command.arg("--define").arg(format!("{key}={value}"));
    }
    command
}

/// Runs `cargo generate --silent` for `name` with `--define`s; returns its
/// output and the project folder (which exists only when generation succeeded).
#[must_use]
pub fn try_generate(name: &str, defines: &[(&str, &str)]) -> (Output, PathBuf) {
    let output = generate_command(name, defines)
        .arg("--silent")
        .output()
        .expect("run cargo generate (is cargo-generate installed?)");
    (output, work_dir().join(name))
}

/// Generates `name`, panicking with cargo-generate's output when it fails.
#[must_use]
pub fn generate(name: &str, defines: &[(&str, &str)]) -> PathBuf {
    let (output, project) = try_generate(name, defines);
    assert!(
        output.status.success(),
        "cargo generate failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    project
}

/// Runs `cargo <args>` in `project` with the shared target folder; panics with
/// the output when it fails.
pub fn cargo<I, S>(project: &Path, args: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let shown = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("[{}] cargo {shown}", project.display());
    let status = Command::new("cargo")
        .args(&args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "`cargo {shown}` failed in {}",
        project.display()
    );
}

/// Every file under `dir` (skipping `target/` and `.git/`) that still holds
/// Liquid syntax, with the offending line.
#[must_use]
pub fn leftover_liquid(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read folder") {
            let entry = entry.expect("folder entry");
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (number, line) in text.lines().enumerate() {
                let line_without_github = without_github_expressions(line);
                let rest = line_without_github.as_str();
                if rest.contains("{{") || rest.contains("{%") || rest.contains("}}") {
                    found.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
    }
    found
}

/// `line` without GitHub Actions expressions (`${{ github.ref }}`), which are
/// meant to survive Liquid.
fn without_github_expressions(line: &str) -> String {
    let mut rest = line;
    let mut kept = String::new();
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        kept.push_str(&rest[..start]);
        rest = &rest[start + len + 2..];
    }
    kept.push_str(rest);
    kept
}

/// A port nothing listens on right now.
#[must_use]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("its address").port()
}

/// The status of `GET path` on `127.0.0.1:port`, or `None` while nothing
/// answers. Plain HTTP/1.0 over a socket: enough for a readiness probe.
#[must_use]
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let timeout = Duration::from_secs(2);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    )
    .ok()?;
    let mut head = [0_u8; 32];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(&head[..read])
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Calls `check` every `every` until it gives a value, and returns that; `None`
/// when `within` has passed first. The one polling loop of the template's tests.
pub fn poll<T>(
    within: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(every);
    }
}

/// How long a generated service gets to answer its readiness probe.
pub const READY_WITHIN: Duration = Duration::from_secs(30);

/// A generated service's binary running `serve` as a child process, its
/// output in a log file. Killed on drop, so a failing assertion does not
/// leave it behind; when the test is panicking, its output is printed.
#[derive(Debug)]
pub struct Service {
    name: String,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Service {
    /// Starts `<shared target>/debug/<name> serve` in `project` (its working
    /// folder, where `config/` is), listening on `127.0.0.1:port`, and waits
    /// until `/api/health/ready` answers 200. The settings are `env` only:
    /// no `APP_*` variable is inherited from the developer's shell.
    #[must_use]
    pub fn start(
        project: &Path,
        name: &str,
        port: u16,
        env: &[(&str, String)],
        log: &Path,
    ) -> Self {
        let mut service = Self::spawn(project, name, port, env, log);
        service.wait_until_ready();
        service
    }

    /// [`Service::start`] without the wait: for a test that looks at the
    /// service before it is ready, then calls [`Service::wait_until_ready`].
    #[must_use]
    pub fn spawn(
        project: &Path,
        name: &str,
        port: u16,
        env: &[(&str, String)],
        log: &Path,
    ) -> Self {
        let output = File::create(log).expect("create the service log");
        let mut command = Command::new(shared_target_dir().join("debug").join(name));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("APP_") {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .current_dir(project)
            .env("APP__SERVER__HOST", "127.0.0.1")
            .env("APP__SERVER__PORT", port.to_string())
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("share the log file"))
            .stderr(output);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} (was it built?): {e}"));
        Self {
            name: name.to_owned(),
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    /// The port it listens on, on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `/api/health/ready` answers 200; panics with the output
    /// when the service exits first or is not ready within [`READY_WITHIN`].
    pub fn wait_until_ready(&mut self) {
        let port = self.port;
        let child = &mut self.child;
        let outcome = poll(READY_WITHIN, Duration::from_millis(100), || {
            if let Some(status) = child.try_wait().expect("poll the service") {
                return Some(Err(status));
            }
            (http_status(port, "/api/health/ready") == Some(200)).then_some(Ok(()))
        });
        match outcome {
            Some(Ok(())) => {}
            Some(Err(status)) => panic!(
                "{} exited with {status} before it was ready:\n{}",
                self.name,
                self.output()
            ),
            None => panic!(
                "{} was not ready within {READY_WITHIN:?}:\n{}",
                self.name,
                self.output()
            ),
        }
    }

    /// Kills the service and returns everything it wrote.
    pub fn stop(&mut self) -> String {
        // Killing an exited child is harmless; waiting reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output()
    }

    /// Everything it wrote so far.
    #[must_use]
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let output = self.stop();
        if thread::panicking() {
            eprintln!("--- {} output ---\n{output}", self.name);
        }
    }
}

/// cargo-generate copies the whole repository before it picks `template/`, and
/// skips only folders tagged with a `CACHEDIR.TAG`: tag the ones that hold
/// build outputs, the Python venv and `node_modules`, or every generation copies
/// them too.
fn tag_cache_folders() {
    const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# build outputs and tools of the template's tests\n";
    let root = repo_root();
    for dir in [root.join("target"), root.join("tests/browser/node_modules")] {
        let tag = dir.join("CACHEDIR.TAG");
        if dir.is_dir() && !tag.exists() {
            std::fs::write(&tag, TAG).expect("write CACHEDIR.TAG");
        }
    }
}
