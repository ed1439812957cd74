//! Exclusive OS locks on a `<file>.lock` beside the file they guard, for the status file's run
//! lock and the store's crawl lock alike. The kernel drops such a lock when its process dies,
//! so a crash never leaves a stale lock behind; a second holder waits a little, then gives up
//! with the caller's message.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `<path>.lock`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock of `file`, retrying every 100 ms for up to `wait`; `held_elsewhere`
/// is asked before each attempt and counts as a held lock when it says so (a holder the OS
/// lock cannot see). `Ok(false)`: still held when the wait ran out.
pub(crate) fn lock_within(
    file: &File,
    wait: Duration,
    mut held_elsewhere: impl FnMut() -> bool,
) -> std::io::Result<bool> {
    let deadline = Instant::now() + wait;
    loop {
        let attempt = if held_elsewhere() {
            Err(TryLockError::WouldBlock)
        } else {
            file.try_lock()
        };
        match attempt {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(err)) => return Err(err),
        }
    }
}
