//! Reading the store as of one instant. [`AsOf::open`] reads the store clock C, the crawl
//! status and the collections once, in one read transaction; every query is then answered as
//! of C: revisions started after C do not exist, and a revision closed after C is live. So any
//! number of connections (one per thread that asks) give one consistent answer while a crawl
//! commits, and a run's window, clamped to C, never sees half a crawl.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

use super::schema::{StoreError, open_existing};
use crate::json::iso_millis;
use crate::source::{Doc, Filter, Source, SourceError, Stored};

/// The last crawl of one root collection, as of the reader's instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crawl {
    pub root: String,
    pub last_success_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A reader of the store as of its clock when opened.
#[derive(Debug)]
pub struct AsOf {
    path: PathBuf,
    /// The store clock C; `None` for a store nothing was recorded in.
    clock: Option<i64>,
    crawls: Vec<Crawl>,
    /// Collection name -> its id in the store.
    collections: HashMap<String, (i64, String)>,
    /// When the reader was opened, and the oldest last success it answers from.
    now_ms: i64,
    max_staleness: Option<Duration>,
    idle: Mutex<Vec<Connection>>,
}

impl AsOf {
    /// Opens the store at `path` (which must exist) as of its clock now. With `max_staleness`,
    /// a collection whose last successful crawl is older than that before `now_ms` is not
    /// answered ([`Source::available`]), nor is one never crawled.
    pub fn open(
        path: &Path,
        now_ms: i64,
        max_staleness: Option<Duration>,
    ) -> Result<AsOf, StoreError> {
        let mut conn = open_existing(path)?;
        let sqlite = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let tx = conn.transaction().map_err(sqlite)?;
        let clock: Option<i64> = tx
            .query_row("SELECT max(ms) FROM store_clock", [], |row| row.get(0))
            .map_err(sqlite)?;
        let crawls = {
            let mut stmt = tx
                .prepare(
                    "SELECT root, last_success_ms, last_attempt_ms, last_error FROM crawls
                     ORDER BY root",
                )
                .map_err(sqlite)?;
            let rows = stmt.query_map([], |row| {
                Ok(Crawl {
                    root: row.get(0)?,
                    last_success_ms: row.get(1)?,
                    last_attempt_ms: row.get(2)?,
                    last_error: row.get(3)?,
                })
            });
            rows.and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(sqlite)?
        };
        let collections = {
            let mut stmt = tx
                .prepare("SELECT name, cid, root FROM collections")
                .map_err(sqlite)?;
            let rows = stmt.query_map([], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))));
            rows.and_then(|rows| rows.collect::<rusqlite::Result<HashMap<_, _>>>())
                .map_err(sqlite)?
        };
        tx.commit().map_err(sqlite)?;
        Ok(AsOf {
            path: path.to_owned(),
            clock,
            crawls,
            collections,
            now_ms,
            max_staleness,
            idle: Mutex::new(vec![conn]),
        })
    }

    /// The instant every answer is as of: the store clock when opened.
    pub fn clock_ms(&self) -> Option<i64> {
        self.clock
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every root collection's last crawl, by root.
    pub fn crawls(&self) -> &[Crawl] {
        &self.crawls
    }

    /// Runs `f` on an idle connection (or a new one), returning it to the pool after.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, SourceError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_existing(&self.path).map_err(|err| SourceError::Read(err.to_string()))?,
        };
        let out = f(&conn).map_err(|err| {
            SourceError::Read(format!(
                "failed to read store {}: {err}",
                self.path.display()
            ))
        });
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        out
    }
}

impl Source for AsOf {
    fn holds(&self, collection: &str) -> Result<bool, SourceError> {
        Ok(self.collections.contains_key(collection))
    }

