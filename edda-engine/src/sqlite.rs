//! The SQLite store: one file per account holding every revision of every resource the crawl
//! recorded, as EDDA's datastore did. This module owns the file's schema (the one contract
//! between `reddalert crawl`, which writes it, and everything that reads it), opens it, and
//! refuses a schema it does not know rather than altering it.
//!
//! A revision is a row `(collection, id, stime, ltime, ctime, ftime, digest, data)`: `data` is
//! the document's canonical text ([`crate::json::compact`]), `digest` its SHA-256, which is
//! what a crawl compares; `ltime` is NULL while the revision is live. A regional collection is
//! stored per region as EDDA's per-account collection `<region>.<root>` and listed with its
//! root in `collections`, so a query on the root reads the merged view. `store_clock` holds the
//! time of the last commit: every revision and every close is at most that time, which is what
//! lets a reader answer as of one instant while a crawl commits.

mod import;
mod read;
mod schema;

pub use import::import;
pub use read::{AsOf, Crawl};
pub use schema::{SCHEMA_VERSION, StoreError, open, open_existing};

use sha2::{Digest as _, Sha256};

/// The digest a revision is stored with: the SHA-256 of its canonical text.
pub fn digest(canonical: &str) -> [u8; 32] {
    Sha256::digest(canonical.as_bytes()).into()
}
