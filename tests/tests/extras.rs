//! The optional files a service template is expected to bring: a Dockerfile, a
//! CI workflow and `.env.example`, on by default and gone when switched off.
//! Docker does not run here, so the Dockerfile is checked for what it must say.

use template_tests::try_generate;

fn generated(name: &str, defines: &[(&str, &str)]) -> std::path::PathBuf {
    let (output, project) = try_generate(name, defines);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    project
}

#[test]
fn the_dockerfile_builds_the_service_and_runs_it_unprivileged_on_its_port() {
    let project = generated("docker-svc", &[("port", "8099")]);
    let dockerfile = std::fs::read_to_string(project.join("Dockerfile")).unwrap();
    assert_eq!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")),
        2
    );
    assert!(dockerfile.contains("cargo build --release --bin docker-svc"));
    assert!(dockerfile.contains("USER app"));
    assert!(dockerfile.contains("EXPOSE 8099"));
    assert!(dockerfile.contains(r#"CMD ["docker-svc", "serve"]"#));
    assert!(dockerfile.contains("ENV APP_ENV=production"));
    let ignore = std::fs::read_to_string(project.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target"));
}

#[test]
fn the_ci_workflow_is_valid_yaml_running_fmt_clippy_and_tests_on_its_database() {
    for (database, service, test_database_url) in [
        ("sqlite", None, None),
        (
            "postgres",
            Some("postgres"),
            Some("postgres://postgres@127.0.0.1:5432/postgres"),
        ),
        (
            "mysql",
            Some("mariadb"),
            Some("mysql://root@127.0.0.1:3306"),
        ),
    ] {
        let project = generated(
            &format!("workflow-{database}-svc"),
            &[("database", database)],
        );
        let text = std::fs::read_to_string(project.join(".github/workflows/ci.yml")).unwrap();
        let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("valid YAML");
        let job = &docs[0]["jobs"]["check"];
        let steps = job["steps"].as_vec().expect("jobs.check.steps");
        let commands: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
        assert_eq!(
            commands,
            [
                "cargo fmt --all --check",
                "cargo clippy --locked --workspace --all-targets -- -D warnings",
                "cargo test --locked --workspace",
            ],
            "{database}"
        );
        // GitHub's own `${{ }}` expressions come through Liquid untouched.
        assert_eq!(
            docs[0]["concurrency"]["group"].as_str(),
            Some("${{ github.workflow }}-${{ github.ref }}")
        );
        match service {
            None => assert!(job["services"].is_badvalue(), "{database}: {text}"),
            Some(service) => {
                assert!(
                    job["services"][service]["image"].as_str().is_some(),
                    "{database}: no {service} service container"
                );
                assert_eq!(job["env"]["TEST_DATABASE_URL"].as_str(), test_database_url);
            }
        }
    }
}

#[test]
fn env_example_lists_every_setting() {
    for key_source in ["shared_secret", "public_key", "jwks"] {
        env_example_lists_every_setting_of(key_source, "false");
    }
    env_example_lists_every_setting_of("shared_secret", "true");
}

fn env_example_lists_every_setting_of(key_source: &str, traces: &str) {
    let project = generated(
        &format!("env-{}-traces-{traces}-svc", key_source.replace('_', "-")),
        &[("key_source", key_source), ("traces", traces)],
    );
    let example = std::fs::read_to_string(project.join(".env.example")).unwrap();
    let defaults: toml::Table = std::fs::read_to_string(project.join("config/default.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let mut missing = Vec::new();
    let mut stack: Vec<(String, &toml::Table)> = vec![("APP".to_owned(), &defaults)];
    while let Some((prefix, table)) = stack.pop() {
        for (key, value) in table {
            let name = format!("{prefix}__{}", key.to_uppercase());
            match value {
                toml::Value::Table(inner) => stack.push((name, inner)),
                _ if !example.contains(&format!("{name}=")) => missing.push(name),
                _ => {}
            }
        }
    }
    // Keys commented out in default.toml (no default) are listed too.
    for name in [
        "APP__AUTH__SECRET",
        "APP__AUTH__PUBLIC_KEY_FILE",
        "APP__AUTH__ISSUER",
        "APP__AUTH__AUDIENCE",
        "APP__METRICS__PORT",
    ]
    .into_iter()
    .chain((traces == "true").then_some("APP__TRACES__OTLP_ENDPOINT"))
    {
        if !example.contains(&format!("{name}=")) {
            missing.push(name.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "{key_source}: .env.example lacks {missing:?}"
    );
}

#[test]
fn traces_off_compile_no_opentelemetry_crate_and_on_bring_their_code_and_test() {
    let off = generated("traces-off-svc", &[]);
    for file in ["Cargo.toml", "Cargo.lock", "src/telemetry/traces.rs"] {
        let text = std::fs::read_to_string(off.join(file)).unwrap();
        assert!(
            !text.contains("opentelemetry_sdk") && !text.contains("opentelemetry-otlp"),
            "{file} names an OpenTelemetry crate without traces"
        );
    }
    assert!(!off.join("tests/api/traces.rs").exists());
    assert!(!off.join("src/telemetry/traces.otlp.rs").exists());

    let on = generated("traces-on-svc", &[("traces", "true")]);
    let traces = std::fs::read_to_string(on.join("src/telemetry/traces.rs")).unwrap();
    assert!(traces.contains("opentelemetry_otlp"));
    assert!(on.join("tests/api/traces.rs").is_file());
    assert!(!on.join("src/telemetry/traces.otlp.rs").exists());
    let lock = std::fs::read_to_string(on.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"opentelemetry-otlp\""));
}

#[test]
fn switched_off_extras_leave_nothing_behind() {
    let project = generated(
        "bare-svc",
        &[
            ("dockerfile", "false"),
            ("ci_workflow", "false"),
            ("env_example", "false"),
        ],
    );
    for file in ["Dockerfile", ".dockerignore", ".github", ".env.example"] {
        assert!(!project.join(file).exists(), "{file} was generated");
    }
}

#[test]
fn the_generated_gitignore_keeps_secrets_and_build_outputs_out_of_git() {
    let project = generated("gitignore-svc", &[]);
    let ignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    // `.env.example` tells operators to put their secrets in `.env`.
    for entry in ["/.env", "/target", "/data"] {
        assert!(
            ignore.lines().any(|line| line == entry),
            "{entry} missing:\n{ignore}"
        );
    }
}
