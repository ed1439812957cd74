//! Every config key with a bad value fails the rule with a message naming the rule, the key
//! and the value, before any data is read; except a `whitelisted_ips` entry that is not a
//! network, which is dropped with a warning naming it.

use super::{GROUPS, MACHINES, run};
use crate::config::whitelisted_ips;
use ipnet::IpNet;
use reddalert_rule_sdk::prelude::*;

fn error(config: Value) -> String {
    match run(config, GROUPS, MACHINES) {
        Ok(alerts) => panic!("expected a config error, got {alerts:?}"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn allowed_ports_must_be_ports() {
    assert_eq!(
        error(json!({"allowed_ports": [22, 70000]})),
        "secgroups: allowed_ports: 70000 is not a port (0..=65535)"
    );
    assert_eq!(
        error(json!({"allowed_ports": [-1]})),
        "secgroups: allowed_ports: -1 is not a port (0..=65535)"
    );
    assert_eq!(
        error(json!({"allowed_ports": ["22"]})),
        r#"secgroups: allowed_ports: "22" is not a port (0..=65535)"#
    );
    assert_eq!(
        error(json!({"allowed_ports": 22})),
        "secgroups: allowed_ports: expected a list, got 22"
    );
}

#[test]
fn allowed_protocols_must_be_names() {
    assert_eq!(
        error(json!({"allowed_protocols": [1]})),
        "secgroups: allowed_protocols: 1 is not a protocol name"
    );
    assert_eq!(
        error(json!({"allowed_protocols": "icmp"})),
        r#"secgroups: allowed_protocols: expected a list, got "icmp""#
    );
}

#[test]
fn whitelisted_ips_must_be_a_list() {
    assert_eq!(
        error(json!({"whitelisted_ips": null})),
        "secgroups: whitelisted_ips: expected a list, got null"
    );
    assert_eq!(
        error(json!({"whitelisted_ips": "10.0.0.0/8"})),
        r#"secgroups: whitelisted_ips: expected a list, got "10.0.0.0/8""#
    );
}

#[test]
fn whitelisted_ips_entries_that_are_not_networks_are_named_in_a_warning() {
    // Issue 10: dropped with a warning instead of failing the rule (see the branch tests).
    let list = json!([
        "# office",
        "10.0.0.0/8",
        "10.0.0.0/33",
        "2001:db8::/129",
        10,
        "2001:db8::1"
    ]);
    let (nets, warnings) = whitelisted_ips(&list).expect("a list");
    let net = |s: &str| s.parse::<IpNet>().expect("a network");
    assert_eq!(nets, vec![net("10.0.0.0/8"), net("2001:db8::1/128")]);
    let warning = |entry: &str| {
        format!(
            "secgroups: whitelisted_ips: {entry} is not a CIDR network or an IP address: ignored"
        )
    };
    assert_eq!(
        warnings,
        vec![
            warning(r##""# office""##),
            warning(r#""10.0.0.0/33""#),
            warning(r#""2001:db8::/129""#),
            warning("10"),
        ]
    );
}

#[test]
fn whitelisted_entries_must_be_groups_of_ports_of_networks() {
    assert_eq!(
        error(json!({"whitelisted_entries": []})),
        "secgroups: whitelisted_entries: expected an object, got []"
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": ["0.0.0.0/0"]}})),
        r#"secgroups: whitelisted_entries: "sg-1 (a)": expected an object, got ["0.0.0.0/0"]"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"ssh": ["0.0.0.0/0"]}}})),
        r#"secgroups: whitelisted_entries: "sg-1 (a)": "ssh" is not a port or a port range"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22-70000": ["0.0.0.0/0"]}}})),
        r#"secgroups: whitelisted_entries: "sg-1 (a)": "22-70000" is not a port or a port range"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22": "0.0.0.0/0"}}})),
        r#"secgroups: whitelisted_entries: "sg-1 (a)": "22": expected a list, got "0.0.0.0/0""#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22": ["0.0.0.0/40"]}}})),
        r#"secgroups: whitelisted_entries: "sg-1 (a)": "22": "0.0.0.0/40" is not a CIDR network"#
    );
}

#[test]
fn config_must_be_an_object() {
    // The host always merges into an object; this guards a rule driven some other way.
    let err = crate::config::Config::from_value(&json!([1])).expect_err("not an object");
    assert_eq!(
        format!("{err:#}"),
        "secgroups: the config is not a JSON object: [1]"
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let typo = run(json!({"allowed_port": [22]}), GROUPS, MACHINES).expect("rule runs");
    assert_eq!(typo, run(json!({}), GROUPS, MACHINES).expect("rule runs"));
}
