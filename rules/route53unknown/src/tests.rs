//! Tests of the route53unknown rule through the SDK harness, over the shared hosted-records
//! and instances fixtures (EDDA beans) and canned Chef search rows.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::{HOSTED_RECORDS as RECORDS, INSTANCES as MACHINES};

use crate::Route53Unknown;

/// Two Chef nodes: a server outside any cloud with 198.51.100.20 on `eth0`, and a GCE node
/// whose public IP is app.example.com's green address.
fn chef_rows() -> Value {
    json!([
        {
            "cloud": null,
            "interfaces": {
                "eth0": {"addresses": {
                    "198.51.100.20": {"family": "inet", "netmask": "255.255.255.0"},
                    "0A:1B:2C:3D:4E:5F": {"family": "lladdr"},
                }},
                "lo": {"addresses": {"127.0.0.1": {"family": "inet"}}},
            },
        },
        {
            "cloud": {"provider": "gce", "public_ipv4": "203.0.113.11", "public_ips": ["203.0.113.11"]},
            "interfaces": null,
        },
    ])
}

fn harness(config: Value, state: Option<Value>) -> Harness<Route53Unknown> {
    let h = Harness::<Route53Unknown>::new()
        .config(config)
        .data(HOSTED_RECORDS, RECORDS)
        .data(INSTANCES_SELECTED, MACHINES)
        .window(1_514_764_800_000, 1_514_768_400_000);
    match state {
        Some(state) => h.state(state),
        None => h,
    }
}

fn run(config: Value, state: Option<Value>) -> Output {
    harness(config, state)
        .chef("*:*", Ok(chef_rows()))
        .run()
        .expect("rule runs")
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

fn alert(name: &str, value: &str) -> (String, Value) {
    (name.to_owned(), json!(value))
}

const OLD: &str = "ec2-198-51-100-7.eu-west-1.compute.amazonaws.com";
const SHOP: &str = "shop.example.com.s3-website-us-east-1.amazonaws.com";

fn first_run_known() -> Value {
    json!({"known": [
        "app.example.com.-203.0.113.10",
        "docs.example.com.-example.github.io",
        format!("old.example.com.-{OLD}"),
        format!("shop.example.com.-{SHOP}"),
        "www.example.org.-203.0.113.99",
    ]})
}

#[test]
fn unknown_values_alert_once_each_in_order() {
    // Not alerted: www (an instance's IP), app's green address and chef (Chef nodes' IPs),
    // intranet (private), legacy (EC2 name of an instance), mail and the wildcard (legit),
    // api (an alias), the apex MX and TXT records.
    let out = run(json!({"legit_domains": ["example.com"]}), None);
    assert_eq!(
        pairs(&out),
        vec![
            alert("app.example.com.", "203.0.113.10"),
            alert("docs.example.com.", "example.github.io"),
            alert("old.example.com.", OLD),
            alert("shop.example.com.", SHOP),
            alert("www.example.org.", "203.0.113.99"),
        ]
    );
    assert_eq!(out.state, Some(first_run_known()));
}

#[test]
fn known_pairs_do_not_alert_again_and_vanished_ones_are_forgotten() {
    let mut state = first_run_known();
    state["known"][0] = json!("gone.example.com.-192.0.2.1");
    let out = run(json!({"legit_domains": ["example.com"]}), Some(state));
    assert_eq!(pairs(&out), vec![alert("app.example.com.", "203.0.113.10")]);
    assert_eq!(out.state, Some(first_run_known()));
}

#[test]
fn without_legit_domains_names_inside_the_zone_alert_too() {
    let out = run(json!({"zone": "example.com."}), None);
    let ids: Vec<String> = out.alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(
        ids,
        vec![
            "\\052.example.com.",
            "app.example.com.",
            "docs.example.com.",
            "mail.example.com.",
            "old.example.com.",
            "shop.example.com.",
        ]
    );
}

#[test]
fn zone_limits_the_records_read() {
    let out = run(json!({"zone": "example.org"}), None);
    assert_eq!(pairs(&out), vec![alert("www.example.org.", "203.0.113.99")]);
}

#[test]
fn legit_cloud_domains_silence_their_names() {
    let config = json!({"legit_domains": ["example.com", "amazonaws.com", "github.io"]});
    let out = run(config, None);
    let ids: Vec<String> = out.alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, vec!["app.example.com.", "www.example.org."]);
}

