//! The status file kept between runs: per-rule state and health, the last `until` when
//! `store-until` is on, and the alerts some output has not taken yet (saved in the same
//! atomic write as the states, so a state never moves on without its alerts). Pretty, versioned JSON, written atomically (temp file, fsync, rename,
//! directory fsync) while an exclusive lock keeps overlapping cron runs apart. A file that
//! cannot be parsed is an error naming file and line, and is never overwritten. An original
//! reddalert status file (`{"since": ms, "plugin.<name>": {...}}`) is read and carried over.

mod lock;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::outputs::PendingAlert;

pub use lock::StatusLock;

/// Marks our format, so that a future layout can be told apart and migrated. Format 2 added
/// `pending`; a format 1 file is read as format 2 with nothing pending, and an older binary
/// refuses a format 2 file instead of dropping the alerts it cannot read.
const FORMAT: u32 = 2;
const READABLE_FORMATS: [u32; 2] = [1, 2];

/// Everything kept between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// Format version of this file.
    pub reddalert_status: u32,
    /// The last run's `until` (epoch ms), stored when `store-until` is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// When the last run finished (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<u64>,
    /// Per rule, by name.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleStatus>,
    /// Alerts waiting for outputs that did not take them, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingAlert>,
}

/// What is kept for one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleStatus {
    /// The state the rule returned on its last success, handed back next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<serde_json::Value>,
    /// The rule version that wrote the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When it last succeeded (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<u64>,
    /// Failures since the last success.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Why it last failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl Status {
    /// Reads the status file; a missing or empty file is a first run.
    pub fn load(path: &Path) -> Result<Status> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Status::new()),
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("failed to read status file {}", path.display()));
            }
        };
        if text.trim().is_empty() {
            return Ok(Status::new());
        }
        Status::parse(&text).with_context(|| {
            format!(
                "failed to parse status file {} (it was left untouched: fix it, or move it away to start afresh)",
                path.display()
            )
        })
    }

    fn new() -> Status {
        Status {
            reddalert_status: FORMAT,
            ..Status::default()
        }
    }

    fn parse(text: &str) -> Result<Status> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|err| anyhow::anyhow!("line {} column {}: {err}", err.line(), err.column()))?;
        let Some(map) = value.as_object() else {
            bail!("the top level must be a JSON object")
        };
        if !map.contains_key("reddalert_status") {
            return from_original(map);
        }
        let format = map.get("reddalert_status").and_then(|v| v.as_u64());
        if !format.is_some_and(|f| READABLE_FORMATS.iter().any(|r| u64::from(*r) == f)) {
            bail!(
                "format {} is not supported by this version (it reads formats {READABLE_FORMATS:?})",
                map["reddalert_status"]
            );
        }
        let mut status: Status = serde_json::from_value(value)?;
        status.reddalert_status = FORMAT;
        Ok(status)
    }

    /// Writes the file atomically next to its final place.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = parent_dir(path);
        let mut tmp = tempfile::Builder::new()
            .prefix(".reddalert-status-")
            .tempfile_in(&dir)
            .with_context(|| format!("failed to create a temporary file in {}", dir.display()))?;
        let mut json = serde_json::to_vec_pretty(self).context("failed to serialise the status")?;
        json.push(b'\n');
        tmp.write_all(&json)
            .and_then(|()| tmp.as_file().sync_all())
            .context("failed to write the status")?;
        tmp.persist(path)
            .with_context(|| format!("failed to replace status file {}", path.display()))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// The original's layout: `since` plus one `plugin.<name>` object per rule.
fn from_original(map: &serde_json::Map<String, serde_json::Value>) -> Result<Status> {
    let mut status = Status::new();
    for (key, value) in map {
        if key == "since" {
            status.since = match value {
                serde_json::Value::Null => None,
                v => Some(
                    v.as_u64()
                        .with_context(|| format!("`since` must be epoch milliseconds, got {v}"))?,
                ),
            };
        } else if let Some(name) = key.strip_prefix("plugin.") {
            let state = (!value.is_null()).then(|| value.clone());
            status.rules.insert(
                name.to_owned(),
                RuleStatus {
                    state,
                    ..RuleStatus::default()
                },
            );
        } else {
            bail!(
                "unknown key {key:?} (neither a reddalert status file nor an original reddalert one)"
            );
        }
    }
    Ok(status)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests;
