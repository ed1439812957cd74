//! Where alerts go. Every alert of a run goes to every configured output; each output is a
//! small type behind [`Output`], so adding one touches nothing else. An output either takes a
//! whole batch, takes part of it and names the alerts it refused, or fails as a whole; what it
//! did not take waits in the status file for the next run ([`delivery`]).

mod append;
mod bounds;
mod delivery;
mod digest;
mod document;
mod elasticsearch;
mod http;
mod jsonl;
mod mail;
mod ocsf;
mod stdout;
mod webhook;

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::alert::AlertRecord;
use crate::config::OutputSettings;
use crate::contract::Window;

pub use bounds::shed_waiting;
pub use delivery::deliver;
pub use digest::{render_html, render_text};
pub use document::{bulk_body, document, document_id};
pub(crate) use stdout::render as render_stdout;

pub use crate::contract::escape_text;
use crate::contract::is_unsafe;

/// What outputs know about the run that is delivering.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo {
    pub window: Window,
    pub started_ms: u64,
}

/// Alerts of a batch that the destination refused, by position in the batch, with the reason.
pub type Rejected = Vec<(usize, String)>;

/// A destination for a run's alerts.
pub trait Output {
    /// The name waiting alerts are filed under (`mail`, `elasticsearch`, ...).
    fn name(&self) -> &'static str;
    /// Delivers a batch (alerts that waited first). `Ok` lists the alerts it refused (none
    /// when all were taken); `Err` means it took none.
    fn send(&mut self, alerts: &[AlertRecord], run: &RunInfo) -> Result<Rejected>;
}

/// Builds the configured outputs, writing stdout formats to `out`. Secrets named in the
/// config are read here, so a missing one stops the run before any rule runs.
pub fn build<'a>(
    settings: &[OutputSettings],
    out: &'a mut (dyn Write + Send),
) -> Result<Vec<Box<dyn Output + 'a>>> {
    let shared = std::rc::Rc::new(std::cell::RefCell::new(out));
    let mut outputs: Vec<Box<dyn Output + 'a>> = Vec::new();
    for output in settings {
        outputs.push(match output {
            OutputSettings::Stdout(format) => {
                Box::new(stdout::StdoutOutput::new(*format, shared.clone()))
            }
            OutputSettings::Mail(s) => Box::new(mail::MailOutput::new(s)?),
            OutputSettings::Elasticsearch(s) => Box::new(elasticsearch::EsOutput::new(s)?),
            OutputSettings::Jsonl(s) => Box::new(jsonl::JsonlOutput::new(s)),
            OutputSettings::Webhook(s) => Box::new(webhook::WebhookOutput::new(s)?),
            OutputSettings::Ocsf(s) => Box::new(ocsf::OcsfOutput::new(s)),
        });
    }
    Ok(outputs)
}

/// A value as one line of JSON. serde_json escapes C0 controls as JSON requires; the other
/// unsafe characters (DEL, C1 such as U+0085, U+2028 and U+2029, which JavaScript and some
/// line readers take for line ends) are escaped too, which JSON allows inside strings, the
/// only place they can occur.
pub fn json_line(value: &impl Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    if !text.chars().any(is_unsafe) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Details as the original printed them: strings as they are, structures as compact JSON.
pub fn details_text(details: &serde_json::Value) -> String {
    match details {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
