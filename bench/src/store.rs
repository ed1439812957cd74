//! The account in a SQLite store: the generated revisions loaded as they are (the fake EDDA
//! serves the same ones), every collection crawled now, so runs from `store:` read what the
//! files and the loopback EDDA give; and what the store costs on disk.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use edda_engine::{ROOT_COLLECTIONS, Store};

use crate::report::StoreFigures;

pub fn load(account: &Store, path: &Path) -> Result<StoreFigures> {
    eprintln!("bench: loading the account into a SQLite store");
    for stale in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(stale);
        let _ = std::fs::remove_file(name);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis() as i64;
    let started = Instant::now();
    edda_engine::sqlite::import(path, account, now, ROOT_COLLECTIONS)
        .with_context(|| format!("failed to load the account into {}", path.display()))?;
    let load_s = started.elapsed().as_secs_f64();
    let conn = edda_engine::sqlite::open_existing(path)?;
    // Everything into the main file, so its size is the store's.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .context("failed to checkpoint the store")?;
    let revisions: i64 = conn
        .query_row("SELECT count(*) FROM revisions", [], |row| row.get(0))
        .context("failed to count the revisions")?;
    drop(conn);
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("failed to read the size of {}", path.display()))?
        .len();
    let revisions = u64::try_from(revisions).unwrap_or(0);
    Ok(StoreFigures {
        revisions,
        bytes,
        bytes_per_1000_revisions: bytes as f64 * 1000.0 / revisions.max(1) as f64,
        load_s,
    })
}
