//! The mapping of alerts to findings, field by field, and the severity table. Schema
//! validation of what the binary writes is in the integration tests (py-ocsf-models).

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::outputs::tests::{self as shared, T1, T3, run};

/// The outputs' test alert, by a rule at version 0.2.1.
fn alert(rule: &str, id: &str, details: Value) -> AlertRecord {
    AlertRecord {
        rule_version: "0.2.1".into(),
        ..shared::alert(rule, id, details)
    }
}

#[test]
fn a_secgroups_alert_is_a_detection_finding_about_its_group() {
    let details = json!({"fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"],
        "awsRegion": "eu-west-1", "awsAccount": "123456789012"});
    let a = alert("secgroups", "sg-0a1b (web)", details.clone());
    let f = finding(&a, Severity::High);
    for (key, id) in [
        ("class_uid", 2004),
        ("category_uid", 2),
        ("activity_id", 1),
        ("type_uid", 200_401),
        ("status_id", 1),
        ("severity_id", 4),
    ] {
        assert_eq!(f[key], id, "{key}");
    }
    assert_eq!(f["severity"], "High");
    assert_eq!(f["time"], T3 + 300_000);
    assert_eq!((&f["start_time"], &f["end_time"]), (&json!(T1), &json!(T3)));

    let info = &f["finding_info"];
    assert_eq!(info["uid"], document_id(&a));
    assert_eq!(info["title"], "secgroups: sg-0a1b (web)");
    assert_eq!(info["desc"], details.to_string());
    assert_eq!(info["types"], json!(["reddalert/secgroups"]));
    assert_eq!(info["created_time"], T3 + 300_000);

    let meta = &f["metadata"];
    assert_eq!(meta["version"], OCSF_VERSION);
    assert_eq!(meta["product"]["name"], "reddalert");
    assert_eq!(meta["product"]["vendor_name"], "reddalert");
    assert_eq!(meta["product"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        meta["product"]["feature"],
        json!({"name": "secgroups", "version": "0.2.1"})
    );

    assert_eq!(
        f["resources"],
        json!([{"uid": "sg-0a1b (web)", "type": "AWS::EC2::SecurityGroup", "region": "eu-west-1"}])
    );
    assert_eq!(
        f["cloud"],
        json!({"provider": "AWS", "region": "eu-west-1", "account":
            {"uid": "123456789012", "name": "123456789012", "type_id": 10, "type": "AWS Account"}})
    );
    assert_eq!(f["unmapped"], json!({"details": details}));
}

#[test]
fn an_instance_report_names_the_instance_as_a_second_resource() {
    let report = json!({"instanceId": "i-0a1b2c3d", "awsRegion": "us-east-1"});
    let f = finding(&alert("newtag", "billing", report.clone()), Severity::Low);
    assert_eq!(
        f["resources"],
        json!([
            {"uid": "billing", "region": "us-east-1"},
            {"uid": "i-0a1b2c3d", "type": "AWS::EC2::Instance", "region": "us-east-1"},
        ])
    );
    assert!(
        f["cloud"].get("account").is_none(),
        "no account is invented: {f}"
    );

    let f = finding(&alert("ami", "ami-0123", report), Severity::Low);
    assert_eq!(f["resources"][0]["type"], "AWS::EC2::Image");
    assert_eq!(f["resources"][1]["uid"], "i-0a1b2c3d");

    // missingtag names an instance without a service by its id: one resource, not two.
    let f = finding(
        &alert(
            "missingtag",
            "i-0a1b2c3d",
            json!({"instanceId": "i-0a1b2c3d"}),
        ),
        Severity::Low,
    );
    assert_eq!(f["resources"].as_array().unwrap().len(), 1);
}

