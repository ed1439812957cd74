//! Tests of the elbs rule run natively through the SDK harness, on an EDDA answer to
//! `aws/loadBalancers;_expand;…;_updated` (newest first, every bean property, `class` key and
//! null kept): `api-frontend` has three revisions in the window (two identical but for a tag),
//! `web-frontend` listens on 80 and 443 only, `admin-ssh` is internal with SSH open.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json;
use reddalert_rule_sdk::testing::Harness;

use crate::Elbs;

const ELBS: &str = include_str!("../tests/fixtures/load_balancers.json");

fn run(config: Value, body: &str) -> Result<Vec<(String, Value)>> {
    let out = Harness::<Elbs>::new()
        .config(config)
        .data(LOAD_BALANCERS, body)
        .window(1_514_768_400_001, 1_514_779_200_000)
        .run()?;
    assert_eq!(out.state, None, "elbs keeps no state");
    Ok(out.alerts.into_iter().map(|a| (a.id, a.details)).collect())
}

/// The fixture's revision at `index`, as the alert should describe it.
fn alert_for(index: usize, instances: usize) -> (String, Value) {
    let docs: Value = serde_json::from_str(ELBS).expect("fixture is JSON");
    let doc = &docs[index];
    assert_eq!(doc["instances"].as_array().map(Vec::len), Some(instances));
    let details = json!({
        "canonicalHostedZoneName": doc["canonicalHostedZoneName"],
        "numberOfInstances": instances,
        "listenerDescriptions": doc["listenerDescriptions"],
    });
    (
        doc["loadBalancerName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        details,
    )
}

#[test]
fn default_ports_alert_on_other_listeners_once_per_distinct_revision() {
    let alerts = run(json!({}), ELBS).expect("rule runs");
    // Revisions 0 and 1 differ only in tags, so they make one alert; revision 4 had one
    // instance fewer, so it makes its own.
    assert_eq!(
        alerts,
        vec![alert_for(2, 0), alert_for(4, 1), alert_for(1, 2)]
    );
}

#[test]
fn details_echo_the_listeners_as_served() {
    let alerts = run(json!({}), ELBS).expect("rule runs");
    let ssh = json!({
        "canonicalHostedZoneName": null,
        "numberOfInstances": 0,
        "listenerDescriptions": [{
            "class": "com.amazonaws.services.elasticloadbalancing.model.ListenerDescription",
            "listener": {
                "SSLCertificateId": null,
                "class": "com.amazonaws.services.elasticloadbalancing.model.Listener",
                "instancePort": 22,
                "instanceProtocol": "TCP",
                "loadBalancerPort": 22,
                "protocol": "TCP",
            },
            "policyNames": [],
        }],
    });
    assert_eq!(alerts.first(), Some(&("admin-ssh".to_owned(), ssh)));
}

#[test]
fn allowed_ports_silence_their_listeners() {
    let config = json!({"allowed_ports": [22, 80, 443, 8080]});
    assert_eq!(run(config, ELBS).expect("rule runs"), vec![]);
    let only_ssh = json!({"allowed_ports": [22, 80, 8080]});
    assert_eq!(
        run(only_ssh, ELBS).expect("rule runs"),
        vec![alert_for(3, 2)]
    );
}

#[test]
fn empty_allow_list_reports_every_load_balancer() {
    let alerts = run(json!({"allowed_ports": []}), ELBS).expect("rule runs");
    let ids: Vec<&str> = alerts.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["admin-ssh", "api-frontend", "api-frontend", "web-frontend"]
    );
    assert_eq!(alerts[3], alert_for(3, 2));
}

#[test]
fn listener_without_a_port_alerts() {
    let mut docs: Value = serde_json::from_str(ELBS).expect("fixture is JSON");
    docs[3]["listenerDescriptions"][0]["listener"]["loadBalancerPort"] = Value::Null;
    let web = docs[3].clone();
    let alerts = run(json!({}), &json!([web]).to_string()).expect("rule runs");
    let details = json!({
        "canonicalHostedZoneName": web["canonicalHostedZoneName"],
        "numberOfInstances": 2,
        "listenerDescriptions": web["listenerDescriptions"],
    });
    assert_eq!(alerts, vec![("web-frontend".to_owned(), details)]);
}

#[test]
fn no_changed_load_balancers_no_alerts() {
    assert_eq!(run(json!({}), "[]").expect("rule runs"), vec![]);
}

#[test]
fn bad_allowed_ports_fail_with_their_path() {
    let error = |config: Value| format!("{:#}", run(config, ELBS).expect_err("config is rejected"));
    assert_eq!(
        error(json!({"allowed_ports": [80, 65536]})),
        "elbs: allowed_ports[1]: invalid value: integer `65536`, expected u16"
    );
    assert_eq!(
        error(json!({"allowed_ports": [-80]})),
        "elbs: allowed_ports[0]: invalid value: integer `-80`, expected u16"
    );
    assert_eq!(
        error(json!({"allowed_ports": ["443"]})),
        r#"elbs: allowed_ports[0]: invalid type: string "443", expected u16"#
    );
    assert_eq!(
        error(json!({"allowed_ports": 443})),
        "elbs: allowed_ports: invalid type: integer `443`, expected a sequence"
    );
}

#[test]
fn allowed_ports_set_to_null_keep_their_default() {
    assert_eq!(
        run(json!({"allowed_ports": null}), ELBS).expect("rule runs"),
        run(json!({}), ELBS).expect("rule runs")
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        typo = Some(run(json!({"allowed_port": [22]}), ELBS).expect("rule runs"));
    });
    assert_eq!(typo, Some(run(json!({}), ELBS).expect("rule runs")));
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"elbs: unknown config key "allowed_port" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn info_declares_the_original_query_and_defaults() {
    let info = Elbs::info();
    assert_eq!(info.name, "elbs");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.queries, vec![Query::updated(LOAD_BALANCERS)]);
    assert_eq!(info.capabilities, vec![]);
    assert_eq!(info.default_config, json!({"allowed_ports": [80, 443]}));
}
