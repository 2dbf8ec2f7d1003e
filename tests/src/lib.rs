//! Helpers for the template's tests: generate a service with cargo-generate,
//! run cargo in it, look for leftover Liquid.
//!
//! Generated services live in one stable folder outside the repository
//! (`$TMPDIR/auth-svc-template-tests/<name>`), and all of them share one
//! `CARGO_TARGET_DIR` (`<repo>/target/generated`), so a second run, or a second
//! variant, rebuilds only what differs.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The template repository's root.
#[must_use]
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The target folder every generated service builds into.
#[must_use]
pub fn shared_target_dir() -> PathBuf {
    std::env::var_os("TEMPLATE_TESTS_TARGET_DIR").map_or_else(
        || repo_root().join("target").join("generated"),
        PathBuf::from,
    )
}

/// Where generated services are written: outside the repository, so
/// cargo-generate does not add them to an enclosing workspace or git repo.
#[must_use]
pub fn work_dir() -> PathBuf {
    std::env::temp_dir().join("auth-svc-template-tests")
}

/// Runs `cargo generate` for `name` with `--define`s; returns its output
/// and the project folder (which exists only when generation succeeded).
#[must_use]
pub fn try_generate(name: &str, defines: &[(&str, &str)]) -> (Output, PathBuf) {
    let dest = work_dir();
    std::fs::create_dir_all(&dest).expect("create the work folder");
    let project = dest.join(name);
    if project.exists() {
        std::fs::remove_dir_all(&project).expect("remove the previous project");
    }
    let mut command = Command::new("cargo");
    command
        .arg("generate")
        .arg("--path")
        .arg(repo_root())
        .args([
            "--name",
            name,
            "--silent",
            "--no-workspace",
            "--vcs",
            "none",
        ])
        .arg("--destination")
        .arg(&dest);
    for (key, value) in defines {
        command.arg("--define").arg(format!("{key}={value}"));
    }
    let output = command
        .output()
        .expect("run cargo generate (is cargo-generate installed?)");
    (output, project)
}

/// Generates `name`, panicking with cargo-generate's output when it fails.
#[must_use]
pub fn generate(name: &str, defines: &[(&str, &str)]) -> PathBuf {
    let (output, project) = try_generate(name, defines);
    assert!(
        output.status.success(),
        "cargo generate failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    project
}

/// Runs `cargo <args>` in `project` with the shared target folder; panics with
/// the output when it fails.
pub fn cargo<I, S>(project: &Path, args: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let shown = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("[{}] cargo {shown}", project.display());
    let status = Command::new("cargo")
        .args(&args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "`cargo {shown}` failed in {}",
        project.display()
    );
}

/// Every file under `dir` (skipping `target/` and `.git/`) that still holds
/// Liquid syntax, with the offending line.
#[must_use]
pub fn leftover_liquid(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read folder") {
            let entry = entry.expect("folder entry");
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (number, line) in text.lines().enumerate() {
                if line.contains("{{") || line.contains("{%") || line.contains("}}") {
                    found.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
    }
    found
}
