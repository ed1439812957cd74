//! Tests of the route53changed rule through the SDK harness: the shared hosted-records and
//! instances fixtures, canned pages for the three external names the config leaves (app,
//! chef and shop.example.com), and the state across runs.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::{HOSTED_RECORDS as RECORDS, INSTANCES as MACHINES};

use crate::Route53Changed;
use crate::page::{Matcher, PATTERNS};

const APP: &str = "<html>Welcome to app</html>";
const NO_BUCKET: &str = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
const EXPIRED: &str = "<html>This domain expired on 2017-12-01. Renew it now!</html>";
const H_APP: &str = "092816feda7f43e791f51a960aad2811727e019c9c38a32c447a9698";

fn config() -> Value {
    json!({
        "zone": "example.com.",
        "legit_domains": ["example.com", "github.io", "compute.amazonaws.com"],
        "exception_domains": ["intranet.example.com"],
    })
}

fn chef_page() -> String {
    format!(
        "<html><head>{}</head><body>Chef server</body></html>",
        " ".repeat(600)
    )
}

fn hash(body: &str) -> String {
    Matcher::new().expect("patterns").page(body.as_bytes()).hash
}

/// The harness with the pages of every URL the config leaves.
fn harness(state: Option<Value>) -> Harness<Route53Changed> {
    let h = Harness::<Route53Changed>::new()
        .config(config())
        .data(HOSTED_RECORDS, RECORDS)
        .data(INSTANCES_SELECTED, MACHINES)
        .window(1_514_764_800_000, 1_514_768_400_000)
        .http(
            "http://app.example.com",
            Ok(HttpResponse::new(200).with_body(APP)),
        )
        .http("https://app.example.com", Err(NetError::Timeout))
        .http(
            "http://chef.example.com",
            Ok(HttpResponse::new(200).with_body(chef_page())),
        )
        .http(
            "https://chef.example.com",
            Err(NetError::Transport("connection refused".into())),
        )
        .http(
            "http://shop.example.com",
            Ok(HttpResponse::new(404).with_body(NO_BUCKET)),
        )
        .http(
            "https://shop.example.com",
            Ok(HttpResponse::new(200).with_body(EXPIRED)),
        );
    match state {
        Some(state) => h.state(state),
        None => h,
    }
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

fn app_records() -> Value {
    json!([{"type": "A", "values": ["203.0.113.10"]}, {"type": "A", "values": ["203.0.113.11"]}])
}

fn records(name: &str) -> Value {
    match name {
        "app" => app_records(),
        "chef" => json!([{"type": "A", "values": ["198.51.100.20"]}]),
        _ => {
            json!([{"type": "CNAME", "values": ["shop.example.com.s3-website-us-east-1.amazonaws.com"]}])
        }
    }
}

fn matched(scheme: &str, patterns: &[&str], body: &str, previous: Option<&str>) -> (String, Value) {
    let message = format!(
        "location matches the following regexes: {} (S3 bucket removed or domain expired?)",
        patterns.join(", ")
    );
    let details = json!({
        "message": message,
        "matches": patterns,
        "hash": hash(body),
        "previous_hash": previous,
        "records": records("shop"),
    });
    (format!("{scheme}://shop.example.com"), details)
}

fn first_state() -> Value {
    let page = |hash: String, matches: &[&str]| json!({"hash": hash, "matches": matches});
    json!({"hashes": {
        "http://app.example.com": page(H_APP.into(), &[]),
        "https://app.example.com": page("-".into(), &[]),
        "http://chef.example.com": page(hash(&chef_page()), &[]),
        "https://chef.example.com": page("-".into(), &[]),
        "http://shop.example.com": page(hash(NO_BUCKET), &[PATTERNS[0], PATTERNS[2]]),
        "https://shop.example.com": page(hash(EXPIRED), &[PATTERNS[1]]),
    }})
}

#[test]
fn first_run_reports_the_new_pages_that_look_dangling() {
    let out = harness(None).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            matched("http", &[PATTERNS[0], PATTERNS[2]], NO_BUCKET, None),
            matched("https", &[PATTERNS[1]], EXPIRED, None),
        ]
    );
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn unchanged_pages_are_quiet() {
    let out = harness(Some(first_state())).run().expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn a_changed_dangling_page_alerts_with_the_previous_hash() {
    let mut state = first_state();
    // Changed but harmless: remembered, not reported.
    state["hashes"]["http://app.example.com"]["hash"] = json!("0000");
    // The original's older shape: a bare hash string, equal here, so quiet.
    state["hashes"]["https://app.example.com"] = json!("-");
    state["hashes"]["http://shop.example.com"] = json!("1111");
    let out = harness(Some(state)).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![matched(
            "http",
            &[PATTERNS[0], PATTERNS[2]],
            NO_BUCKET,
            Some("1111")
        )]
    );
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn a_site_that_stops_answering_is_remembered_without_an_alert() {
    let out = harness(Some(first_state()))
        .http("http://app.example.com", Err(NetError::Http(503)))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(
        out.state.expect("state")["hashes"]["http://app.example.com"]["hash"],
        "-"
    );
}

#[test]
fn urls_beyond_the_budget_or_refused_keep_their_entry_and_stay_quiet() {
    let mut state = first_state();
    // http://chef has an old entry, kept as it was; https://chef has none, and gets none.
    state["hashes"]["http://chef.example.com"]["hash"] = json!("0000");
    if let Some(hashes) = state["hashes"].as_object_mut() {
        hashes.remove("https://chef.example.com");
    }
    let expected = state.clone();
    let out = harness(Some(state))
        .http("http://chef.example.com", Err(NetError::LimitExceeded))
        // Refused by the host's policy (chef.example.com resolving to a private address, say).
        .http("https://chef.example.com", Err(NetError::Denied))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(expected));
}

