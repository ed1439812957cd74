//! The status file kept between runs: per-rule state, health and (with `store-until`) where
//! the rule's next window starts, and the alerts some output has not taken yet (saved in the
//! same atomic write as the states, so a state never moves on without its alerts). Pretty,
//! versioned JSON, written atomically ([`file`]) while an exclusive lock keeps overlapping
//! cron runs apart. A file that cannot be parsed is an error naming file and line, and is
//! never overwritten. An original reddalert status file (`{"since": ms, "plugin.<name>":
//! {...}}`) is read and carried over.

mod file;
mod lock;
mod reserve;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use crate::alert::PendingAlert;

pub use file::{dead_letter_path, remove_leftovers, resolve};
pub use lock::StatusLock;

/// Marks our format, so that a future layout can be told apart and migrated. Format 2 added
/// `pending`, format 3 each rule's own `since`; older formats are read as the current one
/// (every rule starting where the top-level `since` says), and an older binary refuses a newer
/// file instead of dropping what it cannot read.
const FORMAT: u32 = 3;
const READABLE_FORMATS: [u32; 3] = [1, 2, 3];

/// Everything kept between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// Format version of this file.
    pub reddalert_status: u32,
    /// The last run's `until` (epoch ms), stored when `store-until` is on: where the window
    /// of a rule without a `since` of its own starts (the original's key).
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
    /// Where its next window starts (epoch ms), stored when `store-until` is on: the `until`
    /// of its last successful run, so a rule that failed reads its missed window again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

impl Status {
    /// Where `rule`'s next window starts when `store-until` is on: its own `since`, else the
    /// top-level one (a rule that has not run since the file had per-rule windows), else 0.
    pub fn since_of(&self, rule: &str) -> u64 {
        self.rules
            .get(rule)
            .and_then(|r| r.since)
            .or(self.since)
            .unwrap_or(0)
    }

    /// Reads the status file; a missing or empty file is a first run.
    pub fn load(path: &Path) -> Result<Status> {
        // A FIFO would block the read for ever, holding the run's lock.
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            bail!(
                "status file {} is not a regular file; point --statusfile at a file",
                path.display()
            );
        }
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

    /// Parses the text of a status file, ours or the original's.
    pub fn parse(text: &str) -> Result<Status> {
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

    /// Writes the file atomically (through a symlink to its target), leaving no temporary
    /// file behind, and keeps a reserve of disk space beside it ([`reserve`]) for the next
    /// save. When the volume is full, the reserve is given up for this save; when even that is
    /// not room enough, the largest waiting alerts are given up too (there is no room for them
    /// anywhere) and returned, so that the rules' states and windows are always saved.
    pub fn save(&mut self, path: &Path) -> Result<Vec<PendingAlert>> {
        let json = self.to_json()?;
        let first = match file::write_atomically(path, &json) {
            Ok(()) => {
                reserve::refill(path, json.len() as u64 + reserve::HEADROOM);
                return Ok(Vec::new());
            }
            Err(err) => err,
        };
        if !reserve::is_full(&first) {
            return Err(first);
        }
        let freed = reserve::release(path);
        if freed == 0 {
            return Err(first.context(
                "the status volume is full and no reserve was left beside the status file: free \
                 space on it",
            ));
        }
        tracing::warn!(
            status = %path.display(),
            freed,
            "the status volume is full: the reserve beside the status file is given up for this \
             save; free space on it"
        );
        let mut given_up = Vec::new();
        let mut json = json;
        // Room for the save is what the reserve freed, less what the file system needs to
        // hold it.
        let room = freed - freed / 8;
        while json.len() as u64 > room && !self.pending.is_empty() {
            let largest = (0..self.pending.len())
                .max_by_key(|&i| serde_json::to_string(&self.pending[i]).map_or(0, |t| t.len()))
                .unwrap_or(0);
            given_up.push(self.pending.remove(largest));
            json = self.to_json()?;
        }
        file::write_atomically(path, &json).context("the status volume is full")?;
        if !given_up.is_empty() {
            tracing::error!(
                status = %path.display(),
                alerts = given_up.len(),
                "the status volume is full: the largest waiting alerts were given up so that the \
                 rules' states could be saved"
            );
        }
        if !reserve::refill(path, json.len() as u64 + reserve::HEADROOM) {
            tracing::warn!(
                status = %path.display(),
                "the status volume has no room to make the reserve whole again; free space on it"
            );
        }
        Ok(given_up)
    }

    fn to_json(&self) -> Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(self).context("failed to serialise the status")?;
        json.push(b'\n');
        Ok(json)
    }
}

/// The original's layout: `since` plus one `plugin.<name>` object per rule.
fn from_original(map: &serde_json::Map<String, serde_json::Value>) -> Result<Status> {
    let mut status = Status::new();
    for (key, value) in map {
        if key == "since" {
            status.since = original_since(value)?;
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

/// The original stored `--until` as given, so its `since` may be a number or a string of
/// epoch milliseconds (or of any time `--since` takes).
fn original_since(value: &serde_json::Value) -> Result<Option<u64>> {
    Ok(match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(match s.trim().parse::<u64>() {
            Ok(ms) => ms,
            Err(_) => crate::time::parse_time(s)
                .with_context(|| format!("`since` must be epoch milliseconds, got {s:?}"))?,
        }),
        v => Some(
            v.as_u64()
                .with_context(|| format!("`since` must be epoch milliseconds, got {v}"))?,
        ),
    })
}

#[cfg(test)]
mod tests;
