//! The rule author's commands: `new-rule` scaffolds a rule crate ([`scaffold`]), `test-rule`
//! runs one module against snapshot files in the sandbox and limits of a real run
//! ([`test_rule`]), and `snapshot` saves the EDDA responses the installed rules read in a run,
//! including the queries they make at run time ([`snapshot`]), so that an author captures real
//! data once and replays it offline. `push` and `sign` publish a module to an OCI registry
//! and sign it ([`publish`]). A snapshot directory also records its window in
//! [`MANIFEST`], which `test-rule` uses as its default window.

pub mod publish;
pub mod scaffold;
pub mod snapshot;
pub mod test_rule;

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::contract::Window;

/// The file in a snapshot directory that says what was captured and for which window. Its
/// name cannot collide with a query's file, which always holds a `.` from the query's `/`.
pub const MANIFEST: &str = "reddalert-snapshot.json";

/// What `snapshot` writes to [`MANIFEST`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The window of the captured run, epoch ms.
    pub since_ms: u64,
    /// The window of the captured run, epoch ms.
    pub until_ms: u64,
    /// Where the data came from (the EDDA URL or snapshot directory).
    pub edda: String,
    /// The rules whose reads were captured.
    pub rules: Vec<String>,
    /// The snapshot files written, by query.
    pub files: Vec<String>,
    /// When the snapshot was taken, epoch ms.
    pub taken_ms: u64,
}

impl Manifest {
    /// The manifest of a snapshot directory, if it has one.
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("failed to parse {}", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("failed to read {}", path.display())),
        }
    }

    /// The captured window.
    pub fn window(&self) -> Window {
        Window {
            since_ms: self.since_ms,
            until_ms: self.until_ms,
        }
    }
}

/// An epoch-ms time as ISO 8601 for people, with the number beside it.
pub(crate) fn show_time(ms: u64) -> String {
    match jiff::Timestamp::from_millisecond(ms as i64) {
        Ok(t) => format!("{t} ({ms})"),
        Err(_) => ms.to_string(),
    }
}
