//! The crawl lock: an exclusive OS lock on `<store>.lock`, so two crawls of one store never
//! run at once. A second crawl waits (3 s, as a second run waits for the status file), then
//! fails naming the store. Runs and `serve-edda` never take it: SQLite's WAL lets them read
//! while a crawl writes.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Held for a whole crawl; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct CrawlLock {
    _file: File,
}

impl CrawlLock {
    pub(super) fn acquire(store: &Path, wait: Duration) -> Result<CrawlLock> {
        let path = crate::oslock::lock_path(store);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("failed to open lock file {}", path.display()))?;
        let locked = crate::oslock::lock_within(&file, wait, || false)
            .with_context(|| format!("failed to lock {}", path.display()))?;
        if !locked {
            bail!(
                "store {} is locked by another crawl (lock {}); exiting without changes",
                store.display(),
                path.display()
            );
        }
        Ok(CrawlLock { _file: file })
    }
}
