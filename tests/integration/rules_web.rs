//! The rules that fetch our own web names (security_headers, route53changed, sso_unprotected)
//! end to end: Route 53 records from the fake EDDA point at a scripted web site on loopback,
//! the host fetches through the granted `http` capability, and state stops repeats. Without a
//! grant nothing is fetched at all.

use serde_json::{Value, json};

use reddalert_testkit::edda::{Revision, Store};
use reddalert_testkit::guests;
use reddalert_testkit::web::{Page, WebServer};

use crate::support::*;

const GRANT: &str = "allow_private = true\nhttp = true\n";

/// An account whose only web name is the loopback site (its A record points at an IP that is
/// no instance's, so the name counts as external, as a dangling record would).
fn account(site: &WebServer) -> reddalert_testkit::edda::FakeEdda {
    let name = format!("127.0.0.1:{}.", site.port());
    let record = json!({
        "TTL": 300, "aliasTarget": null, "class": "com.amazonaws.services.route53.model.ResourceRecordSet",
        "failover": null, "geoLocation": null, "healthCheckId": null, "multiValueAnswer": null,
        "name": name, "region": null,
        "resourceRecords": [{"class": "com.amazonaws.services.route53.model.ResourceRecord", "value": "203.0.113.9"}],
        "setIdentifier": null, "trafficPolicyInstanceId": null, "type": "A", "weight": null,
        "zone": {"id": "/hostedzone/Z1D633PJN98FT9", "name": "example.com."}
    });
    let mut store = Store::new();
    store.insert(
        "aws.hostedRecords",
        Revision {
            id: name,
            stime: T0 as i64,
            ltime: None,
            ctime: None,
            data: record,
        },
    );
    let edda = basic_edda();
    edda.set_store(store);
    edda
}

fn env_for(edda: &reddalert_testkit::edda::FakeEdda, module: &str, rule: &str, grant: bool) -> Env {
    let extra = if grant {
        format!("[grant.{rule}]\n{GRANT}")
    } else {
        String::new()
    };
    Env::new(&edda.base_url(), &[module], &extra)
}

fn run(env: &Env) -> Run {
    let run = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

#[test]
fn security_headers_reports_a_page_without_x_frame_options_once() {
    let site = WebServer::start(vec![("/", Page::ok("<html>hello</html>"))]);
    let edda = account(&site);
    let env = env_for(&edda, guests::SECURITY_HEADERS, "security_headers", true);
    let first = run(&env);
    let url = format!("http://127.0.0.1:{}", site.port());
    let ids: Vec<Value> = first.alerts().iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, vec![json!(url)], "{}", first.stdout);
    assert_eq!(
        site.requests().len(),
        1,
        "one HTTP request (the https URL fails its handshake)"
    );

    let second = run(&env);
    assert!(second.alerts().is_empty(), "{}", second.stdout);
    assert_eq!(
        site.requests().len(),
        1,
        "an already checked URL is not fetched again"
    );
}

#[test]
fn route53changed_reports_a_dangling_bucket_page_until_it_changes() {
    let body = "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
    let site = WebServer::start(vec![("/", Page::status(404, body))]);
    let edda = account(&site);
    let env = env_for(&edda, guests::ROUTE53CHANGED, "route53changed", true);
    let first = run(&env);
    let url = format!("http://127.0.0.1:{}", site.port());
    let alerts = first.alerts();
    assert_eq!(alerts.len(), 1, "{}", first.stdout);
    assert_eq!(alerts[0]["id"], url);
    assert!(
        alerts[0]["details"].to_string().contains("NoSuchBucket"),
        "{}",
        alerts[0]
    );
    assert!(env.status_json()["rules"]["route53changed"]["state"]["hashes"][&url].is_object());

    let second = run(&env);
    assert!(
        second.alerts().is_empty(),
        "the page did not change: {}",
        second.stdout
    );
}

#[test]
fn sso_unprotected_reports_a_redirect_that_leaves_our_domain() {
    let site = WebServer::start(vec![(
        "/",
        Page::redirect("http://login.evil.example.net/"),
    )]);
    let edda = account(&site);
    let env = env_for(&edda, guests::SSO_UNPROTECTED, "sso_unprotected", true);
    let first = run(&env);
    let url = format!("http://127.0.0.1:{}", site.port());
    let alerts = first.alerts();
    assert_eq!(alerts.len(), 1, "{}", first.stdout);
    assert_eq!(alerts[0]["id"], url);
    assert!(
        alerts[0]["details"]
            .to_string()
            .contains("login.evil.example.net"),
        "{}",
        alerts[0]
    );
    assert_eq!(
        site.requests().len(),
        1,
        "one plain-HTTP request, the redirect not followed"
    );

    let second = run(&env);
    assert!(
        second.alerts().is_empty(),
        "same redirect as last run: {}",
        second.stdout
    );
}

#[test]
fn without_a_grant_nothing_is_fetched_and_nothing_alerts() {
    let site = WebServer::start(vec![("/", Page::ok("no header here"))]);
    let edda = account(&site);
    for (module, rule) in [
        (guests::SECURITY_HEADERS, "security_headers"),
        (guests::ROUTE53CHANGED, "route53changed"),
        (guests::SSO_UNPROTECTED, "sso_unprotected"),
    ] {
        let env = env_for(&edda, module, rule, false);
        let run = run(&env);
        assert!(run.alerts().is_empty(), "{rule}: {}", run.stdout);
        assert!(
            run.stderr.contains("not granted") || run.stderr.contains("denied"),
            "{rule}: {}",
            run.stderr
        );
    }
    assert_eq!(site.accepted(), 0, "no connection was made");
}
