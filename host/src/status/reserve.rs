//! Disk space kept in reserve beside the status file (`<statusfile>.reserve`), so that a full
//! volume cannot stop the save every run needs before it delivers anything (the write-ahead):
//! when a save finds no room, the reserve is given back to the file system and the save is
//! made in its place. The reserve is the size of the last status file saved plus some
//! headroom, and is filled with zeros (a sparse file would reserve nothing); after a save it
//! is made whole again from what the replaced status file freed.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// What the reserve keeps beyond the last status file: room for what one run adds to it.
pub(super) const HEADROOM: u64 = 1 << 20;

/// `<statusfile>.reserve`.
pub fn path(status: &Path) -> PathBuf {
    let mut name = status.as_os_str().to_owned();
    name.push(".reserve");
    PathBuf::from(name)
}

/// Makes the reserve `bytes` long, as far as the volume allows; a reserve longer than that
/// by more than the headroom is cut back. Whether it is whole.
pub(super) fn refill(status: &Path, bytes: u64) -> bool {
    let path = path(status);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let Ok(mut file) = options.open(&path) else {
        return false;
    };
    let Ok(mut len) = file.metadata().map(|m| m.len()) else {
        return false;
    };
    if len > bytes + HEADROOM {
        return file.set_len(bytes).is_ok();
    }
    let zeros = vec![0u8; 1 << 20];
    while len < bytes {
        let n = (bytes - len).min(zeros.len() as u64) as usize;
        if file.write_all(&zeros[..n]).is_err() {
            // What was written stays reserved; a short write may have left part of a chunk.
            let _ = file.set_len(len);
            return false;
        }
        len += n as u64;
    }
    file.sync_all().is_ok()
}

/// Gives the reserve's space back to the file system; the bytes freed.
pub(super) fn release(status: &Path) -> u64 {
    let path = path(status);
    let len = std::fs::metadata(&path).map_or(0, |m| m.len());
    match std::fs::remove_file(&path) {
        Ok(()) => len,
        Err(_) => 0,
    }
}

/// Whether `err` says the volume (or the user's quota) is full.
pub(super) fn is_full(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .or_else(|| {
                cause
                    .downcast_ref::<tempfile::PersistError>()
                    .map(|e| &e.error)
            })
            .is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_grows_shrinks_and_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status.json");
        assert!(refill(&status, 3 << 20));
        let len = || std::fs::metadata(path(&status)).map_or(0, |m| m.len());
        assert_eq!(len(), 3 << 20);
        assert!(refill(&status, 10));
        assert_eq!(len(), 10, "cut back when far too long");
        assert_eq!(release(&status), 10);
        assert_eq!(len(), 0);
        assert_eq!(release(&status), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_volume_is_recognised() {
        let err = std::fs::write("/dev/full", b"x").unwrap_err();
        assert!(is_full(&anyhow::Error::new(err).context("saving")));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_full(&anyhow::Error::new(other)));
    }
}
