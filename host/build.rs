//! Records what `reddalert --version` says beside the version: the commit the binary was built
//! from (`REDDALERT_COMMIT` when set, as `etc/dist.sh` sets it, else git's `HEAD` of the source
//! tree, else `unknown` for a tree without git) and the target it was built for.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=REDDALERT_COMMIT");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = match std::env::var("REDDALERT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => git_head(&dir).unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=REDDALERT_COMMIT={commit}");
    let target = std::env::var("TARGET").expect("set by cargo");
    println!("cargo:rustc-env=REDDALERT_TARGET={target}");
}

/// `HEAD`'s commit, and the files whose change moves it (`HEAD`, the branch it names, packed
/// refs) for cargo to watch.
fn git_head(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let head = git(&["rev-parse", "HEAD"])?;
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(head)
}
