//! The template repository's shape: one `cargo-generate.toml`, generation that
//! never waits for an answer, and Rust sources that read as Rust (choices live
//! in whole files the hook picks, not in Liquid inside the code).

use std::{
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::Duration,
};

use template_tests::{cargo_generate, generate_command, poll, repo_root, work_dir};

/// Every file under `dir` whose name passes `wanted`, skipping build outputs,
/// git's folder and installed Node modules.
fn files(dir: &Path, wanted: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read folder") {
            let path = entry.expect("folder entry").path();
            let name = path.file_name().unwrap_or_default();
            if path.is_dir() {
                if !["target", ".git", "node_modules"]
                    .iter()
                    .any(|skip| name == *skip)
                {
                    stack.push(path);
                }
            } else if wanted(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_repository_holds_exactly_one_cargo_generate_toml() {
    let root = repo_root();
    // A second one anywhere (a fixture, say) changes what cargo-generate asks.
    let configs = files(&root, &|path| {
        path.file_name().is_some_and(|n| n == "cargo-generate.toml")
    });
    assert_eq!(configs, [root.join("cargo-generate.toml")]);
}

/// Runs `command` to its end, failing the test if it takes longer than `limit`
/// (a prompt waiting for an answer would).
fn run_within(mut command: Command, limit: Duration) -> std::process::Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cargo generate");
    let id = child.id();
    let waiter = thread::spawn(move || child.wait_with_output());
    if poll(limit, Duration::from_millis(100), || {
        waiter.is_finished().then_some(())
    })
    .is_none()
    {
        let _ = Command::new("kill").arg(id.to_string()).status();
        panic!("cargo generate was still running after {limit:?}: waiting for input?");
    }
    waiter
        .join()
        .expect("the waiting thread")
        .expect("cargo generate's output")
}

#[test]
fn generation_with_every_answer_given_never_waits_for_input() {
    // Not `--silent`: the interactive run, with stdin closed, all answers on
    // the command line and the sub-template named, must ask nothing.
    let name = "no-prompt-svc";
    let command = generate_command(
        name,
        &[
            ("description", "Asks nothing"),
            ("port", "8090"),
            ("login_url", "https://auth.example.com/login/"),
            ("own_url", "https://orders.example.com"),
            ("access_cookie", "a.access"),
            ("refresh_cookie", "a.refresh"),
            ("database", "postgres"),
            ("key_source", "public_key"),
            ("traces", "false"),
            ("dockerfile", "false"),
            ("ci_workflow", "false"),
            ("env_example", "false"),
        ],
    );
    let output = run_within(command, Duration::from_mins(2));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(work_dir().join(name).join("Cargo.toml").is_file());
}

#[test]
fn silent_generation_picks_the_sub_template_by_itself() {
    // `--silent` without naming `template/`: cargo-generate takes the only
    // sub-template rather than asking which.
    let name = "silent-svc";
    let project = work_dir().join(name);
    let mut command = cargo_generate(name);
    command.arg("--silent");
    let output = run_within(command, Duration::from_mins(2));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(project.join("Cargo.toml").is_file());
}

/// `{% … %}` tags on a line: (whole tags, the line without them).
fn liquid_tags(line: &str) -> (Vec<&str>, String) {
    let mut tags = Vec::new();
    let mut rest = String::new();
    let mut remaining = line;
    while let Some(start) = remaining.find("{%") {
        let Some(length) = remaining[start..].find("%}") else {
            break;
        };
        rest.push_str(&remaining[..start]);
        tags.push(&remaining[start..start + length + 2]);
        remaining = &remaining[start + length + 2..];
    }
    rest.push_str(remaining);
    (tags, rest)
}

#[test]
fn rust_sources_choose_variants_by_whole_files_not_liquid() {
    let template = repo_root().join("template");
    let sources = files(&template, &|path| {
        path.extension().is_some_and(|ext| ext == "rs")
    });
    let mut blocks = 0;
    let mut misplaced = Vec::new();
    for source in &sources {
        let text = std::fs::read_to_string(source).expect("read a source");
        for (number, line) in text.lines().enumerate() {
            let (tags, rest) = liquid_tags(line);
            if tags.is_empty() {
                continue;
            }
            blocks += tags
                .iter()
                .filter(|tag| {
                    let tag = tag
                        .trim_start_matches("{%")
                        .trim_start_matches('-')
                        .trim_start();
                    tag.starts_with("if ") || tag.starts_with("unless ")
                })
                .count();
            // What the tags guard must be whole items: a `mod` or a struct
            // field, never part of a `use` list, a signature, an expression or
            // a doc comment.
            let rest = rest.trim();
            let rest = ["pub(crate) ", "pub(super) ", "pub "]
                .iter()
                .find_map(|visibility| rest.strip_prefix(visibility))
                .unwrap_or(rest);
            let item = rest.is_empty()
                || (rest.starts_with("mod ") && rest.ends_with(';'))
                || (rest.contains(": ")
                    && rest.ends_with(',')
                    && !rest.contains('(')
                    && !rest.starts_with("//"));
            if !item {
                misplaced.push(format!("{}:{}: {line}", source.display(), number + 1));
            }
        }
    }
    assert!(
        misplaced.is_empty(),
        "Liquid inside Rust:\n{}",
        misplaced.join("\n")
    );
    assert!(
        blocks <= 8,
        "{blocks} Liquid conditional blocks in .rs files (at most 8)"
    );
}
