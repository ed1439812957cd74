//! The run lock: an exclusive OS lock on `<statusfile>.lock`. The kernel drops it when the
//! process dies, so a crash never leaves a stale lock behind (the original's lock could). The
//! original reddalert locked with a `<statusfile>.lock` directory holding a file named after
//! its host and pid; one left by a crashed run made it exit forever. Such a directory is
//! reported and locked in place (an OS lock works on a directory too), unless the process
//! named in it is still running on this host, which counts as a held lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
        let mut name = status_path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = open(&path)?;
        let deadline = Instant::now() + wait;
        loop {
            let held_by_original = original_holder(&path);
            let attempt = match held_by_original {
                Some(_) => Err(TryLockError::WouldBlock),
                None => file.try_lock(),
            };
            match attempt {
                Ok(()) => return Ok(StatusLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::WouldBlock) => {
                    let by = held_by_original.map_or_else(
                        || "another reddalert run".to_owned(),
                        |pid| format!("the original reddalert (pid {pid})"),
                    );
                    bail!(
                        "status file {} is locked by {by} (lock {}); exiting without changes",
                        status_path.display(),
                        path.display()
                    )
                }
                Err(TryLockError::Error(err)) => {
                    return Err(err).with_context(|| format!("failed to lock {}", path.display()));
                }
            }
        }
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
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    // Never wait on a FIFO someone put there: it is refused below instead.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options
        .open(path)
        .with_context(|| format!("failed to open lock file {}", path.display()))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!(
            "the lock file {} is not a regular file; remove it (no run holds it then)",
            path.display()
        );
    }
    Ok(file)
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
