//! OCSF Detection Findings appended to a file, one JSON line per alert, for SIEMs and data
//! lakes that ingest the Open Cybersecurity Schema Framework (Security Lake, Splunk, Sentinel
//! through their OCSF connectors). The file is written like `jsonl` ([`super::append`]): one
//! durable write per run, cut back when it fails, so the alerts wait for the next run.
//!
//! Each alert maps to class 2004 (Detection Finding), activity 1 (Create), status 1 (New):
//! `finding_info.uid` is the alert's stable id ([`super::document_id`], Elasticsearch's
//! `_id`), so a finding delivered twice (at least once to files) carries the same uid; the
//! rule and its version are `metadata.product.feature`; `time` is when the raising run
//! started and `start_time`/`end_time` its window; the affected resources come from the
//! alert id and the details, and the details themselves go whole into `unmapped`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::{AlertRecord, Output, Rejected, RunInfo, details_text, document_id, json_line};
use crate::config::{OcsfSettings, Severity};

/// The OCSF schema version the findings follow: the one py-ocsf-models (the maintained
/// validator the tests use) implements.
pub(crate) const OCSF_VERSION: &str = "1.5.0";

/// Severity of the stock rules' findings, unless `[ocsf] severity` says otherwise. High: a
/// change that exposes the account now and that someone should look at today (a port or a
/// listener open to the internet, a public bucket or object ACL, a new IAM user or group
/// membership). Medium: likely exposure that needs a person to confirm it (a page that may
/// have been taken over, a page served without SSO). Low: hygiene that widens the attack
/// surface over time (an unknown AMI, an untagged or unmanaged instance, a DNS record
/// pointing outside the account, a missing X-Frame-Options). Informational: inventory news
/// (a new service tag). Critical is left for operators to give.
const DEFAULT_SEVERITY: &[(&str, Severity)] = &[
    ("secgroups", Severity::High),
    ("elbs", Severity::High),
    ("iam", Severity::High),
    ("s3acl", Severity::High),
    ("route53changed", Severity::Medium),
    ("sso_unprotected", Severity::Medium),
    ("ami", Severity::Low),
    ("missingtag", Severity::Low),
    ("non_chef", Severity::Low),
    ("route53unknown", Severity::Low),
    ("security_headers", Severity::Low),
    ("newtag", Severity::Informational),
];

/// A rule nobody classified (a third-party rule) is assumed to need action, not to be urgent.
const UNKNOWN_RULE_SEVERITY: Severity = Severity::Medium;

pub(super) struct OcsfOutput {
    path: PathBuf,
    severity: BTreeMap<String, Severity>,
}

impl OcsfOutput {
    pub(super) fn new(settings: &OcsfSettings) -> OcsfOutput {
        OcsfOutput {
            path: settings.path.clone(),
            severity: settings.severity.clone(),
        }
    }

    fn severity(&self, rule: &str) -> Severity {
        self.severity
            .get(rule)
            .copied()
            .unwrap_or_else(|| default_severity(rule))
    }
}

impl Output for OcsfOutput {
    fn name(&self) -> &'static str {
        "ocsf"
    }

    fn send(&mut self, alerts: &[AlertRecord], _run: &RunInfo) -> Result<Rejected> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut text = String::new();
        for alert in alerts {
            text.push_str(&json_line(&finding(alert, self.severity(&alert.rule))));
            text.push('\n');
        }
        super::append::append_durably(&self.path, &text)?;
        tracing::info!(alerts = alerts.len(), file = %self.path.display(), "OCSF findings appended");
        Ok(Vec::new())
    }
}

/// The severity of a rule's findings when the config names none.
pub(crate) fn default_severity(rule: &str) -> Severity {
    DEFAULT_SEVERITY
        .iter()
        .find(|(name, _)| *name == rule)
        .map_or(UNKNOWN_RULE_SEVERITY, |&(_, severity)| severity)
}

