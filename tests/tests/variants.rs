//! Every supported combination of `database` × `key_source`, and services with
//! OpenTelemetry traces (`traces=true`): generated without a prompt, no Liquid
//! left, formatted, lint-clean, built from the shipped `Cargo.lock`
//! (`--locked`), and its own test suite passes. The `PostgreSQL` and `MySQL`
//! variants' suites run against the real servers on 127.0.0.1.
//!
//! One test per variant; all nine share one target folder. Variants of one
//! database compile the same dependencies with the same features, so after the
//! first of each only the service's own crates are rebuilt. (The tests run one
//! at a time, `--test-threads=1` in scripts/test-all: each drives whole builds.)

use std::process::Command;

use template_tests::{cargo, generate, leftover_liquid, shared_target_dir};

/// Generates the `database` × `key_source` variant and checks it.
fn check_variant(database: &str, key_source: &str) {
    check_variant_with(database, key_source, &[]);
}

/// Generates the `database` × `key_source` variant with more placeholders
/// (`traces=true`) and checks it.
fn check_variant_with(database: &str, key_source: &str, more: &[(&str, &str)]) {
    let mut name = format!("{database}-{}", key_source.replace('_', "-"));
    for (key, value) in more {
        name = format!("{name}-{key}-{value}");
    }
    name.push_str("-svc");
    let mut defines = vec![("database", database), ("key_source", key_source)];
    defines.extend_from_slice(more);
    let project = generate(&name, &defines);

    let leftovers = leftover_liquid(&project);
    assert!(
        leftovers.is_empty(),
        "{name}: Liquid left over:\n{}",
        leftovers.join("\n")
    );
    cargo(&project, ["fmt", "--all", "--check"]);
    cargo(
        &project,
        [
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    cargo(&project, ["test", "--locked", "--workspace"]);
    if database != "sqlite" {
        assert_no_test_databases_left(database);
    }
}

/// One test per variant, so that the first failure does not hide the others.
macro_rules! variant_tests {
    ($($test:ident: $database:literal, $key_source:literal;)*) => {
        $(
            #[test]
            fn $test() {
                check_variant($database, $key_source);
            }
        )*
    };
}

variant_tests! {
    sqlite_shared_secret: "sqlite", "shared_secret";
    sqlite_public_key: "sqlite", "public_key";
    sqlite_jwks: "sqlite", "jwks";
    postgres_shared_secret: "postgres", "shared_secret";
    postgres_public_key: "postgres", "public_key";
    postgres_jwks: "postgres", "jwks";
    mysql_shared_secret: "mysql", "shared_secret";
    mysql_public_key: "mysql", "public_key";
    mysql_jwks: "mysql", "jwks";
}

/// Traces add crates and code whatever the database and key source: one
/// embedded and one server variant check them.
#[test]
fn sqlite_shared_secret_with_traces() {
    check_variant_with("sqlite", "shared_secret", &[("traces", "true")]);
}

#[test]
fn postgres_jwks_with_traces() {
    check_variant_with("postgres", "jwks", &[("traces", "true")]);
}

/// Databases named like the generated tests' own (`test_<uuid>`) on the local
/// server of `database`, read with its command-line client.
fn test_databases(database: &str) -> Vec<String> {
    let output = match database {
        "postgres" => Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-At", "-c"])
            .arg("SELECT datname FROM pg_database WHERE datname ~ '^test_[0-9a-f]{32}$'")
            .output(),
        _ => Command::new("mysql")
            .args(["-h", "127.0.0.1", "-u", "root", "-N", "-e"])
            .arg("SHOW DATABASES WHERE `Database` REGEXP '^test_[0-9a-f]{32}$'")
            .output(),
    }
    .expect("run the database client");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Each generated test drops the database it created, pass or fail.
fn assert_no_test_databases_left(database: &str) {
    let left = test_databases(database);
    assert!(left.is_empty(), "{database}: test databases left: {left:?}");
}

/// The server variants' tests really use the server: pointed at a port where
/// no server listens, they fail, saying which server they wanted.
#[test]
fn server_variants_fail_their_tests_without_the_server() {
    for (database, unreachable, expected) in [
        (
            "postgres",
            "postgres://postgres@127.0.0.1:1/postgres",
            "PostgreSQL at postgres://postgres@127.0.0.1:1/postgres",
        ),
        (
            "mysql",
            "mysql://root@127.0.0.1:1",
            "MySQL at mysql://root@127.0.0.1:1",
        ),
    ] {
        let name = format!("{database}-no-server-svc");
        let project = generate(&name, &[("database", database)]);
        let output = Command::new("cargo")
            .args([
                "test",
                "--locked",
                "--test",
                "api",
                "users::the_first_request_creates",
            ])
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("TEST_DATABASE_URL", unreachable)
            .output()
            .expect("run cargo test");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            !output.status.success(),
            "{database}: passed without a server"
        );
        assert!(stdout.contains(expected), "{database}:\n{stdout}");
    }
}
