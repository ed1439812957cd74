//! Creating and checking the store's schema. The version lives in SQLite's `user_version`: a
//! file of a newer version is refused with an error naming both versions, and never altered
//! (not even switched to WAL), so a newer reddalert's store survives an older binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// The schema this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a statement waits for another connection's lock before failing: a crawl's
/// transaction of one collection takes well under this.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const CREATE: &str = "
CREATE TABLE store_clock (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    ms INTEGER NOT NULL
);
CREATE TABLE collections (
    cid INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL
);
CREATE INDEX collections_by_root ON collections(root);
CREATE TABLE revisions (
    seq INTEGER PRIMARY KEY,
    cid INTEGER NOT NULL REFERENCES collections(cid),
    id TEXT NOT NULL,
    stime INTEGER NOT NULL,
    ltime INTEGER,
    ctime INTEGER,
    ftime INTEGER NOT NULL,
    digest BLOB NOT NULL,
    data TEXT NOT NULL,
    CHECK (ltime IS NULL OR ltime >= stime)
);
CREATE UNIQUE INDEX revisions_live ON revisions(cid, id) WHERE ltime IS NULL;
CREATE INDEX revisions_by_id ON revisions(cid, id, stime);
CREATE INDEX revisions_by_stime ON revisions(cid, stime);
CREATE INDEX revisions_by_ltime ON revisions(cid, ltime);
CREATE TABLE crawls (
    root TEXT PRIMARY KEY,
    last_success_ms INTEGER,
    last_attempt_ms INTEGER,
    last_error TEXT
) WITHOUT ROWID;
";

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "store {} has schema version {found}, newer than version {supported} that this \
         reddalert reads; it was left as it is: use the reddalert that wrote it (or a newer one)",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{} is not a reddalert store (it has tables but no store schema version); give the \
         path of a store `reddalert crawl` wrote, or a new file",
        path.display()
    )]
    NotAStore { path: PathBuf },
    #[error("store {} does not exist; `reddalert crawl` creates it", path.display())]
    Missing { path: PathBuf },
    #[error("failed to open store {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// Opens the store at `path` for reading and writing, creating it (and its schema) when the
/// file does not exist.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    prepare(path, flags, true)
}

/// Opens an existing store; a missing file is [`StoreError::Missing`], not a new store. The
/// connection can write, as SQLite's WAL readers need to, but nothing here writes with it.
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    prepare(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        false,
    )
}

fn prepare(path: &Path, flags: OpenFlags, create: bool) -> Result<Connection, StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    // Read before anything is set: a newer store must not be altered at all.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .map_err(sqlite)?;
        if tables > 0 || !create {
            return Err(StoreError::NotAStore {
                path: path.to_owned(),
            });
        }
    }
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    // A commit is on disk when `record` returns: a crawl killed after it never repeats it.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite)?;
    if version == 0 {
        create_schema(&conn).map_err(sqlite)?;
    }
    Ok(conn)
}

/// Creates the tables in one transaction, so a crash leaves either no schema or all of it; a
/// second process creating the same new store at once finds the schema made and leaves it.
fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let made = conn
        .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
        .and_then(|version| {
            if version == 0 {
                conn.execute_batch(CREATE)?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            Ok(())
        });
    match made {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(err)
        }
    }
}
