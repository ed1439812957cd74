//! The rule author's path without the host's source: `new-rule` scaffolds a crate outside the
//! workspace, cargo builds it into a component and runs its native unit tests, and `test-rule`
//! runs the component over the crate's test data in the host's sandbox. Inside a workspace
//! that provides the SDK, the crate inherits the workspace's settings and joins its members.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

/// Runs cargo in `dir` as an author would, with a target directory of its own and without
/// the flags and wrappers of the cargo that runs these tests (clippy, coverage).
fn cargo(dir: &Path, target: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "cargo {args:?} failed:\n{text}");
    text
}

fn test_rule_json(args: &[&str]) -> (i32, Value) {
    let run = run_binary(&[&["test-rule"], args, &["--json"]].concat());
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    (run.code, doc)
}

#[test]
fn a_scaffolded_rule_builds_passes_its_unit_tests_and_runs_in_test_rule() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("my-check");
    let run = run_binary(&["new-rule", "my-check", "--path", path_str(&crate_dir)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for file in ["Cargo.toml", "src/lib.rs", "README.md", ".gitignore"] {
        assert!(crate_dir.join(file).is_file(), "{file} scaffolded");
    }
    let data = crate_dir.join("testdata");
    assert!(data.join("view.instances;_expand.json").is_file());
    let readme = std::fs::read_to_string(crate_dir.join("README.md")).unwrap();
    assert!(readme.lines().count() <= 30, "{readme}");
    for step in [
        "cargo build --release --target wasm32-wasip2",
        "cargo test",
        "test-rule",
        "[pin]",
    ] {
        assert!(readme.contains(step), "README explains {step:?}:\n{readme}");
    }

    let target = dir.path().join("target");
    cargo(
        &crate_dir,
        &target,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    let tests = cargo(&crate_dir, &target, &["test", "--release"]);
    assert!(tests.contains("3 passed"), "{tests}");

    let module = target.join("wasm32-wasip2/release/rule_my_check.wasm");
    let (code, doc) = test_rule_json(&[path_str(&module), "--data", path_str(&data)]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["rule"], "my-check");
    assert_eq!(doc["interface"], "0.2.0");
    assert_eq!(
        doc["alerts"],
        json!([{
            "plugin_name": "my-check",
            "id": "i-0a1b2c3d4e5f60718",
            "details": {"name": "web-v042", "publicIpAddress": "54.12.34.56"}
        }])
    );
    assert!(doc["usage"]["fuel"].as_u64().unwrap() > 0, "{doc}");
    assert!(
        doc["usage"]["peak_memory_bytes"].as_u64().unwrap() > 0,
        "{doc}"
    );
    assert!(doc["usage"]["elapsed_ms"].as_f64().unwrap() > 0.0, "{doc}");

    let allowed = r#"{"allowed": ["i-0a1b2c3d4e5f60718"]}"#;
    let (code, doc) = test_rule_json(&[
        path_str(&module),
        "--data",
        path_str(&data),
        "--config",
        allowed,
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["alerts"], json!([]), "--config reaches the rule");

    let text = run_binary(&["test-rule", path_str(&module), "--data", path_str(&data)]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for line in ["alerts (1)", "fuel ", "memory ", "time "] {
        assert!(text.stdout.contains(line), "{line:?} in:\n{}", text.stdout);
    }
}

#[test]
fn inside_a_workspace_with_the_sdk_the_crate_inherits_and_joins_the_members() {
    let ws = tempfile::tempdir().unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/sdk");
    let manifest = format!(
        "[workspace]\nresolver = \"3\"\nmembers = []\n\n[workspace.package]\nversion = \"0.1.0\"\n\
         edition = \"2024\"\nrust-version = \"1.95\"\nlicense = \"Apache-2.0\"\n\n\
         [workspace.dependencies]\nserde = {{ version = \"1\", features = [\"derive\"] }}\n\
         reddalert-rule-sdk = {{ path = {:?} }}\n",
        sdk.canonicalize().unwrap()
    );
    std::fs::write(ws.path().join("Cargo.toml"), manifest).unwrap();
    let crate_dir = ws.path().join("rules/my-check");
    let run = run_binary(&["new-rule", "my-check", "--path", path_str(&crate_dir)]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo_toml.contains("reddalert-rule-sdk.workspace = true"),
        "{cargo_toml}"
    );
    assert!(!cargo_toml.contains("[workspace]"), "{cargo_toml}");
    let root = std::fs::read_to_string(ws.path().join("Cargo.toml")).unwrap();
    assert!(root.contains("members = [\"rules/my-check\"]"), "{root}");
    let readme = std::fs::read_to_string(crate_dir.join("README.md")).unwrap();
    assert!(
        readme.contains("../../target/wasm32-wasip2/release/rule_my_check.wasm"),
        "{readme}"
    );

    // Cargo accepts the result as a workspace member (manifests only: no build, no network).
    let target = ws.path().join("target");
    let metadata = cargo(
        ws.path(),
        &target,
        &[
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ],
    );
    assert!(
        metadata.contains("\"name\":\"rule-my-check\""),
        "{metadata}"
    );
}

#[test]
fn new_rule_refuses_bad_names_occupied_directories_and_a_missing_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_binary(&[
        "new-rule",
        "My Check",
        "--path",
        path_str(&dir.path().join("x")),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid rule name \"My Check\""),
        "{}",
        run.stderr
    );

    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let run = run_binary(&["new-rule", "x", "--path", path_str(dir.path())]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("already exists and is not empty"),
        "{}",
        run.stderr
    );

    let nowhere = dir.path().join("no-sdk-here");
    let run = run_binary(&[
        "new-rule",
        "x",
        "--path",
        path_str(&dir.path().join("x")),
        "--sdk-path",
        path_str(&nowhere),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no reddalert-rule-sdk crate at") && run.stderr.contains("--sdk-path"),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("x").exists(), "nothing written on error");
}
