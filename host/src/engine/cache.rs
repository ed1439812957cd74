//! The compilation cache: compiled modules on disk (`cache_dir`), so that a cron run does not
//! recompile unchanged modules. An entry is named after the sha256 of the module's bytes and
//! wasmtime's compatibility hash (its version and settings), and holds a header naming that
//! sha256 and the sha256 of the compiled artifact after it. A compiled artifact is native code
//! that runs as the rule: it is used only when its header names the module being loaded (the
//! very sha256 a pin names) and its bytes match their sha256, and only from a directory and a
//! file that no other user may write. Otherwise the module is compiled again (and the entry
//! rewritten where it may be), so another module's entry copied over a pinned rule's never
//! runs as that rule.

use std::hash::Hasher;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest as _, Sha256};
use wasmtime::component::Component;

/// What starts every entry, before the two sha256s.
const MAGIC: &[u8] = b"reddalert compiled module 1\n";

pub(super) struct ModuleCache {
    dir: PathBuf,
    /// wasmtime's compatibility hash of the engine, in every entry's name.
    engine_hash: String,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl ModuleCache {
    /// The cache in `dir` (created, readable by this user only, when missing).
    pub(super) fn open(dir: &Path, engine: &wasmtime::Engine) -> anyhow::Result<ModuleCache> {
        use anyhow::Context as _;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .with_context(|| format!("failed to create the module cache {}", dir.display()))?;
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_hash = hex::encode(&hasher.0.finalize()[..8]);
        Ok(ModuleCache {
            dir: dir.to_owned(),
            engine_hash,
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        })
    }

    /// (hits, misses) so far.
    pub(super) fn stats(&self) -> (usize, usize) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The module `bytes` (whose sha256 is `sha256`), from its entry when that holds its
    /// compiled form, else compiled and stored.
    pub(super) fn load(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<Component> {
        let path = self
            .dir
            .join(format!("{sha256}-{}.cwasm", self.engine_hash));
        let trusted_dir = match only_ours(&self.dir) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!(cache = %self.dir.display(), "the module cache is not used: {why}");
                false
            }
        };
        if trusted_dir && let Some(component) = self.read(engine, &path, sha256) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let component = Component::new(engine, bytes)?;
        if trusted_dir
            && let Err(err) = component
                .serialize()
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .and_then(|artifact| self.write(&path, sha256, &artifact))
        {
            tracing::warn!(entry = %path.display(), "failed to store a compiled module: {err:#}");
        }
        Ok(component)
    }

    /// The entry at `path`, when it is the compiled form of the module `sha256`.
    fn read(&self, engine: &wasmtime::Engine, path: &Path, sha256: &str) -> Option<Component> {
        let file = std::fs::File::open(path).ok()?;
        let refuse = |why: String| {
            tracing::warn!(entry = %path.display(), "a module cache entry is not used, the module is compiled again: {why}");
            None
        };
        if let Err(why) = file
            .metadata()
            .map_err(|e| e.to_string())
            .and_then(|m| writable_by_us_alone(&m))
        {
            return refuse(why);
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut data).ok()?;
        let Some((named, artifact_sha, artifact)) = parse(&data) else {
            return refuse("it is not a reddalert cache entry".into());
        };
        if named != sha256 {
            return refuse(format!(
                "it holds the module with sha256 {named}, not {sha256}"
            ));
        }
        if hex::encode(Sha256::digest(artifact)) != artifact_sha {
            return refuse("its compiled code does not match its sha256".into());
        }
        // SAFETY: `deserialize` runs the native code of the artifact, which must be what
        // wasmtime compiled. It is: the entry sits in a directory and a file only this user may
        // write, names the module being loaded, and its bytes match the sha256 stored when it
        // was written; wasmtime checks that it was compiled by this engine version and settings.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(component) => Some(component),
            Err(err) => refuse(format!("{err:#}")),
        }
    }

    /// Stores `artifact` at `path` atomically (a temporary file beside it, then a rename).
    fn write(&self, path: &Path, sha256: &str, artifact: &[u8]) -> anyhow::Result<()> {
        let mut temp = tempfile::Builder::new()
            .prefix(".cwasm-")
            .tempfile_in(&self.dir)?;
        temp.write_all(MAGIC)?;
        temp.write_all(
            format!("{sha256}\n{}\n", hex::encode(Sha256::digest(artifact))).as_bytes(),
        )?;
        temp.write_all(artifact)?;
        temp.as_file().sync_all()?;
        temp.persist(path)?;
        Ok(())
    }
}

/// (module sha256, artifact sha256, artifact) of an entry.
fn parse(data: &[u8]) -> Option<(&str, &str, &[u8])> {
    let rest = data.strip_prefix(MAGIC)?;
    let named = std::str::from_utf8(rest.get(..64)?).ok()?;
    let rest = rest.get(64..)?.strip_prefix(b"\n")?;
    let artifact_sha = std::str::from_utf8(rest.get(..64)?).ok()?;
    let artifact = rest.get(64..)?.strip_prefix(b"\n")?;
    Some((named, artifact_sha, artifact))
}

/// Whether `dir` may be written by this user alone.
fn only_ours(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    writable_by_us_alone(&meta)
}

#[cfg(unix)]
fn writable_by_us_alone(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "it belongs to user {}, not to this one ({me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "others may write it (mode {:o}); make it writable by its owner alone (chmod go-w)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn writable_by_us_alone(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// A `Hasher` that feeds sha256, so that wasmtime's compatibility hash names the same engine
/// the same way from one build to the next.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }
}
