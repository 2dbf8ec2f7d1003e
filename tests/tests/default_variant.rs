//! The default variant (`SQLite`, shared secret): generated without a prompt, no
//! Liquid left, formatted, lint-clean, and its own test suite passes.

use template_tests::{cargo, generate, leftover_liquid};

#[test]
fn default_variant_is_clean_and_passes_its_own_tests() {
    let project = generate("default-svc", &[]);

    let leftovers = leftover_liquid(&project);
    assert!(
        leftovers.is_empty(),
        "Liquid left over:\n{}",
        leftovers.join("\n")
    );

    cargo(&project, ["fmt", "--all", "--check"]);
    cargo(
        &project,
        [
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    cargo(&project, ["test", "--workspace"]);
}
