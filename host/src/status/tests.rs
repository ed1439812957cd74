use std::time::Duration;

use super::*;

#[test]
fn round_trips_atomically_and_pretty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    let mut status = Status::load(&path).unwrap();
    assert_eq!(status, Status::new());
    status.since = Some(42);
    status.rules.insert(
        "ami".into(),
        RuleStatus {
            state: Some(serde_json::json!({"first_seen": {}})),
            ..Default::default()
        },
    );
    status.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\n  \"reddalert_status\": 3"), "{text}");
    assert_eq!(Status::load(&path).unwrap(), status);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["status.json", "status.json.reserve"],
        "no temporary file is left behind, and a reserve is kept"
    );
    let reserve = std::fs::metadata(reserve::path(&path)).unwrap().len();
    assert_eq!(reserve, text.len() as u64 + reserve::HEADROOM);
}

#[test]
fn reads_an_original_status_file() {
    let text = r#"{"since": 1382092709000, "plugin.ami": {"first_seen": {"ami-deadbeef": 1382092709000}}, "plugin.secgroups": {}}"#;
    let status = Status::parse(text).unwrap();
    assert_eq!(status.since, Some(1382092709000));
    assert_eq!(
        status.rules["ami"].state,
        Some(serde_json::json!({"first_seen": {"ami-deadbeef": 1382092709000u64}}))
    );
    assert!(status.rules.contains_key("secgroups"));
}

#[test]
fn a_corrupt_file_names_file_and_line_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    std::fs::write(&path, "{\n  \"reddalert_status\": 1,\n  \"rules\": {,\n}").unwrap();
    let err = format!("{:#}", Status::load(&path).unwrap_err());
    assert!(
        err.contains("status.json") && err.contains("line 3"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"reddalert_status\": 1,\n  \"rules\": {,\n}"
    );
}

#[test]
fn unknown_keys_and_formats_are_errors() {
    assert!(Status::parse(r#"{"sinse": 1}"#).is_err());
    assert!(Status::parse(r#"{"reddalert_status": 4}"#).is_err());
    assert!(Status::parse(r#"{"reddalert_status": 1, "extra": 1}"#).is_err());
}

#[test]
fn a_second_lock_waits_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    let held = StatusLock::acquire(&path, Duration::from_millis(0)).unwrap();
    let err = StatusLock::acquire(&path, Duration::from_millis(200))
        .unwrap_err()
        .to_string();
    assert!(err.contains("locked by another reddalert run"), "{err}");
    drop(held);
    StatusLock::acquire(&path, Duration::from_millis(0)).unwrap();
}

#[test]
fn format_1_files_are_read_and_pending_alerts_round_trip() {
    let status = Status::parse(r#"{"reddalert_status": 1, "since": 5}"#).unwrap();
    assert_eq!(status.reddalert_status, 3);
    assert_eq!(
        status.since_of("ami"),
        5,
        "a rule starts at the run-wide since"
    );
    assert!(status.pending.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.json");
    let mut status = Status::new();
    status.pending.push(crate::alert::PendingAlert {
        alert: crate::alert::AlertRecord {
            rule: "iam".into(),
            id: "alice".into(),
            details: serde_json::json!("Groups the user has been added to: admins"),
            rule_version: "0.1.0".into(),
            window: crate::contract::Window {
                since_ms: 1,
                until_ms: 2,
            },
            raised_ms: 3,
            account: None,
        },
        outputs: vec!["mail".into()],
        attempts: 1,
        last_error: Some("mail: connection refused".into()),
    });
    status.save(&path).unwrap();
    assert_eq!(Status::load(&path).unwrap(), status);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"pending\""), "{text}");
}

#[test]
fn an_original_since_may_be_a_string() {
    for (since, ms) in [
        (r#""1514772000000""#, 1_514_772_000_000u64),
        ("1514772000000", 1_514_772_000_000),
        (r#""2018-01-01 02:00:00""#, 1_514_772_000_000),
    ] {
        let status = Status::parse(&format!(r#"{{"since": {since}}}"#)).unwrap();
        assert_eq!(status.since, Some(ms), "{since}");
    }
    assert!(Status::parse(r#"{"since": "yesterday"}"#).is_err());
}

#[test]
fn a_rule_starts_where_its_own_window_ended() {
    let mut status = Status::parse(r#"{"reddalert_status": 3, "since": 50}"#).unwrap();
    status.rules.insert(
        "elbs".into(),
        RuleStatus {
            since: Some(20),
            ..RuleStatus::default()
        },
    );
    assert_eq!(status.since_of("elbs"), 20);
    assert_eq!(status.since_of("secgroups"), 50);
    assert_eq!(Status::new().since_of("x"), 0);
}
