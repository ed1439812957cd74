//! Builds the wasm guests the integration tests run (the stock rules and the hostile test
//! modules) from source, with one nested `cargo build --target wasm32-wasip2` into a target
//! directory of its own, and exposes each module's path as `GUEST_<PACKAGE>`. Nothing built
//! here is committed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages built to wasm.
const GUESTS: &[&str] = &[
    "rule-secgroups",
    "rule-elbs",
    "rule-iam",
    "rule-ami",
    "rule-newtag",
    "rule-missingtag",
    "rule-route53unknown",
    "rule-route53changed",
    "rule-sso_unprotected",
    "rule-security_headers",
    "rule-non_chef",
    "rule-s3acl",
    "guest-spin",
    "guest-ambient",
    "guest-alloc",
    "guest-trap",
    "guest-huge",
    "guest-badjson",
    "guest-hostile",
    "guest-badname",
    "guest-manyqueries",
    "guest-wrongworld",
    "guest-future",
    "guest-older",
    "guest-capcheck",
    "guest-capcheck-undeclared",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_owned();
    for dir in ["rules", "wit", "tests/guests"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    let target_dir = root.join("target").join("test-guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags and wrappers (clippy, coverage) must not leak into the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET");
    for package in GUESTS {
        cmd.args(["-p", package]);
    }
    let status = cmd
        .status()
        .expect("failed to run cargo for the wasm guests");
    assert!(
        status.success(),
        "building the wasm guests failed; is the target installed? (rustup target add wasm32-wasip2)"
    );
    for package in GUESTS {
        let file = artefact(&target_dir, package);
        assert!(file.is_file(), "missing guest {}", file.display());
        let var = format!("GUEST_{}", package.to_uppercase().replace('-', "_"));
        println!("cargo:rustc-env={var}={}", file.display());
    }
}

fn artefact(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}