#[test]
fn without_chef_the_chef_hosts_alert() {
    let out = harness(json!({"legit_domains": ["example.com"]}), None)
        .chef("*:*", Ok(json!([])))
        .run()
        .expect("rule runs");
    let pairs = pairs(&out);
    assert!(pairs.contains(&alert("chef.example.com.", "198.51.100.20")));
    assert!(pairs.contains(&alert("app.example.com.", "203.0.113.11")));
    assert_eq!(pairs.len(), 7);
}

#[test]
fn denied_chef_skips_the_check_and_keeps_the_state() {
    let state = json!({"known": ["app.example.com.-203.0.113.10"]});
    let out = harness(json!({}), Some(state.clone()))
        .deny(Capability::Chef)
        .run()
        .expect("rule runs");
    assert_eq!(out.alerts, vec![]);
    assert_eq!(out.state, Some(state));
}

#[test]
fn failed_chef_search_fails_the_rule() {
    let err = harness(json!({}), None)
        .chef("*:*", Err(NetError::Timeout))
        .run()
        .expect_err("fails");
    assert_eq!(
        format!("{err:#}"),
        "route53unknown: the Chef node search failed: timed out"
    );
}

#[test]
fn bad_config_values_name_the_rule_and_their_path() {
    let err = |config: Value| format!("{:#}", harness(config, None).run().expect_err("rejected"));
    assert_eq!(
        err(json!({"legit_domains": "example.com"})),
        r#"route53unknown: legit_domains: invalid type: string "example.com", expected a sequence"#
    );
    assert_eq!(
        err(json!({"zone": ["example.com."]})),
        "route53unknown: zone: invalid type: sequence, expected a string"
    );
    assert_eq!(
        err(json!({"legit_domains": ["example.com", 5]})),
        "route53unknown: legit_domains[1]: invalid type: integer `5`, expected a string"
    );
    // An empty domain would make every name legit.
    assert_eq!(
        err(json!({"legit_domains": ["example.com", "."]})),
        r#"route53unknown: legit_domains[1]: "." is not a domain name"#
    );
}

#[test]
fn null_values_read_as_their_default() {
    let out = run(json!({"zone": null, "legit_domains": null}), None);
    assert_eq!(pairs(&out), pairs(&run(json!({}), None)));
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        typo = Some(run(json!({"legit_domain": ["example.com"]}), None));
    });
    assert_eq!(
        typo.map(|out| pairs(&out)),
        Some(pairs(&run(json!({}), None)))
    );
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"route53unknown: unknown config key "legit_domain" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn the_original_chef_settings_are_accepted_and_ignored() {
    let config = json!({
        "legit_domains": ["example.com"],
        "chef_server_url": "https://chef.example.com/organizations/ops",
        "client_key_file": "/etc/chef/client.pem",
        "client_name": "reddalert",
    });
    assert_eq!(
        pairs(&run(config, None)),
        pairs(&run(json!({"legit_domains": ["example.com"]}), None))
    );
}

#[test]
fn info_declares_queries_capability_and_defaults() {
    let info = Route53Unknown::info();
    assert_eq!(info.name, "route53unknown");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(
        info.queries,
        vec![
            Query::current(HOSTED_RECORDS),
            Query::current(INSTANCES_SELECTED)
        ]
    );
    assert_eq!(info.capabilities, vec![Capability::Chef]);
    assert_eq!(
        info.default_config,
        json!({"zone": "", "legit_domains": []})
    );
}
