//! `reddalert.lock`, beside the config file: for each pulled rule, the reference it was pulled
//! from, the manifest digest it resolved to, the module's sha256, and the manifest and the
//! signatures as pulled, so that every run can verify the module offline. Pretty JSON with a
//! version, written atomically (temp file, fsync, rename, fsync of the directory). A pull
//! commits under an exclusive OS lock on `.reddalert.lock.guard` beside it and a run reads the
//! lock and the modules under a shared one, so a run never sees a module from one pull and
//! the lock entry of another.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::cosign::Signature;

/// The lock format this host writes and reads.
pub const LOCK_VERSION: u32 = 1;

/// The whole lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    pub version: u32,
    /// Entries by rule name; the module is `rules_dir/<name>.wasm`.
    pub rules: BTreeMap<String, LockEntry>,
}

/// One pulled rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    /// The reference as configured when it was pulled (`[source]`).
    pub reference: String,
    /// The manifest's digest, `sha256:<hex>`.
    pub manifest_digest: String,
    /// The module's sha256, hex (as `sha256sum` and `reddalert rules` print it).
    pub module_sha256: String,
    /// The manifest's bytes as pulled, base64.
    pub manifest: String,
    /// The signatures of the manifest as pulled (those that verified and the others).
    pub signatures: Vec<Signature>,
    /// When it was pulled (ISO 8601, UTC).
    pub pulled_at: String,
}

impl LockEntry {
    /// The manifest's bytes.
    pub fn manifest_bytes(&self) -> Result<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.manifest)
            .context("its manifest is not base64")
    }
}

impl Lockfile {
    /// Reads the lock at `path`; none there is an empty lock.
    pub fn load(path: &Path) -> Result<Lockfile> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Lockfile {
                    version: LOCK_VERSION,
                    ..Lockfile::default()
                });
            }
            Err(err) => {
                return Err(err).with_context(|| format!("failed to read {}", path.display()));
            }
        };
        Lockfile::parse(&text).with_context(|| {
            format!(
                "invalid lock file {} (written by `reddalert pull`; pull again to rewrite it)",
                path.display()
            )
        })
    }

    pub fn parse(text: &str) -> Result<Lockfile> {
        let lock: Lockfile = serde_json::from_str(text)
            .map_err(|err| anyhow::anyhow!("line {} column {}: {err}", err.line(), err.column()))?;
        if lock.version != LOCK_VERSION {
            bail!(
                "lock format version {} (this reddalert reads version {LOCK_VERSION})",
                lock.version
            );
        }
        Ok(lock)
    }

    /// Writes the lock atomically: a crash leaves the old one or the new one (a pull writes
    /// it with its module, [`super::fetch::install`]).
    #[cfg(test)]
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        write_atomically(path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, fsynced and renamed over it,
/// then fsyncs the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let staged = stage(path, bytes)?;
    commit(&staged, path)
}

/// Writes `bytes` to a temporary file beside `path` and fsyncs it; [`commit`] renames it.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.pull-{}", std::process::id()));
    let mut file =
        File::create(&temp).with_context(|| format!("failed to create {}", temp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", temp.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })?;
    Ok(temp)
}

/// Renames a staged file over `path` and fsyncs the directory.
pub fn commit(staged: &Path, path: &Path) -> Result<()> {
    std::fs::rename(staged, path)
        .with_context(|| format!("failed to move {} to {}", staged.display(), path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(staged);
        })?;
    File::open(parent(path))
        .and_then(|d| d.sync_all())
        .with_context(|| format!("failed to sync the directory of {}", path.display()))
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// An OS lock on `.reddalert.lock.guard` beside the lock: exclusive while a pull commits,
/// shared while a run reads the lock and the modules. Released when dropped.
pub struct Guard {
    _file: Option<File>,
}

impl Guard {
    pub fn exclusive(lock_file: &Path) -> Result<Guard> {
        let path = guard_path(lock_file);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("failed to open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("failed to lock {}", path.display()))?;
        Ok(Guard { _file: Some(file) })
    }

    /// A shared guard; where there is none to take (no pull ever ran there, and the run may
    /// not create one), nothing can be committing either.
    pub fn shared(lock_file: &Path) -> Result<Guard> {
        let path = guard_path(lock_file);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Guard { _file: None });
            }
            Err(err) => {
                return Err(err).with_context(|| format!("failed to open {}", path.display()));
            }
        };
        file.lock_shared()
            .with_context(|| format!("failed to lock {}", path.display()))?;
        Ok(Guard { _file: Some(file) })
    }
}

fn guard_path(lock_file: &Path) -> PathBuf {
    parent(lock_file).join(".reddalert.lock.guard")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> LockEntry {
        LockEntry {
            reference: "127.0.0.1:5000/acme/elbs:1.0".into(),
            manifest_digest: format!("sha256:{}", "ab".repeat(32)),
            module_sha256: "cd".repeat(32),
            manifest: base64::engine::general_purpose::STANDARD.encode(b"{}"),
            signatures: vec![Signature {
                payload: "e30=".into(),
                signature: "MEUC".into(),
            }],
            pulled_at: "2026-12-07T10:00:00Z".into(),
        }
    }

    #[test]
    fn a_lock_saves_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reddalert.lock");
        let empty = Lockfile::load(&path).unwrap();
        assert!(empty.rules.is_empty());
        let mut lock = empty;
        lock.rules.insert("elbs".into(), entry());
        lock.save(&path).unwrap();
        assert_eq!(Lockfile::load(&path).unwrap(), lock);
        assert_eq!(lock.rules["elbs"].manifest_bytes().unwrap(), b"{}");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["reddalert.lock"]);
    }

    #[test]
    fn a_lock_of_another_version_or_shape_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reddalert.lock");
        std::fs::write(&path, r#"{"version": 2, "rules": {}}"#).unwrap();
        let err = format!("{:#}", Lockfile::load(&path).unwrap_err());
        assert!(
            err.contains("reddalert.lock") && err.contains("version 2"),
            "{err}"
        );
        std::fs::write(&path, r#"{"version": 1, "rules": {}, "extra": 1}"#).unwrap();
        let err = format!("{:#}", Lockfile::load(&path).unwrap_err());
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn a_shared_guard_waits_for_no_other_shared_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reddalert.lock");
        let a = Guard::shared(&path).unwrap();
        let b = Guard::shared(&path).unwrap();
        drop((a, b));
        let _c = Guard::exclusive(&path).unwrap();
    }
}
