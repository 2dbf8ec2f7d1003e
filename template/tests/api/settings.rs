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
        ("auth.own_url", "http://svc.localhost/path?query"),
        ("auth.own_url", "http://svc.localhost/#fragment"),
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

/// The settings of environment `name` with `overrides`.
fn settings_of(name: &str, overrides: &[(&str, &str)]) -> Result<Settings, String> {
    Settings::load_with_overrides(&Environment::named(name), Path::new("config"), overrides)
        .map_err(|error| error.to_string())
}

const REAL_SECRET: &str = "a-real-secret-from-the-auth-service-0123456789";

#[test]
fn the_development_secret_is_refused_off_loopback_whatever_app_env_says() {
    for environment in ["test", "local", "production"] {
        for (key, value, named) in [
            ("server.host", "0.0.0.0", "server.host"),
            ("server.host", "192.0.2.10", "server.host"),
            ("auth.own_url", "https://orders.example.com", "auth.own_url"),
        ] {
            let error = settings_of(
                environment,
                &[
                    ("auth.algorithms", "HS256"),
                    ("auth.secret", DEVELOPMENT_SECRET),
                    ("auth.own_url", "http://localhost:8080"),
                    ("server.host", "127.0.0.1"),
                    (key, value),
                ],
            )
            .unwrap_err();
            assert!(
                error.starts_with("invalid setting `auth.secret`: is the development secret")
                    && error.contains(named),
                "{environment}, {key}={value}: {error}"
            );
        }
    }
    // On loopback it is fine: a developer's machine.
    settings_of("test", &[("auth.own_url", "http://127.0.0.1:8080")]).unwrap();
    settings_of("test", &[("auth.own_url", "http://svc.localhost:8080")]).unwrap();
}

#[test]
fn the_development_login_signs_with_the_development_secret_only() {
    for environment in ["test", "local"] {
        let error = settings_of(environment, &[("auth.secret", REAL_SECRET)]).unwrap_err();
        assert!(
            error.starts_with("invalid setting `dev_login.enabled`: is refused because `auth.secret`"),
            "{environment}: {error}"
        );
        // Nor may the development secret be one key of a rotation list.
        let both = format!("{REAL_SECRET},{DEVELOPMENT_SECRET}");
        let error = settings_of(environment, &[("auth.secret", &both)]).unwrap_err();
        assert!(error.contains("`dev_login.enabled`"), "{environment}: {error}");
    }
    let error = settings_of(
        "production",
        &[
            ("auth.algorithms", "HS256"),
            ("auth.secret", REAL_SECRET),
            ("dev_login.enabled", "true"),
            ("server.host", "127.0.0.1"),
        ],
    )
    .unwrap_err();
    assert!(error.contains("`dev_login.enabled`"), "{error}");
    // Without the development login, a real key on a public address is an
    // ordinary service, whatever the environment is called.
    settings_of(
        "test",
        &[
            ("auth.secret", REAL_SECRET),
            ("dev_login.enabled", "false"),
            ("server.host", "0.0.0.0"),
            ("auth.own_url", "https://orders.example.com"),
        ],
    )
    .unwrap();
}

#[test]
fn a_key_setting_that_cannot_take_effect_is_refused() {
    let pem = "tests/fixtures/es256-public.pem";
    for (overrides, key) in [
        // A PEM file next to HS* algorithms would be ignored.
        (
            vec![("auth.public_key_file", pem)],
            "`auth.public_key_file`",
        ),
        // A secret next to public-key algorithms would be ignored.
        (
            vec![
                ("auth.algorithms", "ES256"),
                ("auth.public_key_file", pem),
                ("dev_login.enabled", "false"),
            ],
            "`auth.secret`",
        ),
        // One PEM key cannot verify both RSA and EC signatures.
        (
            vec![
                ("auth.algorithms", "RS256,ES256"),
                ("auth.public_key_file", pem),
                ("auth.secret", ""),
                ("dev_login.enabled", "false"),
            ],
            "`auth.algorithms`",
        ),
    ] {
        let error = error_for(&overrides);
        assert!(error.contains(key), "{overrides:?}: {error}");
    }
    test_settings(&[
        ("auth.algorithms", "ES256"),
        ("auth.public_key_file", pem),
        ("auth.secret", ""),
        ("dev_login.enabled", "false"),
    ])
    .unwrap();
}

#[test]
fn numeric_settings_are_refused_outside_their_bounds() {
    for (key, value) in [
        ("server.shutdown_timeout_secs", "3601"),
        ("database.max_connections", "1001"),
        ("database.acquire_timeout_secs", "0"),
        ("database.connect_retries", "101"),
        ("auth.leeway_secs", "3601"),
        ("auth.leeway_secs", "18446744073709551615"),
        ("auth.user_cache_ttl_secs", "3601"),
        ("auth.user_cache_capacity", "0"),
        ("dev_login.access_token_lifetime_secs", "0"),
        ("dev_login.refresh_token_lifetime_secs", "2592001"),
        ("server.port", "65536"),
    ] {
        let error = error_for(&[(key, value)]);
        assert!(error.contains(&format!("`{key}`")), "{key}={value}: {error}");
    }
}

#[test]
fn string_settings_are_kept_exactly_as_written() {
    let digits = "012345678901234567890123456789012345";
    let settings = test_settings(&[
        ("auth.audience", "1.0"),
        ("auth.issuer", "007"),
        ("auth.secret", digits),
        ("dev_login.enabled", "false"),
    ])
    .unwrap();
    assert_eq!(settings.auth.audience.as_deref(), Some("1.0"));
    assert_eq!(settings.auth.issuer.as_deref(), Some("007"));
    let keys = settings.auth.keys.fixed();
    assert_eq!(keys.len(), 1);
    let {{crate_name}}::auth::keys::FixedKey::Secret(secret) = &keys[0] else {
        panic!("not a secret: {keys:?}");
    };
    assert_eq!(secrecy::ExposeSecret::expose_secret(secret), digits);
}

#[test]
fn a_database_url_is_checked_without_ever_showing_its_password() {
    let scheme = {{crate_name}}::db::URL_SCHEMES[0];
    for url in [
        // Unencoded `/`, `#` and `?` in the password: the URL does not parse.
        format!("{scheme}://svc:Pa55/w0rd#x?y@db.example:5432/svc"),
        format!("{scheme}://svc:Pa55w0rd@db.example:99999/svc"),
        // A scheme this service's driver does not speak.
        "mongodb://svc:Pa55w0rd@db.example/svc".to_owned(),
    ] {
        let error = error_for(&[("database.url", &url)]);
        assert!(error.contains("`database.url`"), "{error}");
        assert!(!error.contains("Pa55"), "the password is in: {error}");
    }
}
