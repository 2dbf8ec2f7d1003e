//! The pre hook: every placeholder can be given with `--define`, derived values
//! come out right, and a bad value stops generation with a message naming it.

use template_tests::try_generate;

fn read(project: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(project.join(file)).expect("generated file")
}

#[test]
fn every_placeholder_can_be_defined_on_the_command_line() {
    let (output, project) = try_generate(
        "defined-svc",
        &[
            ("description", r#"Orders of the "shop" \ café"#),
            ("port", "9123"),
            ("login_url", "https://auth.example.com/login/?client=orders"),
            ("own_url", "https://orders.example.com/"),
            ("access_cookie", "team.jwt.access"),
            ("refresh_cookie", "team.jwt.refresh"),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = read(&project, "config/default.toml");
    assert!(config.contains("port = 9123"));
    assert!(config.contains(r#"login_url = "https://auth.example.com/login/?client=orders""#));
    // The trailing slash is dropped: own_url is an origin.
    assert!(config.contains(r#"own_url = "https://orders.example.com""#));
    assert!(config.contains(r#"access_cookie = "team.jwt.access""#));
    assert!(config.contains(r#"refresh_cookie = "team.jwt.refresh""#));
    assert!(config.contains(r#"url = "sqlite://data/defined-svc.db?mode=rwc""#));
    let manifest: toml::Table = read(&project, "Cargo.toml").parse().expect("valid TOML");
    assert_eq!(
        manifest["package"]["description"].as_str(),
        Some(r#"Orders of the "shop" \ café"#)
    );
}

/// Files of the choices not taken: the other backends' variants of the files
/// that differ per database, and JWKS code outside the `jwks` key source.
fn choice_files(project: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![project.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.contains(".postgres.")
                || name.contains(".mysql.")
                || name.contains("jwks")
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[test]
fn the_database_choice_compiles_in_one_driver_and_leaves_nothing_of_the_others() {
    for (database, url, driver, others) in [
        (
            "sqlite",
            "sqlite://data/db-choice-svc.db?mode=rwc",
            "sqlx-sqlite",
            ["sqlx-postgres", "sqlx-mysql"],
        ),
        (
            "postgres",
            "postgres://postgres@127.0.0.1:5432/db_choice_svc",
            "sqlx-postgres",
            ["sqlx-sqlite", "sqlx-mysql"],
        ),
        (
            "mysql",
            "mysql://root@127.0.0.1:3306/db_choice_svc",
            "sqlx-mysql",
            ["sqlx-sqlite", "sqlx-postgres"],
        ),
    ] {
        let (output, project) = try_generate("db-choice-svc", &[("database", database)]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(read(&project, "config/default.toml").contains(&format!(r#"url = "{url}""#)));
        let manifests = read(&project, "Cargo.toml") + &read(&project, "migration/Cargo.toml");
        assert!(manifests.contains(driver), "{database}");
        for other in others {
            assert!(
                !manifests.contains(other),
                "{database}: {other} in a manifest"
            );
        }
        assert!(
            choice_files(&project).is_empty(),
            "{database}: {:?}",
            choice_files(&project)
        );
        let upsert = read(&project, "src/models/upsert.rs");
        assert_eq!(upsert.contains("ON DUPLICATE KEY"), database == "mysql");
        assert_eq!(
            project.join("tests/api/replicas.rs").exists(),
            database != "sqlite"
        );
    }
}

#[test]
fn jwks_code_exists_only_for_the_jwks_key_source() {
    for key_source in ["shared_secret", "public_key", "jwks"] {
        let (output, project) = try_generate("key-choice-svc", &[("key_source", key_source)]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let jwks = key_source == "jwks";
        assert_eq!(
            project.join("src/auth/key_source/jwks.rs").exists(),
            jwks,
            "{key_source}"
        );
        for file in [
            "Cargo.toml",
            "config/default.toml",
            "src/auth/key_source.rs",
            "src/auth/settings.rs",
        ] {
            assert_eq!(
                read(&project, file).to_lowercase().contains("jwks"),
                jwks,
                "{key_source}: {file}"
            );
        }
    }
}

#[test]
fn own_url_may_carry_a_gateway_path_prefix() {
    let (output, project) =
        try_generate("prefix-svc", &[("own_url", "https://example.com/orders/")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        read(&project, "config/default.toml").contains(r#"own_url = "https://example.com/orders""#)
    );
}

#[test]
fn own_url_defaults_to_localhost_on_the_port() {
    let (output, project) = try_generate("port-svc", &[("port", "8181")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(read(&project, "config/default.toml").contains(r#"own_url = "http://localhost:8181""#));
}

#[test]
fn bad_values_stop_generation_with_a_message_naming_them() {
    for (key, value, expected) in [
        (
            "login_url",
            "auth.example.com/login/",
            "not an absolute http:// or https:// URL",
        ),
        (
            "login_url",
            "ftp://auth.example.com/",
            "not an absolute http:// or https:// URL",
        ),
        (
            "own_url",
            "http://svc.example.com/app?x=1",
            "without query or fragment",
        ),
        (
            "own_url",
            "http://user@svc.example.com",
            "must not contain user information",
        ),
        (
            "own_url",
            "http://svc.example.com:99999",
            "has an invalid port",
        ),
        ("own_url", "https://", "has no host"),
        ("port", "0", "is not a TCP port"),
        ("description", "a\ttab", "must be one line"),
        ("port", "70000", "is not a TCP port"),
        ("access_cookie", "bad;name", "is not a legal cookie name"),
        ("access_cookie", "with space", "is not a legal cookie name"),
        (
            "refresh_cookie",
            "org.breakthesystem.jwt.access",
            "must differ from access_cookie",
        ),
    ] {
        let name = "bad-svc";
        let (output, project) = try_generate(name, &[(key, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let all = format!("{stdout}{stderr}");
        assert!(!output.status.success(), "{key}={value} was accepted");
        assert!(
            all.contains(&format!("placeholder '{key}'"))
                && all.contains(value)
                && all.contains(expected),
            "{key}={value}: message does not name it:\n{all}"
        );
        // cargo-generate leaves an empty folder behind when a hook aborts.
        if project.exists() {
            assert_eq!(
                std::fs::read_dir(&project).unwrap().count(),
                0,
                "files were generated"
            );
            std::fs::remove_dir(&project).unwrap();
        }
    }
}

#[test]
fn a_value_outside_the_choices_stops_generation() {
    // cargo-generate checks `choices` itself, before the hook (whose own check
    // covers scripted use of the hook).
    for (key, value) in [("database", "mongodb"), ("key_source", "x509")] {
        let (output, project) = try_generate("bad-choice-svc", &[(key, value)]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{key}={value} was accepted");
        assert!(
            all.contains(&format!("\"{value}\" is not a valid value for {key}")),
            "{key}={value}:\n{all}"
        );
        assert!(!project.join("Cargo.toml").exists(), "files were generated");
    }
}
