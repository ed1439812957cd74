//! Tests of the security_headers rule through the SDK harness: the shared hosted-records and
//! instances fixtures and canned responses for the three external names the config leaves
//! (app, chef and shop.example.com).

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::{HOSTED_RECORDS as RECORDS, INSTANCES as MACHINES};

use crate::SecurityHeaders;

fn config() -> Value {
    json!({
        "zone": "example.com.",
        "legit_domains": ["example.com", "github.io", "compute.amazonaws.com"],
        "exception_domains": ["intranet.example.com"],
    })
}

fn page(status: u16, frame_options: Option<&str>) -> Result<HttpResponse, NetError> {
    let response = HttpResponse::new(status).with_body("<html></html>");
    Ok(match frame_options {
        Some(value) => response.with_header("X-FRAME-OPTIONS", value),
        None => response,
    })
}

/// app: a bare page over http, a framed one over https; chef: a 201 with an empty header,
/// then a redirect; shop: a 404 without the header, then no answer.
fn harness(state: Option<Value>) -> Harness<SecurityHeaders> {
    let h = Harness::<SecurityHeaders>::new()
        .config(config())
        .data(HOSTED_RECORDS, RECORDS)
        .data(INSTANCES_SELECTED, MACHINES)
        .window(1_514_764_800_000, 1_514_768_400_000)
        .http("http://app.example.com", page(200, None))
        .http("https://app.example.com", page(200, Some("SAMEORIGIN")))
        .http("http://chef.example.com", page(201, Some(" ")))
        .http(
            "https://chef.example.com",
            Ok(HttpResponse::new(302).with_header("Location", "https://sso.example.net/")),
        )
        .http("http://shop.example.com", page(404, None))
        .http("https://shop.example.com", Err(NetError::Timeout));
    match state {
        Some(state) => h.state(state),
        None => h,
    }
}

fn alert(url: &str) -> (String, Value) {
    let message = format!("This webpage ({url}) does not have X-Frame-Options header");
    (url.to_owned(), json!(message))
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

#[test]
fn successful_pages_without_the_header_alert() {
    let out = harness(None).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            alert("http://app.example.com"),
            alert("http://chef.example.com")
        ]
    );
    assert_eq!(
        out.state,
        Some(json!({"already_checked": ["http://app.example.com", "http://chef.example.com"]}))
    );
}

#[test]
fn each_url_alerts_once_and_is_not_fetched_again() {
    let state = json!({"already_checked": ["http://app.example.com", "http://chef.example.com"]});
    // The two checked pages still lack the header: they are not fetched, and do not alert.
    let out = harness(Some(state.clone()))
        .http("https://app.example.com", page(200, Some("DENY")))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(state));
}

#[test]
fn a_header_that_disappears_alerts() {
    let state = json!({"already_checked": ["http://app.example.com", "http://chef.example.com"]});
    let out = harness(Some(state))
        .http("https://app.example.com", page(204, None))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![alert("https://app.example.com")]);
    assert_eq!(
        out.state,
        Some(json!({"already_checked": [
            "http://app.example.com", "http://chef.example.com", "https://app.example.com",
        ]}))
    );
}

#[test]
fn denied_http_skips_the_check_and_keeps_the_state() {
    let state = json!({"already_checked": ["http://old.example.com"]});
    let out = harness(Some(state.clone()))
        .deny(Capability::Http)
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(state));
}

#[test]
fn bad_config_values_name_the_rule_key_and_value() {
    let err = harness(None)
        .config(json!({"legit_domains": ["example.com", "."]}))
        .run()
        .expect_err("rejected");
    assert_eq!(
        format!("{err:#}"),
        r#"security_headers: legit_domains[1]: "." is not a domain name"#
    );
    let err = harness(None)
        .config(json!({"zone": ["example.com."]}))
        .run()
        .expect_err("rejected");
    assert_eq!(
        format!("{err:#}"),
        "security_headers: zone: invalid type: sequence, expected a string"
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
        config["exception_domain"] = json!(["app.example.com"]);
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
            r#"security_headers: unknown config key "exception_domain" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn info_declares_queries_capability_and_defaults() {
    let info = SecurityHeaders::info();
    assert_eq!(info.name, "security_headers");
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
