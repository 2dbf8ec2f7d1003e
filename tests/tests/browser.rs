//! A developer's first minutes with a generated service, in a real browser:
//! Debian's Chromium, driven by `tests/browser/walkthrough.mjs`
//! (`playwright-core`), against the service running locally (`APP_ENV=local`).
//! Anonymous `/me/` → development login → signed in as Ada → `/me/` and `/`
//! show her → Swagger UI's "Try it out" on `GET /me` answers 200, the browser
//! sending the cookies by itself.
//!
//! Needs Chromium and the script's `node_modules`: run `scripts/ensure-browser`
//! first. The screenshots of each step land in `<repo>/target/browser-screenshots`.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use template_tests::{Service, cargo, free_port, generate, poll, repo_root};

const NAME: &str = "browser-svc";
/// The script stops itself after 55 s; this only guards against a hung node.
const WALK_WITHIN: Duration = Duration::from_secs(90);
const SCREENSHOTS: [&str; 5] = [
    "01-login-page.png",
    "02-signed-in-me.png",
    "03-home.png",
    "04-docs.png",
    "05-try-it-out-200.png",
];
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[test]
fn a_developer_signs_in_and_tries_me_in_swagger_ui() {
    let script = browser_prerequisites();
    let project = generate(NAME, &[]);
    cargo(&project, ["build"]);

    let scratch = tempfile::tempdir().expect("create a temporary folder");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let service = Service::start(
        &project,
        NAME,
        port,
        &[
            ("APP_ENV", "local".to_owned()),
            ("APP__AUTH__OWN_URL", base.clone()),
            ("APP__AUTH__LOGIN_URL", format!("{base}/dev/login/")),
            (
                "APP__DATABASE__URL",
                format!(
                    "sqlite://{}?mode=rwc",
                    scratch.path().join("browser.db").display()
                ),
            ),
        ],
        &scratch.path().join("service.log"),
    );

    let screenshots = repo_root().join("target").join("browser-screenshots");
    if screenshots.exists() {
        std::fs::remove_dir_all(&screenshots).expect("remove the previous screenshots");
    }
    let (success, output) = walk(&script, &service.base_url(), &screenshots, scratch.path());
    println!("{output}");
    assert!(
        success,
        "the browser walkthrough failed (see {}/failure.png):\n{output}\n--- {NAME} log ---\n{}",
        screenshots.display(),
        service.output()
    );

    for name in SCREENSHOTS {
        let path = screenshots.join(name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("no screenshot {}: {e}\n{output}", path.display()));
        assert!(
            bytes.len() > PNG_SIGNATURE.len() && bytes.starts_with(PNG_SIGNATURE),
            "{} is not a non-empty PNG ({} bytes)",
            path.display(),
            bytes.len()
        );
    }
}

/// The walkthrough script, once Chromium and its `node_modules` are in place.
fn browser_prerequisites() -> PathBuf {
    let browser = repo_root().join("tests").join("browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        chromium.exists(),
        "no Chromium at {}: run scripts/ensure-browser first",
        chromium.display()
    );
    let playwright = browser.join("node_modules").join("playwright-core");
    assert!(
        playwright.exists(),
        "no {}: run scripts/ensure-browser first",
        playwright.display()
    );
    browser.join("walkthrough.mjs")
}

/// Runs the walkthrough against `base`; returns whether it passed and
/// everything it printed (stdout, then stderr).
fn walk(script: &Path, base: &str, screenshots: &Path, scratch: &Path) -> (bool, String) {
    let (stdout, stderr) = (scratch.join("walk.out"), scratch.join("walk.err"));
    let mut node = Command::new("node")
        .arg(script)
        .arg(base)
        .arg(screenshots)
        .current_dir(script.parent().expect("the script's folder"))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).expect("create the script's stdout"))
        .stderr(File::create(&stderr).expect("create the script's stderr"))
        .spawn()
        .unwrap_or_else(|e| panic!("run node (run scripts/ensure-browser first): {e}"));
    let status = poll(WALK_WITHIN, Duration::from_millis(100), || {
        node.try_wait().expect("poll node")
    });
    if status.is_none() {
        let _ = node.kill();
        let _ = node.wait();
    }
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let output = format!("{}{}", read(&stdout), read(&stderr));
    match status {
        Some(status) if status.success() => (true, output),
        Some(status) => (false, format!("{output}node exited with {status}\n")),
        None => (
            false,
            format!("{output}node was killed after {WALK_WITHIN:?}\n"),
        ),
    }
}
