//! Tests of the non_chef rule through the SDK harness: instances cloned from one full EDDA
//! bean, the report's load balancer and security group fixtures, and canned Chef rows.

mod data;

use reddalert_rule_sdk::chef::NODE_IPADDRESS;
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::{LOAD_BALANCERS as ELBS, SECURITY_GROUPS as GROUPS};

use crate::NonChef;
use data::{HOUR, IN_WINDOW, SINCE, UNTIL, chef_rows, machines, node_fields, report};

fn harness(config: Value, state: Option<Value>, instances: Value) -> Harness<NonChef> {
    let h = Harness::<NonChef>::new()
        .config(config)
        .data_json(INSTANCES_SELECTED, instances)
        .data(LOAD_BALANCERS_SELECTED, ELBS)
        .data(SECURITY_GROUPS_SELECTED, GROUPS)
        .window(SINCE, UNTIL);
    match state {
        Some(state) => h.state(state),
        None => h,
    }
}

fn run(config: Value, state: Option<Value>) -> Output {
    harness(config, state, machines())
        .chef("*:*", Ok(chef_rows()))
        .run()
        .expect("rule runs")
}

fn unmanaged() -> (String, Value) {
    let tags = json!({"service_name": "web"});
    let details = report("i-0000000000000000a", "54.12.34.60", IN_WINDOW, tags, "web");
    ("ops-web".into(), details)
}

fn managed_events() -> Vec<(String, Value)> {
    let tags = json!({"service_name": "api", "Name": "jenkins-api"});
    let mut api = report(
        "i-0000000000000000j",
        "54.12.34.65",
        SINCE - 50 * HOUR,
        tags,
        "api",
    );
    node_fields(&mut api, "api-1");
    let outside = |name: &str, ip: &str| {
        let mut details = json!({"publicIpAddress": ip});
        node_fields(&mut details, name);
        (name.to_owned(), details)
    };
    vec![
        ("ops-api".into(), api),
        outside("colo-1", "198.51.100.20"),
        outside("gce-1", "203.0.113.11"),
    ]
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

const CONFIG: fn() -> Value = || json!({"excluded_instances": ["jenkins"]});

fn seen() -> Value {
    json!({"first_seen": {"i-0000000000000000k": 1}})
}

#[test]
fn unmanaged_instances_alert_and_managed_hosts_are_events() {
    // k was reported before; b is excluded by name, c to f by their tags; g launched too
    // recently to have registered, h too long ago; i has no public IP; j is Chef's api-1.
    // Of the nodes, ec2-gone is an EC2 node without an instance, lab has a private address,
    // cloud-no-ip no public_ipv4 and a private ipaddress, and garbage a malformed one.
    let out = run(CONFIG(), Some(seen()));
    let mut expected = vec![unmanaged()];
    expected.extend(managed_events());
    assert_eq!(pairs(&out), expected);
    assert_eq!(
        out.state,
        Some(json!({"first_seen": {"i-0000000000000000a": IN_WINDOW, "i-0000000000000000k": 1}}))
    );
}

#[test]
fn a_cloud_node_without_public_ipv4_is_matched_by_its_ipaddress_issue_10() {
    // As the original's last version: `cloud.public_ipv4` when set, else `ipaddress`. Here
    // web-1 (no public_ipv4, empty or missing) has web's address: web is managed, not alerted.
    assert!(crate::hosts::ATTRIBUTES.contains(&NODE_IPADDRESS));
    let node = |name: &str, cloud: Value, ip: &str| {
        json!({
            "name": name, "cloud": cloud, "ipaddress": ip, "machinename": format!("{name}-host"),
            "fqdn": format!("{name}.example.com"), "platform": "ubuntu", "os": "linux",
            "os_version": "4.4.0-1062-aws",
        })
    };
    for cloud in [
        json!({"provider": "ec2", "public_ipv4": null, "public_ips": []}),
        json!({"provider": "ec2", "public_ipv4": ""}),
        json!({"provider": "ec2"}),
    ] {
        let rows = json!([
            node(
                "api-1",
                json!({"provider": "ec2", "public_ipv4": "54.12.34.65"}),
                "10.0.1.5"
            ),
            node("web-1", cloud, "54.12.34.60"),
        ]);
        let out = harness(CONFIG(), Some(seen()), machines())
            .chef("*:*", Ok(rows))
            .run()
            .expect("rule runs");
        let (id, mut web) = unmanaged();
        node_fields(&mut web, "web-1");
        let api = managed_events().swap_remove(0);
        assert_eq!(pairs(&out), vec![(id, web), api]);
        assert_eq!(out.state, Some(seen()));
    }
}

#[test]
fn reported_instances_do_not_alert_again() {
    let state = json!({"first_seen": {"i-0000000000000000a": IN_WINDOW, "i-0000000000000000k": 1}});
    let out = run(CONFIG(), Some(state.clone()));
    assert_eq!(pairs(&out), managed_events());
    assert_eq!(out.state, Some(state));
}

#[test]
fn excluded_instances_match_the_service_name_before_the_name_tag() {
    // Without the regex, b (jenkins-ci) alerts; j's service_name "api" wins over its Name.
    let out = run(
        json!({"excluded_instances": ["api", "jenk"], "chef_managed_events": false}),
        Some(seen()),
    );
    assert_eq!(pairs(&out), vec![unmanaged()]);
    let out = run(json!({"chef_managed_events": false}), Some(seen()));
    let ids: Vec<String> = out.alerts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, vec!["ops-web", "ops-jenkins-ci"]);
}

