//! Recording one root collection's crawl as EDDA's `Collection.delta` (reference aws-apis §5):
//! the complete current set of every region is compared by `(collection, id)` with the live
//! revisions, by the SHA-256 of each document's canonical text; a new resource starts a
//! revision, a changed one closes its live revision and starts another (its `ctime` and
//! `ftime` carried over), a gone one closes its last. Everything happens in one transaction,
//! the delta computed inside it: a crawl killed at any point has recorded all of it or none,
//! and the next crawl compares with exactly what was committed, so nothing is recorded twice
//! (the live index, unique per `(collection, id)`, would refuse it anyway).

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, Result, bail, ensure};
use rusqlite::{Transaction, TransactionBehavior, params};

use super::{Delta, Document, Store, clock, from_sql, to_sql};

/// A crawled document, ready to compare: its canonical text and the text's digest.
struct Prepared {
    collection: String,
    id: String,
    ctime: Option<i64>,
    text: String,
    digest: [u8; 32],
}

/// A live revision as the comparison needs it.
struct Live {
    seq: i64,
    ctime: Option<i64>,
    ftime: i64,
    digest: Vec<u8>,
}

impl Store {
    /// Records one root collection's complete current set (every region's documents) in one
    /// transaction, as EDDA's `Collection.delta`: new, changed (canonical JSON differs) and
    /// gone resources. The commit time C = max(now_ms, store clock + 1) becomes the store
    /// clock even when nothing changed (then no revision is written); `root`'s last success
    /// is C. A region missing from `documents` means its resources are gone: call this only
    /// once every region of `root` was read.
    pub(crate) fn record(
        &mut self,
        root: &str,
        documents: Vec<Document>,
        now_ms: u64,
    ) -> Result<Delta> {
        let prepared = prepare(root, documents)?;
        let path = self.path.display().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("failed to start recording {root} in store {path}"))?;
        let delta = apply(&tx, root, prepared, now_ms)
            .and_then(|delta| Ok(tx.commit().map(|()| delta)?))
            .with_context(|| format!("failed to record {root} in store {path}"))?;
        Ok(delta)
    }
}

/// Checks the documents belong to `root` and are each one resource, and computes their
/// canonical text (outside the transaction: it is most of the work).
fn prepare(root: &str, documents: Vec<Document>) -> Result<Vec<Prepared>> {
    ensure!(
        !root.is_empty() && !root.starts_with('.') && !root.ends_with('.'),
        "invalid root collection {root:?}"
    );
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(documents.len());
    for doc in documents {
        let belongs = doc.collection == root
            || doc
                .collection
                .strip_suffix(root)
                .and_then(|region| region.strip_suffix('.'))
                .is_some_and(|region| !region.is_empty());
        ensure!(
            belongs,
            "document {:?} of collection {:?} is not in root collection {root} (expected \
             {root} or <region>.{root})",
            doc.id,
            doc.collection
        );
        ensure!(
            !doc.id.is_empty(),
            "a document of {} has an empty id",
            doc.collection
        );
        if !seen.insert((doc.collection.clone(), doc.id.clone())) {
            bail!(
                "the crawl of {root} gave two documents with id {:?} in {}; EDDA keeps one \
                 revision per id, so the crawl must choose",
                doc.id,
                doc.collection
            );
        }
        let text = edda_engine::json::compact(&doc.data);
        let digest = edda_engine::sqlite::digest(&text);
        out.push(Prepared {
            collection: doc.collection,
            id: doc.id,
            ctime: doc.ctime,
            text,
            digest,
        });
    }
    Ok(out)
}

fn apply(tx: &Transaction, root: &str, docs: Vec<Prepared>, now_ms: u64) -> Result<Delta> {
    let previous = clock(tx)?;
    let committed_ms = previous.map_or(now_ms, |c| now_ms.max(c + 1));
    let at = to_sql(committed_ms);
    let mut live = live_set(tx, root)?;
    let mut cids = collection_ids(tx, root)?;
    let mut delta = Delta {
        committed_ms,
        ..Delta::default()
    };
    {
        let mut close = tx.prepare_cached("UPDATE revisions SET ltime = ?2 WHERE seq = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO revisions (cid, id, stime, ltime, ctime, ftime, digest, data)
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)",
        )?;
        for doc in docs {
            let cid = match cids.get(&doc.collection) {
                Some(cid) => *cid,
                None => {
                    tx.execute(
                        "INSERT INTO collections (name, root) VALUES (?1, ?2)",
                        params![doc.collection, root],
                    )?;
                    let cid = tx.last_insert_rowid();
                    cids.insert(doc.collection.clone(), cid);
                    cid
                }
            };
            let (ctime, ftime) = match live.remove(&(cid, doc.id.clone())) {
                Some(old) if old.digest == doc.digest => continue,
                Some(old) => {
                    close.execute(params![old.seq, at])?;
                    delta.changed += 1;
                    (old.ctime.or(doc.ctime), old.ftime)
                }
                None => {
                    delta.added += 1;
                    (doc.ctime, at)
                }
            };
            insert.execute(params![
                cid,
                doc.id,
                at,
                ctime,
                ftime,
                &doc.digest[..],
                doc.text
            ])?;
        }
        for old in live.values() {
            close.execute(params![old.seq, at])?;
            delta.gone += 1;
        }
    }
    tx.execute(
        "INSERT INTO store_clock (only, ms) VALUES (0, ?1)
         ON CONFLICT (only) DO UPDATE SET ms = ?1",
        [at],
    )?;
    tx.execute(
        "INSERT INTO crawls (root, last_success_ms, last_attempt_ms, last_error)
         VALUES (?1, ?2, ?2, NULL)
         ON CONFLICT (root) DO UPDATE SET last_success_ms = ?2, last_attempt_ms = ?2,
                                          last_error = NULL",
        params![root, at],
    )?;
    debug_assert!(from_sql(at) == committed_ms);
    Ok(delta)
}

/// The collections of `root` already in the store, by name.
fn collection_ids(tx: &Transaction, root: &str) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = tx.prepare_cached("SELECT name, cid FROM collections WHERE root = ?1")?;
    let rows = stmt.query_map([root], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// The live revisions of every collection of `root`, by `(collection id, resource id)`.
fn live_set(tx: &Transaction, root: &str) -> rusqlite::Result<HashMap<(i64, String), Live>> {
    let mut stmt = tx.prepare_cached(
        "SELECT r.cid, r.id, r.seq, r.ctime, r.ftime, r.digest
         FROM revisions r JOIN collections c ON c.cid = r.cid
         WHERE c.root = ?1 AND r.ltime IS NULL",
    )?;
    let rows = stmt.query_map([root], |row| {
        Ok((
            (row.get(0)?, row.get(1)?),
            Live {
                seq: row.get(2)?,
                ctime: row.get(3)?,
                ftime: row.get(4)?,
                digest: row.get(5)?,
            },
        ))
    })?;
    rows.collect()
}
