//! Where the status file really is, and how it is replaced. A symlinked status file is
//! written through to its target (replacing the link would leave the target stale, and two
//! paths to one file would take two locks), so every path is resolved first. A save writes a
//! temporary file beside the target, fsyncs it, renames it over the target and fsyncs the
//! directory: a crash leaves either the old file or the new one, never a torn one. The
//! temporary files are named after the status file, so the next run (holding the lock) can
//! remove what a killed save left behind without touching another status file's.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// Symlinks followed before giving up (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

/// The status file's real path: symlinks followed (a dangling one to the file it would
/// create), the directory made absolute, so that every path to one file names it the same way.
pub fn resolve(path: &Path) -> Result<PathBuf> {
    let mut path = absolute(path)?;
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path)
                    .with_context(|| format!("failed to read the link {}", path.display()))?;
                path = absolute(&parent_dir(&path).join(target))?;
            }
            _ => return Ok(canonical_dir(&path)),
        }
    }
    bail!(
        "failed to resolve the status file {}: too many levels of symbolic links",
        path.display()
    )
}

/// Writes `bytes` to `path` (already [`resolve`]d) atomically.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .tempfile_in(&dir)
        .with_context(|| format!("failed to create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write the status to {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("failed to replace status file {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all()
            .with_context(|| format!("failed to sync the directory {}", dir.display()))?;
    }
    Ok(())
}

/// Removes the temporary files a killed save of this status file left behind. Only call it
/// while holding the lock: then no save of this file is under way.
pub fn remove_leftovers(path: &Path) -> usize {
    let prefix = temp_prefix(path);
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(&prefix)
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            tracing::info!(file = %entry.path().display(), "removed a temporary file of an interrupted save");
            removed += 1;
        }
    }
    removed
}

/// Where alerts dropped past `max_waiting_alerts` go: `<statusfile>.dropped.jsonl`.
pub fn dead_letter_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".dropped.jsonl");
    PathBuf::from(name)
}

fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "status".into(), |n| n.to_string_lossy().into_owned());
    format!(".{name}.tmp-")
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| {
        format!(
            "failed to make the status file path {} absolute",
            path.display()
        )
    })
}

/// The path with its directory canonicalised (when it exists), the file name kept.
fn canonical_dir(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            std::fs::canonicalize(dir).map_or_else(|_| path.to_owned(), |d| d.join(name))
        }
        _ => path.to_owned(),
    }
}

pub(super) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}
