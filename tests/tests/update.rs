//! Updating a generated service to a newer template revision with the
//! `scripts/update-template` every service ships: the template's changes
//! land, the team's survive, a change both sides made to the same lines is a
//! git conflict that loses nothing, and with nothing new nothing happens.
//!
//! Each test works on a throwaway clone of this repository whose working tree
//! is committed as revision A (so uncommitted template edits are what gets
//! tested), generates a service from it, and commits template changes as
//! revision B. Only the first test builds the service; the others take seconds.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use template_tests::{cargo, leftover_liquid, repo_root, work_dir};

const RECORD: &str = ".template-answers.toml";

/// Runs `git` in `dir`, panicking with its output when it fails; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {} failed in {}:\n{}",
        args.join(" "),
        dir.display(),
        text(&output)
    );
    String::from_utf8(output.stdout).expect("git's output is UTF-8")
}

/// Everything a command printed, stdout then stderr.
fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

/// Replaces the one occurrence of `from` in `dir/file` with `to`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let before = read(dir, file);
    assert_eq!(
        before.matches(from).count(),
        1,
        "{file} should hold exactly one {from:?}"
    );
    fs::write(dir.join(file), before.replacen(from, to, 1)).expect("write the edit");
}

/// The end of the comment above the server's `host` line in
/// `config/default.toml`: edits start from it, as `[metrics]` has a `host`
/// line too.
const ABOVE_SERVER_HOST: &str = "container use 0.0.0.0.\n";

/// A throwaway copy of the template repository: its history, then the
/// working tree of the one under test committed on top as revision A.
struct Template {
    dir: tempfile::TempDir,
}

