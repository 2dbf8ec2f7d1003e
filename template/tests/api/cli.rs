//! The binary: clear start-up errors and the `mint-token` command.

use std::process::Command;

use crate::{
    database::{TestDatabase, UNREACHABLE_URL},
    helpers::{access_token, cookie_pair, spawn_app},
    process::{Running, log_lines, service},
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
    let database = TestDatabase::create().await;
    let service = Running::start(&[("APP__DATABASE__URL", database.url())])
        .unwrap_or_else(|output| panic!("the service never started:\n{output}"));
    let (success, output) = service.terminate().await;
    assert!(success, "not a clean exit:\n{output}");
    for message in ["shutting down", "stopped"] {
        assert!(!log_lines(&output, "INFO", message).is_empty(), "{output}");
    }
}

#[test]
fn an_unset_app_env_means_production() {
    let mut command = production();
    command.env_remove("APP_ENV");
    let output = command.arg("check-config").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("environment:   production"), "{stdout}");

    // So without the Auth service's key it does not start at all, and no
    // development login or development secret can be on.
    let stderr = failure_of(service().arg("check-config"));
    assert!(stderr.starts_with("error: invalid setting `auth."), "{stderr}");
}

#[test]
fn with_a_real_key_the_development_login_and_mint_token_refuse_to_sign() {
    // `APP_ENV=test` left on a server where the real key was set: the
    // development login would sign anyone in with that key.
    for environment in ["test", "local"] {
        let output = service()
            .env("APP_ENV", environment)
            .env("APP__AUTH__SECRET", my_secret())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{environment}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with("error: invalid setting `dev_login.enabled`: is refused because `auth.secret`"),
            "{environment}: {stderr}"
        );
        assert!(!stderr.contains(&my_secret()));

        let stderr = failure_of(
            service()
                .env("APP_ENV", environment)
                .env("APP__AUTH__SECRET", my_secret())
                .env("APP__DEV_LOGIN__ENABLED", "false")
                .arg("mint-token"),
        );
        assert!(
            stderr.contains("`mint-token` is refused") && stderr.contains("`auth.secret`"),
            "{environment}: {stderr}"
        );
    }
}

#[test]
fn the_development_secret_never_serves_a_public_address() {
    for environment in ["test", "local"] {
        let output = service()
            .env("APP_ENV", environment)
            .env("APP__SERVER__HOST", "0.0.0.0")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{environment}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        // Refused before it binds, naming the host (locally, the empty
        // own_url that stands for this machine is what gives way first).
        assert!(
            stderr.starts_with("error: invalid setting `auth.") && stderr.contains("server.host"),
            "{environment}: {stderr}"
        );
    }
    let stderr = failure_of(
        service()
            .env("APP_ENV", "local")
            .env("APP__AUTH__OWN_URL", "https://orders.example.com")
            .arg("mint-token"),
    );
    assert!(stderr.contains("auth.own_url"), "{stderr}");
}

#[tokio::test]
async fn a_warning_says_when_the_development_login_is_on() {
    let database = TestDatabase::create().await;
    let service = Running::start(&[("APP__DATABASE__URL", database.url())])
        .unwrap_or_else(|output| panic!("the service never started:\n{output}"));
    let output = service.stop();
    assert_eq!(
        log_lines(&output, "WARN", "development login is on").len(),
        1,
        "{output}"
    );
}

#[tokio::test]
async fn an_unusable_cookie_header_is_logged_at_debug_without_its_content() {
    let database = TestDatabase::create().await;
    let service = Running::start(&[
        ("APP__DATABASE__URL", database.url()),
        ("APP__LOG__FILTER", "debug"),
    ])
    .unwrap_or_else(|output| panic!("the service never started:\n{output}"));
    let token = access_token("alice");
    let mut cookies = b"city=M\xfcnchen; ".to_vec();
    cookies.extend_from_slice(cookie_pair(&token).as_bytes());
    let response = reqwest::Client::new()
        .get(service.url("/api/me"))
        .header(
            reqwest::header::COOKIE,
            reqwest::header::HeaderValue::from_bytes(&cookies).unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Our cookies still count…
    assert_eq!(response.status(), 200);
    let output = service.stop();
    // …and the odd header is noted, without a cookie's value.
    assert_eq!(log_lines(&output, "DEBUG", "Cookie header").len(), 1, "{output}");
    assert!(!output.contains("nchen") && !output.contains(&token), "{output}");
}

#[tokio::test]
async fn the_database_password_is_never_printed() {
    const PASSWORD: &str = "Pa55w0rd-never-printed";
    // The same server as the suite's, with a password on top, and unparsable
    // and foreign URLs carrying it.
    let mut refused = url::Url::parse(crate::database::UNREACHABLE_URL).unwrap();
    if refused.set_password(Some(PASSWORD)).is_err() {
        // A file URL has no password: give the SQLite variant one with a host.
        refused = url::Url::parse(&format!(
            "sqlite://svc:{PASSWORD}@localhost/proc/no-such-dir/db.sqlite?mode=rwc"
        ))
        .unwrap();
    }
    let scheme = refused.scheme().to_owned();
    for url in [
        refused.to_string(),
        format!("{scheme}://svc:{PASSWORD}/x#y?z@db.example/svc"),
        format!("mongodb://svc:{PASSWORD}@db.example/svc"),
    ] {
        for args in [&["check-config"][..], &["serve"], &["migrate", "up"]] {
            let output = service()
                .env("APP_ENV", "test")
                .env("APP__SERVER__PORT", "0")
                .env("APP__DATABASE__URL", &url)
                .env("APP__DATABASE__CONNECT_RETRIES", "0")
                .env("APP__DATABASE__ACQUIRE_TIMEOUT_SECS", "1")
                .env("RUST_LOG", "trace")
                .args(args)
                .output()
                .unwrap();
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                !printed.contains("Pa55w0rd"),
                "{args:?} with {url} printed the password:\n{printed}"
            );
            if args == ["check-config"] && output.status.success() {
                assert!(printed.contains("database:"), "{printed}");
            }
        }
    }
}

#[test]
fn string_settings_from_the_environment_are_kept_exactly() {
    let output = production()
        .env("APP__AUTH__SECRET", "012345678901234567890123456789012345")
        .env("APP__AUTH__AUDIENCE", "1.0")
        .env("APP__AUTH__ISSUER", "007")
        .arg("check-config")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("issuer:        007"), "{stdout}");
    assert!(stdout.contains("audience:      1.0"), "{stdout}");
}
