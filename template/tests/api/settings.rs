//! Settings that cannot be right stop the service with a message naming the
//! key.

use std::path::Path;

use {{crate_name}}::{
    auth::DEVELOPMENT_SECRET,
    settings::{Environment, Settings},
};

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
        ("auth.login_url", "login/"),
        ("auth.login_url", "//evil.example/login/"),
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

/// The production settings with `overrides`.
fn production(overrides: &[(&str, &str)]) -> Result<Settings, String> {
    Settings::load_with_overrides(
        &Environment::named("production"),
        Path::new("config"),
        overrides,
    )
    .map_err(|error| error.to_string())
}

#[test]
fn production_without_a_key_is_refused() {
    let error = production(&[]).unwrap_err();
    // Which key depends on how this service's Auth service publishes its keys.
    let key_settings = ["`auth.secret`", "`auth.public_key_file`", "`auth.jwks_url`"];
    assert!(
        key_settings.iter().any(|key| error.contains(key)) && error.contains("is required"),
        "{error}"
    );
}

#[test]
fn production_with_a_real_secret_is_accepted() {
    production(&[
        ("auth.algorithms", "HS256"),
        ("auth.secret", "a-real-secret-from-the-auth-service-0123456789"),
    ])
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
