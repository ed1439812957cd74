//! Where alerts go. Every alert of a run goes to every configured output; each output is a
//! small type behind [`Output`], so adding one (mail, Elasticsearch) touches nothing else.

mod stdout;

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::config::OutputKind;
use crate::contract::Window;

/// One alert as delivered: the rule that raised it, its id and its details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    pub plugin_name: String,
    pub id: String,
    pub details: serde_json::Value,
}

/// What outputs know about the run.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo {
    pub window: Window,
    pub started_ms: u64,
}

/// A destination for a run's alerts.
pub trait Output {
    fn name(&self) -> &'static str;
    /// Delivers all of a run's alerts, or fails as a whole.
    fn send(&mut self, alerts: &[AlertRecord], run: &RunInfo) -> Result<()>;
}

/// Builds the configured outputs, writing stdout formats to `out`.
pub fn build<'a>(
    kinds: &[OutputKind],
    out: &'a mut (dyn Write + Send),
) -> Vec<Box<dyn Output + 'a>> {
    let shared = std::rc::Rc::new(std::cell::RefCell::new(out));
    kinds
        .iter()
        .map(|kind| -> Box<dyn Output + 'a> {
            Box::new(stdout::StdoutOutput::new(*kind, shared.clone()))
        })
        .collect()
}

/// Details as the original printed them: strings as they are, structures as compact JSON.
pub fn details_text(details: &serde_json::Value) -> String {
    match details {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
