//! Where the engine reads revisions from: a [`Source`] (the in-memory [`crate::Store`] of the
//! fake EDDA, or the SQLite store as of one instant). The engine asks for one collection's
//! revisions with a conservative [`Filter`] derived from the query (live only, ids, time
//! bounds): a source may return more than the filter admits, never less, and the engine then
//! applies EDDA's exact semantics. Documents travel as their canonical text ([`Doc`]) and are
//! parsed only when a query needs their values.

use std::sync::Arc;

use serde_json::Value;

/// Why a source could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The collection cannot be answered for now (never crawled, or crawled too long ago);
    /// served as a 503 naming the collection.
    #[error("{0}")]
    Unavailable(String),
    /// The source failed to read (an I/O or database error).
    #[error("{0}")]
    Read(String),
}

/// A document as stored: its canonical text (keys sorted as EDDA writes them, compact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc(Arc<str>);

impl Doc {
    /// Wraps text that is already canonical ([`crate::json::compact`] of its value).
    pub fn from_canonical(text: impl Into<Arc<str>>) -> Doc {
        Doc(text.into())
    }

    /// The canonical text of `value`.
    pub fn new(value: &Value) -> Doc {
        Doc(crate::json::compact(value).into())
    }

    pub fn text(&self) -> &str {
        &self.0
    }

    /// The parsed document. Stored text is written by this crate, so a parse failure means a
    /// damaged store: an error, not a panic.
    pub fn value(&self) -> Result<Value, SourceError> {
        serde_json::from_str(&self.0)
            .map_err(|err| SourceError::Read(format!("a stored document is not JSON: {err}")))
    }
}

/// One revision as a source gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: String,
    pub stime: i64,
    /// `None` while live (as of the source's instant).
    pub ltime: Option<i64>,
    /// AWS creation time; the envelope shows `ftime` when absent.
    pub ctime: Option<i64>,
    /// When the resource was first seen.
    pub ftime: i64,
    pub data: Doc,
}

/// A conservative restriction of a collection's revisions: what a query can only match.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every revision.
    All,
    /// `ltime` is null (live).
    Live,
    /// The id is one of these.
    Ids(Vec<String>),
    StimeGte(i64),
    StimeLte(i64),
    /// `ltime` is null or after the time (alive after it).
    AliveAfter(i64),
    /// `ltime` is set and before the time.
    ClosedBefore(i64),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

impl Filter {
    pub fn matches(&self, rev: &Stored) -> bool {
        match self {
            Filter::All => true,
            Filter::Live => rev.ltime.is_none(),
            Filter::Ids(ids) => ids.contains(&rev.id),
            Filter::StimeGte(t) => rev.stime >= *t,
            Filter::StimeLte(t) => rev.stime <= *t,
            Filter::AliveAfter(t) => rev.ltime.is_none_or(|l| l > *t),
            Filter::ClosedBefore(t) => rev.ltime.is_some_and(|l| l < *t),
            Filter::And(all) => all.iter().all(|f| f.matches(rev)),
            Filter::Or(any) => any.iter().any(|f| f.matches(rev)),
        }
    }
}

/// Revisions of collections, as EDDA's datastore holds them.
pub trait Source {
    /// Whether the source holds the collection of exactly this dotted name.
    fn holds(&self, collection: &str) -> Result<bool, SourceError>;

    /// The per-account collections (`<account>.<root>`, a store's `<region>.<root>`) of a root.
    fn accounts_of(&self, root: &str) -> Result<Vec<String>, SourceError>;

    /// Whether `root` (a root collection name) can be answered now; a source that cannot
    /// answer it says why (the store: never crawled, or too long ago).
    fn available(&self, root: &str) -> Result<(), SourceError> {
        let _ = root;
        Ok(())
    }

    /// The revisions of exactly `collection` that may match `filter` (at least those that do),
    /// in the order they were stored.
    fn revisions(&self, collection: &str, filter: &Filter) -> Result<Vec<Stored>, SourceError>;
}
