//! JSON lines appended to a file, for log shippers (Filebeat, Vector, Fluent Bit): one
//! [`super::document`] per line, all of a run's lines in one write followed by an fsync, so
//! a shipper never reads half a run. A write that fails part way is cut back to where it
//! started, so the alerts can wait for the next run without leaving a broken line behind
//! ([`super::append`]).

use std::path::PathBuf;

use anyhow::Result;

use super::{AlertRecord, Output, Rejected, RunInfo, document, json_line};
use crate::config::JsonlSettings;

pub(super) struct JsonlOutput {
    path: PathBuf,
}

impl JsonlOutput {
    pub(super) fn new(settings: &JsonlSettings) -> JsonlOutput {
        JsonlOutput {
            path: settings.path.clone(),
        }
    }
}

impl Output for JsonlOutput {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    fn send(&mut self, alerts: &[AlertRecord], _run: &RunInfo) -> Result<Rejected> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut text = String::new();
        for alert in alerts {
            text.push_str(&json_line(&document(alert)));
            text.push('\n');
        }
        super::append::append_durably(&self.path, &text)?;
        tracing::info!(alerts = alerts.len(), file = %self.path.display(), "alerts appended");
        Ok(Vec::new())
    }
}
