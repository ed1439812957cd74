//! Renderings pinned with insta snapshots (timestamps redacted), and the delivery bookkeeping
//! with outputs that fail on purpose.

use serde_json::json;

use super::*;
use crate::alert::{AccountTag, PendingAlert};
use crate::config::{StdoutFormat, index_name};
use crate::contract::Window;
use crate::outputs::digest::subject;

pub(super) const T1: u64 = 1_514_768_400_000;
pub(super) const T3: u64 = 1_514_775_600_000;

/// An alert of `rule` raised over [T1, T3] (the OCSF tests share it).
pub(super) fn alert(rule: &str, id: &str, details: serde_json::Value) -> AlertRecord {
    AlertRecord {
        rule: rule.into(),
        id: id.into(),
        details,
        rule_version: "0.1.0".into(),
        window: Window {
            since_ms: T1,
            until_ms: T3,
        },
        raised_ms: T3 + 300_000,
        account: None,
    }
}

pub(super) fn run() -> RunInfo {
    RunInfo {
        window: Window {
            since_ms: T1,
            until_ms: T3,
        },
        started_ms: T3 + 300_000,
    }
}

fn sample() -> Vec<AlertRecord> {
    let mut waited = alert(
        "elbs",
        "public-lb",
        json!({"listenerDescriptions": [{"loadBalancerPort": 8080}]}),
    );
    waited.raised_ms = T1 - 3_600_000;
    vec![
        alert(
            "secgroups",
            "sg-0a1b2c3d (web)",
            json!({"fromPort": 0, "toPort": 65535, "ipRanges": ["0.0.0.0/0"]}),
        ),
        alert(
            "iam",
            "mallory",
            json!("Groups the user has been added to: <admins> & \"ops\""),
        ),
        alert(
            "secgroups",
            "sg-0a1b2c3d (web)",
            json!({"fromPort": 22, "toPort": 22, "ipRanges": ["198.51.100.0/24"]}),
        ),
        waited,
    ]
}

/// ISO timestamps become `[time]`.
macro_rules! redacted {
    ($body:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
        ]}, { $body });
    };
}

#[test]
fn digest_subject_says_how_many_of_which_rules() {
    let alerts = sample();
    assert_eq!(
        subject("[reddalert] Report", true, &alerts),
        "[reddalert] Report: 4 alerts: elbs (1), iam (1), secgroups (2)"
    );
    assert_eq!(
        subject("[reddalert] Report", false, &alerts),
        "[reddalert] Report"
    );
    assert_eq!(subject("[x]", true, &[]), "[x]: no alerts");
}

#[test]
fn digest_text_snapshot() {
    redacted!(insta::assert_snapshot!(render_text(&sample(), &run())));
}

#[test]
fn digest_html_snapshot() {
    let html = render_html(&sample(), &run());
    assert!(
        html.contains("&lt;admins&gt; &amp; &quot;ops&quot;"),
        "{html}"
    );
    assert!(!html.contains("<admins>"));
    redacted!(insta::assert_snapshot!(html));
}

#[test]
fn bulk_ndjson_snapshot() {
    let alerts = sample();
    let refs: Vec<&AlertRecord> = alerts.iter().collect();
    let body = bulk_body(&refs, "reddalert-%Y.%m").unwrap();
    assert!(body.ends_with('\n'));
    assert_eq!(body.lines().count(), 8);
    redacted!(insta::assert_snapshot!(body));
}

