//! An alert as the host keeps it between a rule raising it and every output taking it: the
//! rule that raised it, its id and details, the run and window it came from and (with
//! several accounts) its account; and, while some output has not taken it, the outputs still
//! owed it. Plain data, saved in the status file and read by every output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::Window;

/// One alert as delivered: the rule that raised it, its id and its details, and the run it
/// came from (an alert that waited is delivered with the window it was raised in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRecord {
    /// The rule that raised it (`plugin_name`, the original's name, in the status file).
    #[serde(rename = "plugin_name")]
    pub rule: String,
    pub id: String,
    pub details: serde_json::Value,
    /// The version of the rule that raised it.
    pub rule_version: String,
    /// The window of the run that raised it.
    pub window: Window,
    /// When that run started (epoch ms).
    pub raised_ms: u64,
    /// The account it was raised in, when the config lists accounts (`[[account]]`); a
    /// single-account run leaves it out, so its outputs read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountTag>,
}

/// The account an alert was raised in: its name and the tags the config gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTag {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// The most of an alert's id that is kept: an id names a resource, and a longer one is cut
/// (with a marker saying how long it was).
pub const MAX_ALERT_ID_BYTES: usize = 4096;

impl AlertRecord {
    /// The account's name, when the alert has one.
    pub fn account_name(&self) -> Option<&str> {
        self.account.as_ref().map(|a| a.name.as_str())
    }

    /// Bounds the alert to `max_bytes` of id and details (`max_alert_kib`): an id longer than
    /// [`MAX_ALERT_ID_BYTES`] is cut, and details whose JSON text would take the alert past
    /// `max_bytes` become that text cut to fit, as a string marked with its whole length.
    /// Whether anything was cut.
    pub fn cut_to(&mut self, max_bytes: u64) -> bool {
        let mut cut = false;
        if self.id.len() > MAX_ALERT_ID_BYTES {
            self.id = crate::contract::cut(&self.id, MAX_ALERT_ID_BYTES);
            cut = true;
        }
        let room = usize::try_from(max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.id.len());
        let text = self.details.to_string();
        if text.len() > room {
            self.details = serde_json::Value::String(crate::contract::cut(&text, room));
            cut = true;
        }
        cut
    }
}

/// An alert that some outputs have not taken yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingAlert {
    /// The alert as it was raised.
    pub alert: AlertRecord,
    /// The outputs still owed it (`mail`, `elasticsearch`, ...).
    pub outputs: Vec<String>,
    /// Runs in which a delivery of it failed.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PendingAlert {
    /// A fresh alert, owed to every one of `outputs`.
    pub fn owed(alert: AlertRecord, outputs: &[String]) -> PendingAlert {
        PendingAlert {
            alert,
            outputs: outputs.to_vec(),
            attempts: 0,
            last_error: None,
        }
    }
}