#[test]
fn text_details_become_the_description_and_stay_unmapped() {
    let a = alert("s3acl", "logs:2024/01/x.gz", json!("Everyone READ"));
    let f = finding(&a, Severity::High);
    assert_eq!(f["finding_info"]["desc"], "Everyone READ");
    assert_eq!(f["unmapped"]["details"], "Everyone READ");
    assert_eq!(
        f["resources"],
        json!([{"uid": "logs:2024/01/x.gz", "type": "AWS::S3::Object"}])
    );
    assert_eq!(f["cloud"], json!({"provider": "AWS"}));
    let bucket = finding(&alert("s3acl", "logs", json!("x")), Severity::High);
    assert_eq!(bucket["resources"][0]["type"], "AWS::S3::Bucket");
    let other = finding(&alert("my_rule", "x", json!({})), Severity::Medium);
    assert!(other["resources"][0].get("type").is_none(), "{other}");
}

#[test]
fn the_finding_uid_is_stable_and_differs_between_alerts() {
    let a = alert("elbs", "lb", json!({"x": 1}));
    let b = alert("elbs", "lb", json!({"x": 2}));
    assert_eq!(
        finding(&a, Severity::High)["finding_info"]["uid"],
        finding(&a.clone(), Severity::Low)["finding_info"]["uid"]
    );
    assert_ne!(
        finding(&a, Severity::High)["finding_info"]["uid"],
        finding(&b, Severity::High)["finding_info"]["uid"]
    );
}

#[test]
fn every_stock_rule_has_a_default_severity_and_others_are_medium() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let mut stock: Vec<String> = std::fs::read_dir(&rules)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The SDK, the models and the shared helpers are no rules; ami-py is the ami rule in
        // Python.
        .filter(|n| !["sdk", "models", "util", "ami-py"].contains(&n.as_str()))
        .collect();
    stock.sort();
    let mut known: Vec<String> = DEFAULT_SEVERITY
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    known.sort();
    assert_eq!(known, stock);
    assert_eq!(default_severity("secgroups"), Severity::High);
    assert_eq!(default_severity("newtag"), Severity::Informational);
    assert_eq!(default_severity("someone_elses_rule"), Severity::Medium);
}

#[test]
fn the_config_overrides_a_rules_severity() {
    let dir = tempfile::tempdir().unwrap();
    let settings = OcsfSettings {
        path: dir.path().join("findings.ocsf.jsonl"),
        severity: BTreeMap::from([
            ("secgroups".to_owned(), Severity::Critical),
            ("my_rule".to_owned(), Severity::Low),
        ]),
    };
    let mut output = OcsfOutput::new(&settings);
    let alerts = [
        alert("secgroups", "sg-1 (a)", json!({})),
        alert("my_rule", "x", json!({})),
        alert("elbs", "lb", json!({})),
    ];
    assert!(output.send(&alerts, &run()).unwrap().is_empty());
    let text = std::fs::read_to_string(&settings.path).unwrap();
    let severities: Vec<(u64, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|f| {
            (
                f["severity_id"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        severities,
        vec![
            (5, "Critical".to_owned()),
            (2, "Low".to_owned()),
            (4, "High".to_owned())
        ]
    );
}

#[test]
fn a_batch_is_one_line_per_alert_and_an_empty_one_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let settings = OcsfSettings {
        path: dir.path().join("findings.ocsf.jsonl"),
        severity: BTreeMap::new(),
    };
    let mut output = OcsfOutput::new(&settings);
    assert!(output.send(&[], &run()).unwrap().is_empty());
    assert!(!settings.path.exists());
    // A line break in what a rule chose stays inside one JSON line.
    let alerts = [
        alert("iam", "bob\nmallory", json!({"message": "a\u{2028}b"})),
        alert("iam", "eve", json!({})),
    ];
    output.send(&alerts, &run()).unwrap();
    output.send(&alerts[..1], &run()).unwrap();
    let text = std::fs::read_to_string(&settings.path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["finding_info"]["title"], "iam: bob\nmallory");
}

#[test]
fn a_write_that_fails_takes_nothing_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let settings = OcsfSettings {
        path: dir.path().to_owned(),
        severity: BTreeMap::new(),
    };
    let err = OcsfOutput::new(&settings)
        .send(&[alert("iam", "eve", json!({}))], &run())
        .unwrap_err();
    assert!(
        format!("{err:#}").contains(&dir.path().display().to_string()),
        "{err:#}"
    );
}