    fn accounts_of(&self, root: &str) -> Result<Vec<String>, SourceError> {
        let mut names: Vec<String> = self
            .collections
            .iter()
            .filter(|(name, (_, r))| r == root && *name != root)
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    fn available(&self, root: &str) -> Result<(), SourceError> {
        let store = self.path.display();
        let crawl = self.crawls.iter().find(|c| c.root == root);
        let Some(success) = crawl.and_then(|c| c.last_success_ms) else {
            let why = crawl
                .and_then(|c| c.last_error.as_deref())
                .map(|e| format!(" (its last crawl failed: {e})"))
                .unwrap_or_default();
            return Err(SourceError::Unavailable(format!(
                "collection {root} has never been crawled into store {store}{why}; \
                 `reddalert crawl` records it"
            )));
        };
        let Some(max) = self.max_staleness else {
            return Ok(());
        };
        let age = self.now_ms.saturating_sub(success);
        if age > i64::try_from(max.as_millis()).unwrap_or(i64::MAX) {
            let why = crawl
                .and_then(|c| c.last_error.as_deref())
                .map(|e| format!("; its last crawl failed: {e}"))
                .unwrap_or_default();
            return Err(SourceError::Unavailable(format!(
                "collection {root} of store {store} was last crawled at {} ({} minutes ago), \
                 longer ago than max_staleness ({} minutes){why}",
                iso_millis(success),
                age / 60_000,
                max.as_secs() / 60
            )));
        }
        Ok(())
    }

    fn revisions(&self, collection: &str, filter: &Filter) -> Result<Vec<Stored>, SourceError> {
        let (Some(&(cid, _)), Some(clock)) = (self.collections.get(collection), self.clock) else {
            return Ok(Vec::new());
        };
        let mut sql = format!(
            "SELECT seq, id, stime, CASE WHEN ltime <= {clock} THEN ltime END, ctime, ftime, data
             FROM revisions WHERE cid = {cid} AND stime <= {clock} AND "
        );
        let mut ids = Vec::new();
        write_filter(filter, clock, &mut sql, &mut ids);
        let mut rows = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(&ids), |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    Stored {
                        id: row.get(1)?,
                        stime: row.get(2)?,
                        ltime: row.get(3)?,
                        ctime: row.get(4)?,
                        ftime: row.get(5)?,
                        // Copied once, from SQLite's buffer into the shared text.
                        data: Doc::from_canonical(row.get_ref(6)?.as_str()?),
                    },
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // Sorted here rather than by SQLite, which would copy every document into its sorter.
        rows.sort_unstable_by_key(|(seq, _)| *seq);
        Ok(rows.into_iter().map(|(_, rev)| rev).collect())
    }
}

/// Too many ids for one statement's parameters: read the collection and let the engine match.
const MAX_IDS: usize = 500;

/// `filter` as SQL over the stored columns, where `ltime` as of `clock` is null also when the
/// stored one is after `clock`. Times are integers written inline; ids are parameters.
fn write_filter(filter: &Filter, clock: i64, sql: &mut String, ids: &mut Vec<String>) {
    let join = |all: &[Filter], sep: &str, sql: &mut String, ids: &mut Vec<String>| {
        sql.push('(');
        for (i, f) in all.iter().enumerate() {
            if i > 0 {
                sql.push_str(sep);
            }
            write_filter(f, clock, sql, ids);
        }
        sql.push(')');
    };
    let _ = match filter {
        Filter::All => write!(sql, "1"),
        Filter::Live => write!(sql, "(ltime IS NULL OR ltime > {clock})"),
        Filter::Ids(list) if list.len() > MAX_IDS || list.is_empty() => {
            write!(sql, "{}", i32::from(!list.is_empty()))
        }
        Filter::Ids(list) => {
            sql.push_str("id IN (");
            for (i, id) in list.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ",?" });
                ids.push(id.clone());
            }
            write!(sql, ")")
        }
        Filter::StimeGte(t) => write!(sql, "stime >= {t}"),
        Filter::StimeLte(t) => write!(sql, "stime <= {t}"),
        Filter::AliveAfter(t) => {
            write!(sql, "(ltime IS NULL OR ltime > {clock} OR ltime > {t})")
        }
        Filter::ClosedBefore(t) => write!(sql, "(ltime <= {clock} AND ltime < {t})"),
        Filter::And(all) => {
            join(all, " AND ", sql, ids);
            Ok(())
        }
        Filter::Or(any) => {
            join(any, " OR ", sql, ids);
            Ok(())
        }
    };
}
