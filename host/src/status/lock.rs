//! The run lock: an exclusive OS lock on `<statusfile>.lock`. The kernel drops it when the
//! process dies, so a crash never leaves a stale lock behind (the original's lock could). The
//! original reddalert locked with a `<statusfile>.lock` directory holding a file named after
//! its host and pid; one left by a crashed run made it exit forever. Such a directory is
//! reported and locked in place (an OS lock works on a directory too), unless the process
//! named in it is still running on this host, which counts as a held lock.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Held for the whole run; dropping it unlocks.
#[derive(Debug)]
pub struct StatusLock {
    _file: File,
}

impl StatusLock {
    /// Takes the lock, waiting up to `wait` (the original waited 3 s) for another run.
    /// `status_path` should be [`super::resolve`]d, so every path to one file takes one lock.
    pub fn acquire(status_path: &Path, wait: Duration) -> Result<StatusLock> {
        let path = crate::oslock::lock_path(status_path);
        let file = open(&path)?;
        let locked = crate::oslock::lock_within(&file, wait, || original_holder(&path).is_some())
            .with_context(|| format!("failed to lock {}", path.display()))?;
        if locked {
            return Ok(StatusLock { _file: file });
        }
        let by = original_holder(&path).map_or_else(
            || "another reddalert run".to_owned(),
            |pid| format!("the original reddalert (pid {pid})"),
        );
        bail!(
            "status file {} is locked by {by} (lock {}); exiting without changes",
            status_path.display(),
            path.display()
        )
    }
}

fn open(path: &Path) -> Result<File> {
    if path.is_dir() {
        tracing::warn!(
            lock = %path.display(),
            "found the original reddalert's lock directory; it is ignored unless its process is still running"
        );
        return File::open(path)
            .with_context(|| format!("failed to open lock directory {}", path.display()));
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("failed to open lock file {}", path.display()))
}

/// The pid of a live original reddalert on this host that holds its lock directory. The
/// original's lockfile names its file `<hostname>.<thread id in hex><pid>`, so the pid is a
/// suffix of the trailing digits: each candidate is checked for a running `reddalert`.
fn original_holder(lock: &Path) -> Option<u32> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let host = host.trim();
    let entries = std::fs::read_dir(lock).ok()?;
    entries.filter_map(|e| e.ok()).find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix(host)?.strip_prefix('.')?;
        let digits = &rest[rest.trim_end_matches(|c: char| c.is_ascii_digit()).len()..];
        (1..=digits.len().min(7))
            .filter_map(|n| digits[digits.len() - n..].parse::<u32>().ok())
            .find(|&pid| pid != std::process::id() && runs_reddalert(pid))
    })
}

fn runs_reddalert(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("reddalert"))
}
