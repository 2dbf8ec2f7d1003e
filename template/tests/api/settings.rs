//! SECURITY-CHECKLIST 16: settings that cannot be right stop the service with
//! a message naming the key.

use std::path::Path;

use {{crate_name}}::settings::{DEVELOPMENT_SECRET, Environment, Settings};

use crate::helpers::test_settings;

fn error_for(overrides: &[(&str, &str)]) -> String {
    test_settings(overrides)
        .expect_err("settings should be refused")
        .to_string()
}

#[test]
fn the_test_settings_are_valid() {
    test_settings(&[]).unwrap();
}

#[test]
fn urls_that_are_not_absolute_http_are_refused() {
    for (key, value) in [
        ("auth.own_url", "svc.localhost:8001"),
        ("auth.own_url", "ftp://svc.localhost"),
        ("auth.own_url", "/relative"),
        ("auth.own_url", "http://svc.localhost/path"),
        ("auth.own_url", "http://user:pw@svc.localhost"),
        ("auth.login_url", "/login/"),
        ("auth.login_url", "javascript:alert(1)"),
        ("csrf.trusted_origins", "app.example.com"),
    ] {
        let error = error_for(&[(key, value)]);
        assert!(
            error.contains(&format!("`{key}`")),
            "{key}={value}: {error}"
        );
    }
}

#[test]
fn a_short_hs_secret_is_refused() {
    let error = error_for(&[("auth.secret", "too-short")]);
    assert_eq!(
        error,
        "invalid setting `auth.secret`: is shorter than 32 bytes"
    );
}

#[test]
fn the_development_secret_is_refused_outside_local_and_test() {
    let error = Settings::load_with_overrides(
        &Environment::named("production"),
        Path::new("config"),
        &[
{% if key_source != "shared_secret" %}            ("auth.algorithms", "HS256"),
{% endif %}            ("auth.secret", DEVELOPMENT_SECRET),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("invalid setting `auth.secret`: is the development secret"),
        "{error}"
    );
}

#[test]
fn production_without_a_key_is_refused() {
    let error = Settings::load_for(&Environment::named("production"), Path::new("config"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("`{% if key_source == "shared_secret" %}auth.secret{% elsif key_source == "public_key" %}auth.public_key_file{% else %}auth.jwks_url{% endif %}`"),
        "{error}"
    );
}

#[test]
fn production_with_a_real_secret_is_accepted() {
    Settings::load_with_overrides(
        &Environment::named("production"),
        Path::new("config"),
        &[
{% if key_source != "shared_secret" %}            ("auth.algorithms", "HS256"),
{% endif %}            (
                "auth.secret",
                "a-real-secret-from-the-auth-service-0123456789",
            ),
        ],
    )
    .unwrap();
}

#[test]
fn an_unknown_environment_is_refused() {
    let error = Settings::load_for(&Environment::named("nowhere"), Path::new("config"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("`APP_ENV`"), "{error}");
}

#[test]
fn wrong_types_and_bad_values_name_the_key() {
    for (key, value) in [
        ("server.port", "eighty"),
        ("auth.leeway_secs", "-1"),
        ("auth.algorithms", "HS999"),
        ("auth.access_cookie", "bad name;"),
        ("auth.refresh_cookie", "org.breakthesystem.jwt.access"),
        ("database.max_connections", "0"),
    ] {
        let error = error_for(&[(key, value)]);
        assert!(error.contains(key), "{key}={value}: {error}");
    }
}

#[test]
fn mixing_hmac_and_public_key_algorithms_is_refused() {
    let error = error_for(&[("auth.algorithms", "HS256,RS256")]);
    assert!(error.contains("`auth.algorithms`"), "{error}");
}

#[test]
fn the_secret_never_appears_in_debug_output() {
    let settings = test_settings(&[]).unwrap();
    assert!(!format!("{settings:?}").contains(DEVELOPMENT_SECRET));
}
