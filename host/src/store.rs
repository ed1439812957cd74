//! The SQLite store `reddalert crawl` writes: one file per account with every revision of
//! every resource it saw, so rules run without an EDDA server (`edda = "store:PATH"`). The
//! schema belongs to `edda_engine::sqlite` (the reader); this module is the writer's side:
//! recording a root collection's complete current set as EDDA's `Collection.delta` did
//! ([`Store::record`], in `record.rs`), a failed crawl, retention, the per-root crawl status,
//! and the crawl lock.
//!
//! Times are the store's own: a commit's time C is `max(now, store clock + 1)`, so it never
//! goes back, even with the wall clock; a reader answering "as of C" sees every commit up to C
//! whole and nothing after it.

mod lock;
mod record;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_crash;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rusqlite::{Connection, OptionalExtension as _, params};

pub(crate) use lock::CrawlLock;

/// One open store file (one per account).
#[derive(Debug)]
pub(crate) struct Store {
    conn: Connection,
    path: PathBuf,
}

/// One resource as the crawl saw it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    /// `aws.iamUsers` (global) or `us-east-1.aws.securityGroups` (regional: `<region>.<root>`).
    pub collection: String,
    /// EDDA's id: groupId, instanceId, loadBalancerName, userName, zone name, record name.
    pub id: String,
    /// AWS creation time in epoch ms, when the resource has one.
    pub ctime: Option<i64>,
    /// The EDDA-shaped document.
    pub data: serde_json::Value,
}

/// What one [`Store::record`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Delta {
    /// Resources seen for the first time (or again after they were gone).
    pub added: usize,
    /// Resources whose document changed: the old revision closed, a new one started.
    pub changed: usize,
    /// Resources no longer there: their last revision closed.
    pub gone: usize,
    /// The commit's time C, now the store clock.
    pub committed_ms: u64,
}

/// The crawl status of one root collection (`aws.securityGroups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CollectionStatus {
    pub root: String,
    /// The commit time of its last complete crawl.
    pub last_success_ms: Option<u64>,
    /// When it was last crawled, successfully or not.
    pub last_attempt_ms: Option<u64>,
    /// Why its last crawl failed, when it did (cleared by a success).
    pub last_error: Option<String>,
    /// Live resources, over every region.
    pub live: u64,
    /// Stored revisions, live and closed.
    pub revisions: u64,
}

impl Store {
    /// Opens the store at `path`, creating it when missing; a store of a newer schema is
    /// refused (and left as it is).
    pub(crate) fn open(path: &Path) -> Result<Store> {
        let conn = edda_engine::sqlite::open(path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// Takes the crawl lock of the store at `path` (`<path>.lock`), waiting up to `wait` for
    /// another crawl; held until the returned lock is dropped.
    pub(crate) fn lock_for_crawl(path: &Path, wait: std::time::Duration) -> Result<CrawlLock> {
        CrawlLock::acquire(path, wait)
    }

    /// The store's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The time of the last commit, `None` for a store nothing was recorded in yet.
    pub(crate) fn clock_ms(&self) -> Result<Option<u64>> {
        clock(&self.conn).with_context(|| self.failed("read the clock of"))
    }

    /// A failed crawl of `root`: only its last attempt and error are written; no revision,
    /// and the clock stays.
    pub(crate) fn record_failure(&mut self, root: &str, error: &str, now_ms: u64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO crawls (root, last_attempt_ms, last_error) VALUES (?1, ?2, ?3)
                 ON CONFLICT (root) DO UPDATE SET last_attempt_ms = ?2, last_error = ?3",
                params![root, to_sql(now_ms), error],
            )
            .with_context(|| self.failed(&format!("record the failed crawl of {root} in")))?;
        Ok(())
    }

    /// Deletes the revisions closed before `before_ms` (retention); returns how many. Live
    /// revisions stay, however old.
    pub(crate) fn purge(&mut self, before_ms: u64) -> Result<u64> {
        let deleted = self
            .conn
            .execute(
                "DELETE FROM revisions WHERE ltime IS NOT NULL AND ltime < ?1",
                [to_sql(before_ms)],
            )
            .with_context(|| self.failed("purge old revisions from"))?;
        Ok(deleted as u64)
    }

    /// Every root collection ever crawled or stored, by name.
    pub(crate) fn status(&self) -> Result<Vec<CollectionStatus>> {
        let mut stmt = self
            .conn
            .prepare(
                "WITH roots AS (SELECT root FROM crawls UNION SELECT root FROM collections),
                      counts AS (
                        SELECT c.root, count(*) AS revisions,
                               count(*) FILTER (WHERE r.ltime IS NULL) AS live
                        FROM revisions r JOIN collections c ON c.cid = r.cid GROUP BY c.root)
                 SELECT roots.root, k.last_success_ms, k.last_attempt_ms, k.last_error,
                        coalesce(counts.live, 0), coalesce(counts.revisions, 0)
                 FROM roots LEFT JOIN crawls k ON k.root = roots.root
                            LEFT JOIN counts ON counts.root = roots.root
                 ORDER BY roots.root",
            )
            .with_context(|| self.failed("read the crawl status of"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(CollectionStatus {
                    root: row.get(0)?,
                    last_success_ms: row.get::<_, Option<i64>>(1)?.map(from_sql),
                    last_attempt_ms: row.get::<_, Option<i64>>(2)?.map(from_sql),
                    last_error: row.get(3)?,
                    live: from_sql(row.get(4)?),
                    revisions: from_sql(row.get(5)?),
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .with_context(|| self.failed("read the crawl status of"))?;
        Ok(rows)
    }

    fn failed(&self, what: &str) -> String {
        format!("failed to {what} store {}", self.path.display())
    }
}

fn clock(conn: &Connection) -> rusqlite::Result<Option<u64>> {
    conn.query_row("SELECT ms FROM store_clock WHERE only = 0", [], |row| {
        row.get::<_, i64>(0)
    })
    .optional()
    .map(|ms| ms.map(from_sql))
}

// SQLite integers are i64; epoch milliseconds fit either way until the year 292 million.
fn to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn from_sql(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}
