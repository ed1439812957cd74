//! Loading revisions held in memory (fixtures, the benchmark's account) into a store, as they
//! are: the same ids, times and order, so the store and the fake EDDA serve one history. The
//! root collections named count as crawled at the time given.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::params;

use super::digest;
use super::schema::{StoreError, open};
use crate::{ROOT_COLLECTIONS, Store, account_root};

/// Writes every revision of `store` into the store file at `path` (created when missing) in
/// one transaction, and marks each of `crawled` (root collection names) crawled at
/// `crawled_ms`; the store clock becomes the latest time written.
pub fn import<'a>(
    path: &Path,
    store: &Store,
    crawled_ms: i64,
    crawled: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let mut conn = open(path)?;
    let tx = conn.transaction().map_err(sqlite)?;
    let mut latest = crawled_ms;
    for name in store.collection_names() {
        let Some(root) = account_root(name)
            .or_else(|| ROOT_COLLECTIONS.iter().copied().find(|root| *root == name))
        else {
            continue;
        };
        tx.execute(
            "INSERT INTO collections (name, root) VALUES (?1, ?2)",
            params![name, root],
        )
        .map_err(sqlite)?;
        let cid = tx.last_insert_rowid();
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO revisions (cid, id, stime, ltime, ctime, ftime, digest, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(sqlite)?;
        for rev in store.stored(name) {
            latest = latest.max(rev.stime).max(rev.ltime.unwrap_or(i64::MIN));
            let text = rev.data.text();
            insert
                .execute(params![
                    cid,
                    rev.id,
                    rev.stime,
                    rev.ltime,
                    rev.ctime,
                    rev.ftime,
                    &digest(text)[..],
                    text
                ])
                .map_err(sqlite)?;
        }
    }
    for root in crawled.into_iter().collect::<BTreeSet<_>>() {
        tx.execute(
            "INSERT INTO crawls (root, last_success_ms, last_attempt_ms) VALUES (?1, ?2, ?2)
             ON CONFLICT (root) DO UPDATE SET last_success_ms = ?2, last_attempt_ms = ?2",
            params![root, crawled_ms],
        )
        .map_err(sqlite)?;
    }
    tx.execute(
        "INSERT INTO store_clock (only, ms) VALUES (0, ?1)
         ON CONFLICT (only) DO UPDATE SET ms = max(ms, ?1)",
        [latest],
    )
    .map_err(sqlite)?;
    tx.commit().map_err(sqlite)
}
