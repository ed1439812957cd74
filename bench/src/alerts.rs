//! Alerts as the benchmark compares them: each `(rule, id, details)` as one line of JSON, the
//! lines sorted, and their count and sha256. Two ways of running the same rules on the same
//! account must give the same digest; the report keeps it so that a later run (after an
//! optimisation) can be compared with an earlier one.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSet {
    pub count: usize,
    pub sha256: String,
}

/// Accumulates alerts in any order.
#[derive(Default, Clone)]
pub struct Alerts {
    lines: Vec<String>,
}

impl Alerts {
    pub fn push(&mut self, rule: &str, id: &str, details: &Value) {
        // serde_json's maps are sorted (no `preserve_order` in this build), so equal details
        // print equal.
        self.lines
            .push(json!({"rule": rule, "id": id, "details": details}).to_string());
    }

    pub fn extend(&mut self, other: Alerts) {
        self.lines.extend(other.lines);
    }

    pub fn set(mut self) -> AlertSet {
        self.lines.sort();
        let mut hash = Sha256::new();
        for line in &self.lines {
            hash.update(line.as_bytes());
            hash.update(b"\n");
        }
        AlertSet {
            count: self.lines.len(),
            sha256: hex::encode(hash.finalize()),
        }
    }
}