#[test]
fn document_ids_are_stable_and_tell_details_apart() {
    let alerts = sample();
    assert_eq!(document_id(&alerts[0]), document_id(&alerts[0].clone()));
    assert_ne!(
        document_id(&alerts[0]),
        document_id(&alerts[2]),
        "same id, other permission"
    );
    let mut other_window = alerts[0].clone();
    other_window.window.since_ms += 1;
    assert_ne!(document_id(&alerts[0]), document_id(&other_window));
    let reordered = alert(
        "secgroups",
        "sg-0a1b2c3d (web)",
        serde_json::from_str(r#"{"toPort": 65535, "ipRanges": ["0.0.0.0/0"], "fromPort": 0}"#)
            .unwrap(),
    );
    assert_eq!(document_id(&alerts[0]), document_id(&reordered));
}

#[test]
fn index_patterns_take_the_alert_date() {
    assert_eq!(index_name("reddalert", T1).unwrap(), "reddalert");
    assert_eq!(
        index_name("reddalert-%Y.%m.%d", T1).unwrap(),
        "reddalert-2018.01.01"
    );
    assert!(index_name("Reddalert", T1).is_err());
    assert!(index_name("_x", T1).is_err());
}

/// An output that refuses what a test tells it to, and records what it was given.
struct Flaky {
    name: &'static str,
    fail: bool,
    refuse: Vec<usize>,
    seen: Vec<Vec<String>>,
}

impl Output for Flaky {
    fn name(&self) -> &'static str {
        self.name
    }

    fn send(&mut self, alerts: &[AlertRecord], _run: &RunInfo) -> Result<Rejected> {
        self.seen
            .push(alerts.iter().map(|a| a.id.clone()).collect());
        if self.fail {
            anyhow::bail!("connection refused");
        }
        Ok(self.refuse.iter().map(|&i| (i, "429".to_owned())).collect())
    }
}

fn flaky(name: &'static str, fail: bool, refuse: Vec<usize>) -> Flaky {
    Flaky {
        name,
        fail,
        refuse,
        seen: Vec::new(),
    }
}

#[test]
fn undelivered_alerts_wait_for_the_outputs_that_missed_them_only() {
    let alerts = sample();
    let mut outputs: Vec<Box<dyn Output>> = vec![
        Box::new(flaky("mail", true, vec![])),
        Box::new(flaky("elasticsearch", false, vec![1])),
        Box::new(flaky("jsonl", false, vec![])),
    ];
    let (waiting, report) = deliver(
        &mut outputs,
        owed(alerts, &["mail", "elasticsearch", "jsonl"]),
        &run(),
    );
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert_eq!(report.waiting, 4);
    assert_eq!(waiting[0].outputs, vec!["mail"]);
    assert_eq!(waiting[1].outputs, vec!["mail", "elasticsearch"]);
    assert!(waiting.iter().all(|w| w.attempts == 1));

    // Next run: everything works; the waiting alerts go first, each only where it was owed.
    let next_run = RunInfo {
        started_ms: run().started_ms + 3_600_000,
        ..run()
    };
    let mut fresh = alert("ami", "ami-1", json!({}));
    fresh.raised_ms = next_run.started_ms;
    let mut entries = waiting;
    entries.extend(owed(vec![fresh], &["mail", "elasticsearch", "jsonl"]));
    let mut mail = flaky("mail", false, vec![]);
    let mut es = flaky("elasticsearch", false, vec![]);
    let mut jsonl = flaky("jsonl", false, vec![]);
    {
        let mut outputs: Vec<Box<dyn Output + '_>> = vec![
            Box::new(Borrowed(&mut mail)),
            Box::new(Borrowed(&mut es)),
            Box::new(Borrowed(&mut jsonl)),
        ];
        let (waiting, report) = deliver(&mut outputs, entries, &next_run);
        assert!(waiting.is_empty() && report.failures.is_empty());
        assert_eq!(report.redelivered, 4);
    }
    let ids = |f: &Flaky| f.seen[0].clone();
    assert_eq!(
        ids(&mail),
        vec![
            "sg-0a1b2c3d (web)",
            "mallory",
            "sg-0a1b2c3d (web)",
            "public-lb",
            "ami-1"
        ]
    );
    assert_eq!(ids(&es), vec!["mallory", "ami-1"]);
    assert_eq!(ids(&jsonl), vec!["ami-1"]);
}

fn owed(alerts: Vec<AlertRecord>, outputs: &[&str]) -> Vec<PendingAlert> {
    let outputs: Vec<String> = outputs.iter().map(|o| o.to_string()).collect();
    alerts
        .into_iter()
        .map(|a| PendingAlert::owed(a, &outputs))
        .collect()
}

