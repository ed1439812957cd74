//! An alert as a JSON document, shared by the Elasticsearch, jsonl and webhook outputs: the
//! rule, its version, the alert's id and details, the window and time of the run that raised
//! it. Also what makes Elasticsearch delivery idempotent: a document id derived from what the
//! alert is (rule, id, window, details), so a retry or a redelivery of a waiting alert lands
//! on the same `_id` and `create` answers 409 instead of indexing it twice.

use anyhow::Result;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{AlertRecord, details_text};
use crate::config::index_name;
use crate::time::iso_time;

/// The document of one alert (jsonl lines, webhook alerts, the base of Elasticsearch's).
/// `uid` is the alert's stable id (the Elasticsearch `_id`): the same alert delivered twice to
/// an at-least-once sink (a file, a webhook, after a crash) carries the same `uid`.
pub fn document(alert: &AlertRecord) -> Value {
    let mut doc = json!({
        "@timestamp": iso_time(alert.raised_ms),
        "type": "reddalert",
        "uid": document_id(alert),
        "plugin_name": alert.rule,
        "rule": alert.rule,
        "rule_version": alert.rule_version,
        "id": alert.id,
        "details": alert.details,
        "window": {
            "since": iso_time(alert.window.since_ms),
            "until": iso_time(alert.window.until_ms),
            "since_ms": alert.window.since_ms,
            "until_ms": alert.window.until_ms,
        },
    });
    if let (Some(account), Some(map)) = (&alert.account, doc.as_object_mut()) {
        map.insert("account".into(), json!(account));
    }
    doc
}

/// The Elasticsearch document: `details` only when it is an object (one index holds rules
/// whose details are strings and rules whose details are objects, and a field mapped as one
/// cannot take the other), plus `details_text`, always, for full-text search.
fn es_document(alert: &AlertRecord) -> Value {
    let mut doc = document(alert);
    if let Some(map) = doc.as_object_mut() {
        if !alert.details.is_object() {
            map.remove("details");
        }
        map.insert(
            "details_text".into(),
            Value::String(details_text(&alert.details)),
        );
    }
    doc
}

/// The `_id`: sha256 of rule, alert id, window and details in a canonical form. Details are
/// part of it because a rule may raise several alerts with one id (one per permission). The
/// account's name is too, when there is one (two accounts may raise the same alert), and only
/// then, so the ids of single-account alerts, waiting ones included, stay what they were.
pub fn document_id(alert: &AlertRecord) -> String {
    let mut hash = Sha256::new();
    if let Some(account) = &alert.account {
        hash.update(b"account");
        hash.update((account.name.len() as u64).to_be_bytes());
        hash.update(account.name.as_bytes());
    }
    for part in [
        alert.rule.as_bytes(),
        alert.id.as_bytes(),
        alert.window.since_ms.to_string().as_bytes(),
        alert.window.until_ms.to_string().as_bytes(),
        canonical(&alert.details).as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// JSON with object keys sorted, whatever order the map kept them in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// The `_bulk` body: a `create` action line and a document line per alert, each ending in a
/// newline (the API insists on the last one).
pub fn bulk_body(alerts: &[&AlertRecord], index_pattern: &str) -> Result<String> {
    let mut body = String::new();
    for alert in alerts {
        let action = json!({"create": {
            "_index": index_name(index_pattern, alert.raised_ms)?,
            "_id": document_id(alert),
        }});
        body.push_str(&action.to_string());
        body.push('\n');
        body.push_str(&super::json_line(&es_document(alert)));
        body.push('\n');
    }
    Ok(body)
}
