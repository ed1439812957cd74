//! The run lock: an exclusive OS lock on `<statusfile>.lock`. The kernel drops it when the
//! process dies, so a crash never leaves a stale lock behind (the original's lock file could).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Held for the whole run; dropping it unlocks.
#[derive(Debug)]
pub struct StatusLock {
    _file: File,
    pub path: PathBuf,
}

impl StatusLock {
    /// Takes the lock, waiting up to `wait` (the original waited 3 s) for another run.
    pub fn acquire(status_path: &Path, wait: Duration) -> Result<StatusLock> {
        let mut name = status_path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("failed to open lock file {}", path.display()))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StatusLock { _file: file, path }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(TryLockError::WouldBlock) => bail!(
                    "status file {} is locked by another reddalert run (lock {}); exiting without changes",
                    status_path.display(),
                    path.display()
                ),
                Err(TryLockError::Error(err)) => {
                    return Err(err).with_context(|| format!("failed to lock {}", path.display()));
                }
            }
        }
    }
}
