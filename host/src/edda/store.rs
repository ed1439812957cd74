//! EDDA answered from the SQLite store `reddalert crawl` writes (`edda = "store:PATH"`),
//! through the same engine as `serve-edda` and the test kit's fake EDDA, so a rule cannot tell
//! the store from EDDA. The store is read as of its clock when the run opened it: every query
//! of the run sees the same instant, whatever a crawl commits meanwhile, and the run's `until`
//! is clamped to that instant, so a change committed later falls in the next window.
//!
//! A collection never crawled into the store, or last crawled longer ago than the allowed
//! staleness, is an error naming it (EDDA's 503 shape), never an empty answer: the rules that
//! read it fail and read their window again next run. A store that fails to read fails the
//! rules that asked; one that cannot be opened at all stops the run, as an unreachable EDDA.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use edda_engine::sqlite::AsOf;

use super::EddaError;

/// A store opened for one run (or one `snapshot`).
#[derive(Debug)]
pub(crate) struct StoreReader {
    reader: AsOf,
}

impl StoreReader {
    /// Opens the store as of its clock now; an error (a missing file, a newer schema, a
    /// damaged file) means the run cannot read its EDDA at all.
    pub(crate) fn open(path: &Path, now_ms: u64, max_staleness: Duration) -> Result<StoreReader> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let reader = AsOf::open(path, now, Some(max_staleness))
            .with_context(|| format!("failed to open the EDDA store {}", path.display()))?;
        Ok(StoreReader { reader })
    }

    /// The instant every answer is as of (`None`: nothing recorded yet).
    pub(crate) fn clock_ms(&self) -> Option<u64> {
        self.reader
            .clock_ms()
            .map(|c| u64::try_from(c).unwrap_or(0))
    }

    /// The answer to a request path (after `/v2/`): the body, or the error EDDA would have
    /// answered, reported as the HTTP client reports it.
    pub(crate) fn fetch(&self, url: &str, path: &str) -> Result<String, EddaError> {
        let store_error = |reason: String| EddaError::Store {
            path: PathBuf::from(self.reader.path()),
            reason,
        };
        let reply =
            edda_engine::answer(&self.reader, path).map_err(|err| store_error(err.to_string()))?;
        let text = String::from_utf8(reply.body)
            .map_err(|err| store_error(format!("an answer is not UTF-8: {err}")))?;
        if reply.status >= 400 {
            return Err(super::status_error(url, reply.status, &text));
        }
        Ok(text)
    }
}