#[test]
fn an_instance_without_a_key_pair_is_named_by_its_id() {
    let mut instances = machines();
    instances[1]["keyName"] = Value::Null;
    let out = harness(
        json!({"chef_managed_events": false, "excluded_instances": ["jenkins"]}),
        Some(seen()),
        instances,
    )
    .chef("*:*", Ok(chef_rows()))
    .run()
    .expect("rule runs");
    assert_eq!(out.alerts.len(), 1);
    assert_eq!(out.alerts[0].id, "i-0000000000000000a-web");
    assert_eq!(out.alerts[0].details["keyName"], Value::Null);
}

#[test]
fn no_usable_chef_node_skips_the_check_and_keeps_the_state() {
    let rows = json!([{"name": "lab", "cloud": null, "ipaddress": "10.0.0.5"}]);
    let out = harness(CONFIG(), Some(seen()), machines())
        .chef("*:*", Ok(rows))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(seen()));
}

#[test]
fn denied_chef_skips_the_check_and_keeps_the_state() {
    let out = harness(CONFIG(), None, machines())
        .deny(Capability::Chef)
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, None);
}

#[test]
fn failed_chef_search_fails_the_rule() {
    let err = harness(CONFIG(), None, machines())
        .chef("*:*", Err(NetError::Http(502)))
        .run()
        .expect_err("fails");
    assert_eq!(
        format!("{err:#}"),
        "non_chef: the Chef node search failed: answered HTTP 502"
    );
}

#[test]
fn bad_config_values_name_the_rule_and_their_path() {
    let err = |config: Value| {
        let err = harness(config, None, machines())
            .run()
            .expect_err("rejected");
        format!("{err:#}")
    };
    assert_eq!(
        err(json!({"excluded_instances": ["ci", "jenkins("]})),
        r#"non_chef: excluded_instances[1]: "jenkins(" is not a valid regex (unclosed group)"#
    );
    assert_eq!(
        err(json!({"chef_managed_events": "no"})),
        r#"non_chef: chef_managed_events: invalid type: string "no", expected a boolean"#
    );
    assert_eq!(
        err(json!({"excluded_instances": "jenkins"})),
        r#"non_chef: excluded_instances: invalid type: string "jenkins", expected a sequence"#
    );
}

#[test]
fn null_values_read_as_their_default() {
    let config = json!({"excluded_instances": null, "chef_managed_events": null});
    assert_eq!(
        pairs(&run(config, Some(seen()))),
        pairs(&run(json!({}), Some(seen())))
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        typo = Some(run(json!({"excluded_instance": ["jenkins"]}), Some(seen())));
    });
    assert_eq!(
        typo.map(|out| pairs(&out)),
        Some(pairs(&run(json!({}), Some(seen()))))
    );
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"non_chef: unknown config key "excluded_instance" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn the_original_chef_settings_are_accepted_and_ignored() {
    let config = json!({
        "excluded_instances": ["jenkins"],
        "chef_server_url": "https://chef.example.com/organizations/ops",
        "client_key_file": "/etc/chef/client.pem",
        "client_name": "reddalert",
    });
    assert_eq!(
        pairs(&run(config, Some(seen()))),
        pairs(&run(CONFIG(), Some(seen())))
    );
}

#[test]
fn info_declares_queries_capability_and_defaults() {
    let info = NonChef::info();
    assert_eq!(info.name, "non_chef");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.capabilities, vec![Capability::Chef]);
    assert_eq!(
        info.queries,
        vec![
            Query::current(INSTANCES_SELECTED),
            Query::current(LOAD_BALANCERS_SELECTED),
            Query::current(SECURITY_GROUPS_SELECTED)
        ]
    );
    assert_eq!(
        info.default_config,
        json!({"excluded_instances": [], "chef_managed_events": true})
    );
}