/// One alert as an OCSF Detection Finding.
pub(crate) fn finding(alert: &AlertRecord, severity: Severity) -> Value {
    let uid = document_id(alert);
    let title = format!("{}: {}", alert.rule, alert.id);
    json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200_401,
        "type_name": "Detection Finding: Create",
        "status_id": 1,
        "status": "New",
        "severity_id": severity.id(),
        "severity": severity.caption(),
        "time": alert.raised_ms,
        "start_time": alert.window.since_ms,
        "end_time": alert.window.until_ms,
        "message": title,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": uid,
            "profiles": ["cloud"],
            "product": {
                "name": "reddalert",
                "vendor_name": "reddalert",
                "version": env!("CARGO_PKG_VERSION"),
                "feature": {"name": alert.rule, "version": alert.rule_version},
            },
        },
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": details_text(&alert.details),
            "types": [format!("reddalert/{}", alert.rule)],
            "created_time": alert.raised_ms,
        },
        "resources": resources(alert),
        "cloud": cloud(alert),
        "unmapped": unmapped(alert),
    })
}

/// What the alert id names, by rule: a resource for the rules whose id is one, `URL` for the
/// rules whose id is a web address, nothing for ids that are a tag value or a Chef name.
fn resource_type(rule: &str, id: &str) -> Option<&'static str> {
    Some(match rule {
        "secgroups" => "AWS::EC2::SecurityGroup",
        "elbs" => "AWS::ElasticLoadBalancing::LoadBalancer",
        "iam" => "AWS::IAM::User",
        // The id is the AMI; the instance that runs it is a resource of its own.
        "ami" => "AWS::EC2::Image",
        // `bucket` or `bucket:key` (bucket names cannot hold a colon).
        "s3acl" if id.contains(':') => "AWS::S3::Object",
        "s3acl" => "AWS::S3::Bucket",
        "route53unknown" => "AWS::Route53::RecordSet",
        "route53changed" | "security_headers" | "sso_unprotected" => "URL",
        _ => return None,
    })
}

/// The alert id as a resource, and the instance the details describe when it is another one
/// (the instance reports of ami, newtag, missingtag and non_chef).
fn resources(alert: &AlertRecord) -> Vec<Value> {
    let region = detail(alert, "awsRegion");
    let mut first = Map::new();
    first.insert("uid".into(), json!(alert.id));
    if let Some(kind) = resource_type(&alert.rule, &alert.id) {
        first.insert("type".into(), json!(kind));
    }
    if let Some(region) = region {
        first.insert("region".into(), json!(region));
    }
    let mut all = vec![Value::Object(first)];
    if let Some(instance) = detail(alert, "instanceId").filter(|i| *i != alert.id) {
        let mut second = Map::new();
        second.insert("uid".into(), json!(instance));
        second.insert("type".into(), json!("AWS::EC2::Instance"));
        if let Some(region) = region {
            second.insert("region".into(), json!(region));
        }
        all.push(Value::Object(second));
    }
    all
}

/// `cloud`: AWS, with the region when the details carry it, and the account: its id when
/// the details carry it, named as the config's `[[account]]` names it when the run covers
/// several.
fn cloud(alert: &AlertRecord) -> Value {
    let mut cloud = Map::new();
    cloud.insert("provider".into(), json!("AWS"));
    if let Some(region) = detail(alert, "awsRegion") {
        cloud.insert("region".into(), json!(region));
    }
    let name = alert.account_name();
    if let Some(uid) = detail(alert, "awsAccount").or(name) {
        cloud.insert(
            "account".into(),
            json!({"uid": uid, "name": name.unwrap_or(uid), "type_id": 10, "type": "AWS Account"}),
        );
    }
    Value::Object(cloud)
}

/// The details whole, and the configured account with its tags when there is one.
fn unmapped(alert: &AlertRecord) -> Value {
    let mut unmapped = json!({"details": alert.details});
    if let Some(account) = &alert.account {
        unmapped["account"] = json!(account);
    }
    unmapped
}

/// A non-empty string field of object details.
fn detail<'a>(alert: &'a AlertRecord, key: &str) -> Option<&'a str> {
    alert
        .details
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
