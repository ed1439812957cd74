//! JSON lines appended to a file, for log shippers (Filebeat, Vector, Fluent Bit): one
//! [`super::document`] per line, all of a run's lines in one write followed by an fsync, so
//! a shipper never reads half a run. A write that fails part way is cut back to where it
//! started, so the alerts can wait for the next run without leaving a broken line behind.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

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
        let existed = self.path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("failed to open {}", self.path.display()))?;
        let start = file
            .metadata()
            .with_context(|| format!("failed to read the size of {}", self.path.display()))?
            .len();
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(err) = written {
            let _ = file.set_len(start);
            return Err(err)
                .with_context(|| format!("failed to append to {}", self.path.display()));
        }
        if !existed {
            // A new file is only durable once its directory entry is.
            if let Some(dir) = self.path.parent().and_then(|d| std::fs::File::open(d).ok()) {
                let _ = dir.sync_all();
            }
        }
        tracing::info!(alerts = alerts.len(), file = %self.path.display(), "alerts appended");
        Ok(Vec::new())
    }
}
