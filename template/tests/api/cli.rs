//! The binary: clear start-up errors and the `mint-token` command.

use std::process::Command;

use crate::{
    database::{TestDatabase, UNREACHABLE_URL},
    helpers::spawn_app,
};

/// The binary in the production environment, with a real secret.
fn production() -> Command {
    let mut command = service();
    command
        .env("APP_ENV", "production")
        // Whatever this service's production key source is, these tests are
        // about a shared secret.
        .env("APP__AUTH__ALGORITHMS", "HS256")
        .env("APP__AUTH__SECRET", my_secret());
    command
}

/// Runs `command`, expects it to fail, and returns what it printed on stderr.
fn failure_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(!output.status.success(), "{command:?} succeeded");
    String::from_utf8(output.stderr).unwrap()
}

/// The service's binary, run in the package folder (where `config/` is).
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

#[test]
fn a_bad_setting_stops_the_service_with_one_line_naming_the_key() {
    let output = service()
        .env("APP_ENV", "test")
        .env("APP__AUTH__OWN_URL", "svc.localhost:8001")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: invalid setting `auth.own_url`:"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn an_unreachable_database_at_start_up_is_retried_then_reported_in_one_line() {
    let started = std::time::Instant::now();
    let output = service()
        .env("APP_ENV", "test")
        .env("APP__SERVER__PORT", "0")
        .env("APP__DATABASE__URL", UNREACHABLE_URL)
        .env("APP__DATABASE__CONNECT_RETRIES", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // One retry, one second apart: bounded, not a loop.
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot connect to the database (database.url) after 2 attempts"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn production_refuses_the_development_secret_and_the_development_login() {
    let stderr = failure_of(
        production()
            .env("APP__DEV_LOGIN__ENABLED", "true")
            .arg("check-config"),
    );
    assert!(stderr.contains("`dev_login.enabled`"), "{stderr}");

    let stderr = failure_of(
        production()
            .env("APP__AUTH__SECRET", {{crate_name}}::auth::DEVELOPMENT_SECRET)
            .arg("check-config"),
    );
    assert!(stderr.contains("is the development secret"), "{stderr}");
}

#[test]
fn check_config_accepts_production_with_a_real_secret_and_prints_no_secret() {
    let output = production().arg("check-config").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("settings are valid"));
    assert!(!stdout.contains(&my_secret()));
}

#[tokio::test]
async fn mint_token_prints_a_cookie_header_and_a_bearer_token_the_service_accepts() {
    let output = service()
        .env("APP_ENV", "test")
        .args([
            "mint-token",
            "--username",
            "cli-user",
            "--email",
            "cli@example.com",
            "--staff",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let cookie = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Cookie: "))
        .unwrap()
        .to_owned();
    let bearer = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Authorization: Bearer "))
        .unwrap()
        .to_owned();

    let app = spawn_app().await;
    let me = app.me_json(&cookie).await;
    assert_eq!(me["username"], "cli-user");
    assert_eq!(me["is_staff"], true);
    let response = app
        .get("/api/users")
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn mint_token_is_refused_in_production() {
    let stderr = failure_of(production().arg("mint-token"));
    assert!(
        stderr.contains("`mint-token` is refused") && stderr.contains("`auth.secret`"),
        "{stderr}"
    );
}

fn my_secret() -> String {
    "a-production-secret-that-is-long-enough-0123456789".to_owned()
}

#[tokio::test]
async fn sigterm_shuts_the_service_down_gracefully() {
    use std::io::{BufRead, BufReader};

    let database = TestDatabase::create().await;
    let mut child = service()
        .env("APP_ENV", "test")
        .env("APP__SERVER__PORT", "0")
        .env("APP__DATABASE__URL", database.url())
        .env("APP__LOG__FILTER", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Serving once it says so (the log goes to stdout).
    assert!(
        lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("listening")),
        "the service never started"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}: {rest:?}");
    assert!(
        rest.iter().any(|line| line.contains("shutting down")),
        "{rest:?}"
    );
    assert!(rest.iter().any(|line| line.contains("stopped")), "{rest:?}");
}