#[test]
fn denied_http_skips_the_check_and_keeps_the_state() {
    let state = json!({"hashes": {"http://old.example.com": "abc"}});
    let out = harness(Some(state.clone()))
        .deny(Capability::Http)
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(state));
}

#[test]
fn names_no_longer_external_leave_the_state() {
    let config = json!({"zone": "example.com.", "legit_domains": ["example.com", "amazonaws.com", "github.io"], "exception_domains": ["intranet.example.com", "app.example.com"]});
    let out = harness(Some(first_state()))
        .config(config)
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    let state = out.state.unwrap_or_default();
    let urls: Vec<&String> = state["hashes"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        urls,
        vec!["http://chef.example.com", "https://chef.example.com"]
    );
}

#[test]
fn bad_config_values_name_the_rule_key_and_value() {
    let err = harness(None)
        .config(json!({"exception_domains": [1]}))
        .run()
        .expect_err("rejected");
    assert_eq!(
        format!("{err:#}"),
        "route53changed: exception_domains[0]: invalid type: integer `1`, expected a string"
    );
    let err = harness(None)
        .config(json!({"legit_domains": ["example.com", "."]}))
        .run()
        .expect_err("rejected");
    assert_eq!(
        format!("{err:#}"),
        r#"route53changed: legit_domains[1]: "." is not a domain name"#
    );
}

#[test]
fn null_values_read_as_the_defaults() {
    let nulls = json!({"zone": null, "legit_domains": null, "exception_domains": null});
    let out = harness(None).config(nulls).run().expect("rule runs");
    let defaults = harness(None).config(json!({})).run().expect("rule runs");
    assert_eq!(out, defaults);
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        let mut config = config();
        config["legit_domain"] = json!(["example.net"]);
        typo = Some(harness(None).config(config).run().expect("rule runs"));
    });
    assert_eq!(typo, Some(harness(None).run().expect("rule runs")));
    // Warnings about the config only: the run logs its own lines too.
    let warned: Vec<&(Level, String)> = logged
        .iter()
        .filter(|(level, line)| *level == Level::Warn && line.contains("config"))
        .collect();
    assert_eq!(
        warned,
        [&(
            Level::Warn,
            r#"route53changed: unknown config key "legit_domain" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn info_declares_queries_capability_and_defaults() {
    let info = Route53Changed::info();
    assert_eq!(info.name, "route53changed");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.capabilities, vec![Capability::Http]);
    assert_eq!(
        info.queries,
        vec![
            Query::current(HOSTED_RECORDS),
            Query::current(INSTANCES_SELECTED)
        ]
    );
    assert_eq!(
        info.default_config,
        json!({"zone": "", "legit_domains": [], "exception_domains": []})
    );
}