/// Lends an output to `deliver` so the test can look at it afterwards.
struct Borrowed<'a>(&'a mut Flaky);

impl Output for Borrowed<'_> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn send(&mut self, alerts: &[AlertRecord], run: &RunInfo) -> Result<Rejected> {
        self.0.send(alerts, run)
    }
}

#[test]
fn http_helpers_encode_basic_auth_and_bound_the_backoff() {
    assert_eq!(http::basic_auth("user", "pass"), "Basic dXNlcjpwYXNz");
    let retry = crate::config::Retry {
        retries: 30,
        backoff: std::time::Duration::from_millis(500),
    };
    assert_eq!(http::pause(&retry, 1).as_millis(), 500);
    assert_eq!(http::pause(&retry, 3).as_millis(), 2000);
    assert_eq!(http::pause(&retry, 30).as_secs(), 60, "capped");
    assert!(http::retryable(429) && http::retryable(503) && !http::retryable(400));
}

#[test]
fn text_formats_escape_what_could_forge_a_line_and_json_escapes_separators() {
    let forged = "a\nRule: x\r\u{1b}[31m\u{0}\u{b}\u{c}\u{7f}\u{85}\u{2028}\u{2029}\tb";
    let bad = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    let escaped = escape_text(forged);
    assert!(!escaped.chars().any(bad), "{escaped:?}");
    assert_eq!(
        escaped,
        "a\\nRule: x\\r\\u{1b}[31m\\u{0}\\u{b}\\u{c}\\u{7f}\\u{85}\\u{2028}\\u{2029}\\tb"
    );
    assert!(matches!(
        escape_text("plain"),
        std::borrow::Cow::Borrowed("plain")
    ));

    let line = json_line(&json!({"id": forged}));
    assert!(!line.chars().any(bad), "{line:?}");
    let back: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(back["id"], forged, "the same text once parsed");

    // The mail's text part: one Subject line per alert, whatever the alert says.
    let text = render_text(&[alert("iam", forged, json!(forged))], &run());
    assert_eq!(
        text.lines().filter(|l| l.starts_with("Subject: ")).count(),
        1,
        "{text}"
    );
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn an_alerts_account_is_in_its_id_and_in_every_format() {
    let plain = alert("elbs", "public-lb", json!("port 8080"));
    let in_account = |name: &str| AlertRecord {
        account: Some(AccountTag {
            name: name.into(),
            tags: [("env".to_owned(), "prod".to_owned())].into(),
        }),
        ..plain.clone()
    };
    let (prod, staging) = (in_account("prod"), in_account("staging"));
    let ids = [&plain, &prod, &staging].map(document_id);
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    assert_eq!(
        render_stdout(StdoutFormat::Blocks, &prod),
        "Rule: elbs\nAccount: prod\nSubject: public-lb\nAlert: port 8080\n\n"
    );
    assert_eq!(
        render_stdout(StdoutFormat::Tabsep, &prod),
        "prod\telbs\tpublic-lb\tport 8080\n"
    );
    let line: serde_json::Value =
        serde_json::from_str(&render_stdout(StdoutFormat::Json, &prod)).unwrap();
    assert_eq!(
        line["account"],
        json!({"name": "prod", "tags": {"env": "prod"}})
    );
    assert_eq!(document(&prod)["account"]["name"], "prod");
    assert!(document(&plain).get("account").is_none());
    let plain_line: serde_json::Value =
        serde_json::from_str(&render_stdout(StdoutFormat::Json, &plain)).unwrap();
    assert!(plain_line.get("account").is_none(), "{plain_line}");

    let text = render_text(std::slice::from_ref(&prod), &run());
    assert!(
        text.contains("\nAccount: prod\nSubject: public-lb\n"),
        "{text}"
    );
    let html = render_html(std::slice::from_ref(&prod), &run());
    assert!(html.contains("[prod] public-lb"), "{html}");

    // A waiting alert keeps its account through the status file.
    let saved = serde_json::to_string(&prod).unwrap();
    assert_eq!(serde_json::from_str::<AlertRecord>(&saved).unwrap(), prod);
}