impl Template {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let copy = dir.path().join("template");
        let root = repo_root();
        git(
            dir.path(),
            &["clone", "--quiet", &root.to_string_lossy(), "template"],
        );
        git(&copy, &["config", "user.name", "Template Maintainer"]);
        git(&copy, &["config", "user.email", "maintainer@example.com"]);
        // The working tree as it is: tracked and new files, deletions too.
        for entry in fs::read_dir(&copy).expect("read the copy") {
            let path = entry.expect("an entry").path();
            if path.file_name().is_some_and(|name| name != ".git") {
                if path.is_dir() {
                    fs::remove_dir_all(&path).expect("empty the copy");
                } else {
                    fs::remove_file(&path).expect("empty the copy");
                }
            }
        }
        let files = git(
            &root,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        );
        for file in files.split('\0').filter(|f| !f.is_empty()) {
            let source = root.join(file);
            if source.is_file() {
                let target = copy.join(file);
                fs::create_dir_all(target.parent().expect("a parent")).expect("create a folder");
                fs::copy(&source, &target).expect("copy a file");
            }
        }
        git(&copy, &["add", "--all"]);
        git(
            &copy,
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                "Revision A: the template under test",
            ],
        );
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("template")
    }

    fn path_str(&self) -> String {
        self.path().to_string_lossy().into_owned()
    }

    fn head(&self) -> String {
        git(&self.path(), &["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn commit(&self, message: &str) -> String {
        git(&self.path(), &["add", "--all"]);
        git(&self.path(), &["commit", "--quiet", "-m", message]);
        self.head()
    }

    /// The first entry of its changelog's newest section.
    fn newest_changelog_entry(&self) -> String {
        read(&self.path(), "CHANGELOG.md")
            .lines()
            .skip_while(|line| !line.starts_with("## "))
            .find_map(|line| line.strip_prefix("- "))
            .expect("a changelog entry")
            .to_owned()
    }

    /// Revision B: a fix in an auth file, a new file, a deleted file, a new
    /// placeholder with a default, and changelog entries, one a security fix.
    fn commit_revision_b(&self) -> String {
        let dir = self.path();
        edit(
            &dir,
            "template/src/auth/csrf.rs",
            "pub(super) fn origin_is_trusted(",
            "///\n/// Fixed in revision B.\n#[must_use]\npub(super) fn origin_is_trusted(",
        );
        fs::write(
            dir.join("template/OWNERS.md"),
            "# Owners of {{project-name}}\n\nTeam {{team}} runs it on {{database}}.\n",
        )
        .expect("write a new file");
        fs::remove_file(dir.join("template/tests/fixtures/README.md")).expect("delete a file");
        edit(
            &dir,
            "cargo-generate.toml",
            "[placeholders.env_example]",
            "[placeholders.team]\ntype = \"string\"\nprompt = \"Team that owns the service?\"\n\
             default = \"platform\"\n\n[placeholders.env_example]",
        );
        edit(
            &dir,
            "hooks/pre.rhai",
            "\"ci_workflow\", \"env_example\",",
            "\"ci_workflow\", \"env_example\", \"team\",",
        );
        let changelog = read(&dir, "CHANGELOG.md");
        let newest = changelog.find("\n## ").expect("a release section") + 1;
        let body = newest + changelog[newest..].find('\n').expect("a heading line") + 1;
        fs::write(
            dir.join("CHANGELOG.md"),
            format!(
                "{}\n- **Security:** Revision B checks the CSRF origin more carefully.\n\
                 - Revision B adds OWNERS.md and the `team` placeholder.\n{}",
                &changelog[..body],
                &changelog[body..]
            ),
        )
        .expect("write the changelog");
        self.commit("Revision B: an auth fix, a new file, a deleted file, a new placeholder")
    }
}

/// Generates `name` from the template copy as the README does (nothing but
/// `--define`s), into the tests' work folder; returns the service's folder.
fn generate_from(template: &Path, name: &str, defines: &[(&str, &str)]) -> PathBuf {
    let project = work_dir().join(name);
    if project.exists() {
        fs::remove_dir_all(&project).expect("remove the previous service");
    }
    fs::create_dir_all(work_dir()).expect("create the work folder");
    let mut command = Command::new("cargo");
    command
        .arg("generate")
        .arg("--path")
        .arg(template)
        .args(["template", "--name", name, "--silent", "--no-workspace"])
        .args(["--vcs", "none", "--destination"])
        .arg(work_dir())
        .stdin(Stdio::null());
    for (key, value) in defines {
        command.arg("--define").arg(format!("{key}={value}"));
    }
    let output = command.output().expect("run cargo generate");
    assert!(output.status.success(), "{}", text(&output));
    project
}

/// Makes the generated service a git repository with its first commit, as
/// a team would.
fn commit_generated(service: &Path) {
    git(service, &["init", "--quiet"]);
    git(service, &["config", "user.name", "Service Team"]);
    git(service, &["config", "user.email", "team@example.com"]);
    git(service, &["add", "--all"]);
    git(
        service,
        &["commit", "--quiet", "-m", "Generated from the template"],
    );
}

/// Runs the service's `scripts/update-template` with `args` in the service.
fn update(service: &Path, args: &[&str]) -> Output {
    Command::new(service.join("scripts/update-template"))
        .args(args)
        .current_dir(service)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/update-template")
}

fn record(service: &Path) -> toml::Table {
    toml::from_str(&read(service, RECORD)).expect("the record is TOML")
}

fn recorded(service: &Path, table: &str, key: &str) -> String {
    let record = record(service);
    match &record[table][key] {
        toml::Value::String(value) => value.clone(),
        other => other.to_string(),
    }
}

fn stamp_version() -> String {
    let stamp = read(&repo_root(), "hooks/release.rhai");
    stamp
        .lines()
        .find_map(|line| line.strip_prefix("export const VERSION = \""))
        .and_then(|rest| rest.strip_suffix("\";"))
        .expect("hooks/release.rhai exports VERSION")
        .to_owned()
}

/// Where the first conflict in `text` is: from its `<<<<<<<` line to the end
/// of its `>>>>>>>` line.
fn first_conflict(text: &str) -> std::ops::Range<usize> {
    let start = text.find("<<<<<<< ").expect("a conflict");
    let theirs = start + text[start..].find("\n>>>>>>> ").expect("its end") + 1;
    start..theirs + text[theirs..].find('\n').expect("the marker's line") + 1
}

/// Whether the command's output lists `path` as `what` ("  modified  src/x.rs").
fn lists(output: &str, what: &str, path: &str) -> bool {
    output.lines().any(|line| {
        line.split_whitespace().collect::<Vec<_>>().join(" ") == format!("{what} {path}")
    })
}

fn status(service: &Path) -> String {
    git(service, &["status", "--porcelain"])
}

#[test]
fn an_update_brings_the_templates_changes_keeps_the_teams_and_passes_the_services_checks() {
    let template = Template::new();
    let old_entry = template.newest_changelog_entry();
    let name = "update-full-svc";
    let service = generate_from(
        &template.path(),
        name,
        &[("database", "postgres"), ("key_source", "jwks")],
    );
    // A plain `cargo generate` records the release, not the commit.
    assert_eq!(recorded(&service, "template", "version"), stamp_version());
    assert_eq!(recorded(&service, "template", "revision"), "");
    assert_eq!(recorded(&service, "values", "database"), "postgres");
    commit_generated(&service);

    // The team's own work: an endpoint, README notes, a changed default.
    fs::write(
        service.join("src/api/things.rs"),
        include_str!("update/things.rs"),
    )
    .expect("write the endpoint");
    edit(
        &service,
        "src/api/mod.rs",
        "mod me;\n",
        "mod me;\nmod things;\n",
    );
    edit(
        &service,
        "src/api/mod.rs",
        "users::UsersApi) {",
        "users::UsersApi, things::ThingsApi) {",
    );
    edit(
        &service,
        "src/api/mod.rs",
        "        users::UsersApi::new(db.clone(), Arc::clone(authenticator)),\n",
        "        users::UsersApi::new(db.clone(), Arc::clone(authenticator)),\n        things::ThingsApi,\n",
    );
    let readme = read(&service, "README.md") + "\n## Team notes\n\nOn call: #orders.\n";
    fs::write(service.join("README.md"), &readme).expect("write the README");
    edit(
        &service,
        "config/default.toml",
        "shutdown_timeout_secs = 10\n",
        "shutdown_timeout_secs = 30\n",
    );
    cargo(&service, ["fmt"]);
    git(&service, &["add", "--all"]);
    git(
        &service,
        &["commit", "--quiet", "-m", "Team: things, notes, timeout"],
    );

    let b = template.commit_revision_b();
    let output = update(&service, &["--source", &template.path_str()]);
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    // Why: B's changelog entries, the security fix marked; A's are not news.
    assert!(
        shown.contains("SECURITY: Revision B checks the CSRF origin more carefully."),
        "{shown}"
    );
    assert!(shown.contains("Revision B adds OWNERS.md"), "{shown}");
    assert!(!shown.contains(&old_entry), "{shown}");

    // The template's changes...
    assert!(read(&service, "src/auth/csrf.rs").contains("/// Fixed in revision B.\n#[must_use]"));
    assert_eq!(
        read(&service, "OWNERS.md"),
        format!("# Owners of {name}\n\nTeam platform runs it on postgres.\n")
    );
    assert!(!service.join("tests/fixtures/README.md").exists());
    // ...and the team's.
    assert_eq!(
        read(&service, "src/api/things.rs"),
        include_str!("update/things.rs")
    );
    assert!(read(&service, "src/api/mod.rs").contains("things::ThingsApi,"));
    assert_eq!(read(&service, "README.md"), readme);
    assert!(read(&service, "config/default.toml").contains("shutdown_timeout_secs = 30\n"));
    // The record: B exactly, the new placeholder's default, the old answers.
    assert_eq!(recorded(&service, "template", "revision"), b);
    assert_eq!(
        recorded(&service, "template", "source"),
        template.path_str()
    );
    assert_eq!(recorded(&service, "values", "team"), "platform");
    assert_eq!(recorded(&service, "values", "key_source"), "jwks");
    assert_eq!(leftover_liquid(&service), Vec::<String>::new());

    // Staged for the team to review and commit; then it must still build,
    // lint and pass its own tests (PostgreSQL at 127.0.0.1).
    git(&service, &["commit", "--quiet", "--no-edit"]);
    cargo(&service, ["fmt", "--check"]);
    cargo(
        &service,
        [
            "clippy",
            "--locked",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    cargo(&service, ["test", "--locked"]);
}

#[test]
fn a_change_both_sides_made_to_the_same_lines_is_a_git_conflict_that_loses_nothing() {
    let template = Template::new();
    let service = generate_from(&template.path(), "update-conflict-svc", &[]);
    commit_generated(&service);
    // The team: the server's host, a file of its own, and a change to a file
    // the template is about to delete.
    let team_host = "host = \"0.0.0.0\" # behind the team's proxy\n";
    edit(
        &service,
        "config/default.toml",
        &format!("{ABOVE_SERVER_HOST}host = \"127.0.0.1\"\n"),
        &format!("{ABOVE_SERVER_HOST}{team_host}"),
    );
    fs::write(service.join("TEAM.md"), "Ours.\n").expect("write a team file");
    let dockerfile = read(&service, "Dockerfile") + "LABEL team=\"orders\"\n";
    fs::write(service.join("Dockerfile"), &dockerfile).expect("edit the Dockerfile");
    let fixtures = read(&service, "tests/fixtures/README.md") + "Team: staging uses it too.\n";
    fs::write(service.join("tests/fixtures/README.md"), &fixtures).expect("edit a file");
    git(&service, &["add", "--all"]);
    git(&service, &["commit", "--quiet", "-m", "Team: host, notes"]);
    let head = git(&service, &["rev-parse", "HEAD"]);

    template.commit_revision_b();
    edit(
        &template.path(),
        "template/config/default.toml",
        &format!("{ABOVE_SERVER_HOST}host = \"127.0.0.1\"\n"),
        &format!("{ABOVE_SERVER_HOST}host = \"::1\"\n"),
    );
    fs::create_dir(template.path().join("template/docker")).expect("a folder");
    fs::rename(
        template.path().join("template/Dockerfile"),
        template.path().join("template/docker/Dockerfile"),
    )
    .expect("move the Dockerfile");
    let b = template.commit("Revision B: bind IPv6 loopback, the Dockerfile in docker/");
    let args = [
        "--source",
        &template.path_str(),
        "--define",
        "team=payments",
    ];

    // Conflicted, then given up: the service is back as it was.
    let output = update(&service, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let output = update(&service, &["--abort"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(status(&service), "");
    assert_eq!(git(&service, &["rev-parse", "HEAD"]), head);
    assert!(!service.join("OWNERS.md").exists());

    // Conflicted again, and this time resolved.
    let output = update(&service, &args);
    let shown = text(&output);
    assert_eq!(output.status.code(), Some(1), "{shown}");
    assert!(shown.contains("CONFLICT"), "{shown}");
    assert!(
        lists(&shown, "both modified", "config/default.toml"),
        "{shown}"
    );
    assert!(
        lists(&shown, "template deleted", "tests/fixtures/README.md"),
        "{shown}"
    );
    assert!(shown.contains("--continue"), "{shown}");
    // Both sides in ordinary conflict markers, and git knows it.
    let config = read(&service, "config/default.toml");
    let conflict = &config[first_conflict(&config)];
    assert!(conflict.contains(team_host), "{config}");
    assert!(conflict.contains("=======\nhost = \"::1\"\n"), "{config}");
    let unmerged = git(&service, &["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(unmerged, "config/default.toml\ntests/fixtures/README.md\n");
    // Nothing else lost: the rest of B is applied, the team's files are there,
    // the file the team changed and the template deleted is kept.
    assert!(read(&service, "src/auth/csrf.rs").contains("Fixed in revision B."));
    assert!(read(&service, "OWNERS.md").contains("Team payments runs it on sqlite."));
    assert_eq!(read(&service, "TEAM.md"), "Ours.\n");
    assert_eq!(read(&service, "tests/fixtures/README.md"), fixtures);
    // The file the template moved took the team's change along.
    assert!(!service.join("Dockerfile").exists());
    assert_eq!(read(&service, "docker/Dockerfile"), dockerfile);
    // The record moves only when the update is finished.
    assert_eq!(recorded(&service, "template", "revision"), "");

    let output = update(&service, &["--continue"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("still unresolved"));
    git(
        &service,
        &["add", "config/default.toml", "tests/fixtures/README.md"],
    );
    let output = update(&service, &["--continue"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("conflict markers are left in: config/default.toml"));

    // Resolved: the team's line wins.
    let mut resolved = config.clone();
    resolved.replace_range(first_conflict(&config), team_host);
    fs::write(service.join("config/default.toml"), resolved).expect("resolve the conflict");
    git(&service, &["add", "config/default.toml"]);
    let output = update(&service, &["--continue"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(recorded(&service, "template", "revision"), b);
    assert_eq!(recorded(&service, "values", "team"), "payments");
    assert_eq!(
        git(&service, &["rev-parse", "HEAD"]),
        head,
        "the team commits"
    );
    assert!(read(&service, "config/default.toml").contains(team_host));
    // With the message the update prepared: what and why, no leftovers.
    git(&service, &["commit", "--quiet", "--no-edit"]);
    let message = git(&service, &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("Template update to "), "{message}");
    assert!(message.contains("Revision B adds OWNERS.md"), "{message}");
    assert!(!message.contains("# Conflicts"), "{message}");
}

#[test]
fn with_nothing_new_an_update_changes_nothing_and_a_dirty_tree_is_refused() {
    let template = Template::new();
    let a = template.head();
    // Generation that names its source and commit records both.
    let service = generate_from(
        &template.path(),
        "update-noop-svc",
        &[
            ("template_source", &template.path_str()),
            ("template_revision", &a),
        ],
    );
    assert_eq!(recorded(&service, "template", "revision"), a);
    commit_generated(&service);
    let head = git(&service, &["rev-parse", "HEAD"]);

    let output = update(&service, &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("nothing to do"), "{}", text(&output));
    assert_eq!(status(&service), "");
    assert_eq!(git(&service, &["rev-parse", "HEAD"]), head);

    template.commit_revision_b();
    // --to names the revision: A, where the service already is.
    let output = update(&service, &["--to", &a]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("nothing to do"), "{}", text(&output));
    // A changed file, then an untracked one: refused, nothing touched.
    let readme = read(&service, "README.md");
    fs::write(service.join("README.md"), format!("{readme}WIP\n")).expect("edit");
    let output = update(&service, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("the working tree is not clean"),
        "{}",
        text(&output)
    );
    assert_eq!(status(&service), " M README.md\n");
    assert_eq!(read(&service, "README.md"), format!("{readme}WIP\n"));
    git(&service, &["checkout", "--quiet", "README.md"]);
    fs::write(service.join("scratch.txt"), "").expect("an untracked file");
    let output = update(&service, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    fs::remove_file(service.join("scratch.txt")).expect("remove it");

    // A dry run says what would change and changes nothing, not even git's
    // object store.
    let objects = git(&service, &["count-objects", "-v"]);
    let output = update(&service, &["--dry-run"]);
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(lists(&shown, "added", "OWNERS.md"), "{shown}");
    assert!(
        lists(&shown, "deleted", "tests/fixtures/README.md"),
        "{shown}"
    );
    assert!(shown.contains("No conflicts."), "{shown}");
    assert_eq!(status(&service), "");
    assert_eq!(git(&service, &["count-objects", "-v"]), objects);
    assert!(!service.join("OWNERS.md").exists());

    // Updated and committed, a second update has nothing to do.
    let output = update(&service, &[]);
    assert!(output.status.success(), "{}", text(&output));
    git(&service, &["commit", "--quiet", "--no-edit"]);
    let head = git(&service, &["rev-parse", "HEAD"]);
    let output = update(&service, &[]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("nothing to do"), "{}", text(&output));
    assert_eq!(status(&service), "");
    assert_eq!(git(&service, &["rev-parse", "HEAD"]), head);
}

#[test]
fn every_answer_is_recorded_and_the_update_script_ships_as_written() {
    let service = template_tests::generate(
        "update-record-svc",
        &[
            ("port", "8123"),
            (
                "template_source",
                "https://token@git.example.com/template.git",
            ),
        ],
    );
    let config: toml::Table = toml::from_str(&read(&repo_root(), "cargo-generate.toml"))
        .expect("cargo-generate.toml is TOML");
    let mut placeholders: Vec<&String> = config["placeholders"]
        .as_table()
        .expect("[placeholders]")
        .keys()
        .collect();
    let record = record(&service);
    let mut answers: Vec<&String> = record["values"]
        .as_table()
        .expect("[values]")
        .keys()
        .collect();
    placeholders.sort();
    answers.sort();
    assert_eq!(
        answers, placeholders,
        "hooks/pre.rhai must record every placeholder"
    );
    assert_eq!(recorded(&service, "values", "port"), "8123");
    assert_eq!(recorded(&service, "values", "dockerfile"), "true");
    assert_eq!(recorded(&service, "template", "version"), stamp_version());
    assert_eq!(recorded(&service, "template", "name"), "update-record-svc");
    // No secrets: not even a token in the source's URL.
    assert_eq!(
        recorded(&service, "template", "source"),
        "https://git.example.com/template.git"
    );

    let script = service.join("scripts/update-template");
    assert_eq!(
        fs::read(&script).expect("the script"),
        fs::read(repo_root().join("template/scripts/update-template")).expect("its source")
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(&script).expect("its metadata").permissions(),
    );
    assert_eq!(mode & 0o111, 0o111, "executable");
}

#[test]
fn the_release_stamp_is_the_newest_changelog_section() {
    let changelog = read(&repo_root(), "CHANGELOG.md");
    let headings: Vec<&str> = changelog
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .collect();
    assert!(!headings.is_empty(), "CHANGELOG.md has no release");
    let mut versions = Vec::new();
    for (index, heading) in headings.iter().enumerate() {
        // "<version> — unreleased" or "<version> — YYYY-MM-DD [(<commit>)]"
        let (version, rest) = heading
            .split_once(" — ")
            .unwrap_or_else(|| panic!("heading {heading:?}: `<version> — <date>`"));
        let numbers: Vec<u64> = version
            .split('.')
            .map(|n| n.parse().unwrap_or_else(|_| panic!("version {version:?}")))
            .collect();
        assert_eq!(numbers.len(), 3, "version {version:?}: major.minor.patch");
        if rest == "unreleased" {
            assert_eq!(index, 0, "only the newest section can be unreleased");
        } else {
            let date = rest.split(' ').next().expect("a date");
            assert!(
                date.len() == 10 && date.chars().filter(|c| *c == '-').count() == 2,
                "heading {heading:?}: date YYYY-MM-DD"
            );
        }
        versions.push(numbers);
    }
    assert!(
        versions.windows(2).all(|pair| pair[0] > pair[1]),
        "sections newest first: {headings:?}"
    );
    let (newest, state) = headings[0].split_once(" — ").expect("checked above");
    let expected = if state == "unreleased" {
        format!("{newest}-dev")
    } else {
        newest.to_owned()
    };
    assert_eq!(stamp_version(), expected, "hooks/release.rhai's VERSION");
    let releases = &changelog[changelog.find("\n## ").expect("a release")..];
    for entry in releases
        .lines()
        .filter(|line| line.contains("**Security:**"))
    {
        assert!(
            entry.starts_with("- **Security:** "),
            "a security entry starts with `- **Security:** `: {entry:?}"
        );
    }
}

#[test]
fn a_service_inside_a_bigger_repository_is_updated_in_its_folder() {
    let template = Template::new();
    let generated = generate_from(&template.path(), "update-mono-svc", &[]);
    let monorepo = work_dir().join("update-monorepo");
    if monorepo.exists() {
        fs::remove_dir_all(&monorepo).expect("remove the previous repository");
    }
    fs::create_dir_all(monorepo.join("services")).expect("create the repository");
    let service = monorepo.join("services/orders");
    fs::rename(&generated, &service).expect("move the service in");
    fs::write(monorepo.join("README.md"), "Many services.\n").expect("a file of its own");
    commit_generated(&monorepo);

    let b = template.commit_revision_b();
    // Run from a folder inside the service, as the script's path says.
    let output = Command::new(service.join("scripts/update-template"))
        .args(["--source", &template.path_str()])
        .current_dir(service.join("src"))
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/update-template");
    assert!(output.status.success(), "{}", text(&output));
    // The commit it was generated from was found exactly, not guessed.
    assert!(!text(&output).contains("closest"), "{}", text(&output));
    assert!(read(&service, "OWNERS.md").contains("Team platform runs it on sqlite."));
    assert!(!service.join("tests/fixtures/README.md").exists());
    assert_eq!(read(&monorepo, "README.md"), "Many services.\n");
    assert_eq!(recorded(&service, "template", "revision"), b);
    let changed = git(&monorepo, &["diff", "--cached", "--name-only"]);
    assert!(
        changed
            .lines()
            .all(|path| path.starts_with("services/orders/")),
        "{changed}"
    );
}
