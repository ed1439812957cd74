//! Every config key with a bad value fails the rule with a message naming the rule and the
//! key's path, before any data is read; except a `whitelisted_ips` entry that is not a
//! network, which is dropped with a warning naming it.

use super::{GROUPS, MACHINES, run};
use crate::config::Config;
use ipnet::IpNet;
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json;
use reddalert_rule_sdk::testing::capture_logs;

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
        "secgroups: allowed_ports[1]: invalid value: integer `70000`, expected u16"
    );
    assert_eq!(
        error(json!({"allowed_ports": [-1]})),
        "secgroups: allowed_ports[0]: invalid value: integer `-1`, expected u16"
    );
    assert_eq!(
        error(json!({"allowed_ports": ["22"]})),
        r#"secgroups: allowed_ports[0]: invalid type: string "22", expected u16"#
    );
    assert_eq!(
        error(json!({"allowed_ports": 22})),
        "secgroups: allowed_ports: invalid type: integer `22`, expected a sequence"
    );
}

#[test]
fn allowed_protocols_must_be_names() {
    assert_eq!(
        error(json!({"allowed_protocols": [1]})),
        "secgroups: allowed_protocols[0]: invalid type: integer `1`, expected a string"
    );
    assert_eq!(
        error(json!({"allowed_protocols": "icmp"})),
        r#"secgroups: allowed_protocols: invalid type: string "icmp", expected a sequence"#
    );
}

#[test]
fn whitelisted_ips_must_be_a_list() {
    // `null` is "not set" (the SDK's rule), as a key left out.
    assert_eq!(
        run(json!({"whitelisted_ips": null}), GROUPS, MACHINES).expect("null reads as unset"),
        run(json!({}), GROUPS, MACHINES).expect("runs")
    );
    assert_eq!(
        error(json!({"whitelisted_ips": "10.0.0.0/8"})),
        r#"secgroups: whitelisted_ips: invalid type: string "10.0.0.0/8", expected a sequence"#
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
    let mut config = None;
    let warnings = capture_logs(|| {
        let read = serde_json::from_value::<Config>(json!({ "whitelisted_ips": list }));
        config = Some(read.expect("a list"));
    });
    let nets: Vec<IpNet> = config
        .expect("read")
        .whitelisted_ips
        .iter()
        .map(|n| n.0)
        .collect();
    let net = |s: &str| s.parse::<IpNet>().expect("a network");
    assert_eq!(nets, vec![net("10.0.0.0/8"), net("2001:db8::1/128")]);
    let warning = |entry: &str| {
        (
            Level::Warn,
            format!(
                "secgroups: whitelisted_ips: {entry} is not a CIDR network or an IP address: ignored"
            ),
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
        "secgroups: whitelisted_entries: invalid type: sequence, expected a map"
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": ["0.0.0.0/0"]}})),
        "secgroups: whitelisted_entries.sg-1 (a): invalid type: sequence, expected a map"
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"ssh": ["0.0.0.0/0"]}}})),
        r#"secgroups: whitelisted_entries.sg-1 (a).ssh: "ssh" is not a port or a port range"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22-70000": ["0.0.0.0/0"]}}})),
        r#"secgroups: whitelisted_entries.sg-1 (a).22-70000: "22-70000" is not a port or a port range"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22": "0.0.0.0/0"}}})),
        r#"secgroups: whitelisted_entries.sg-1 (a).22: invalid type: string "0.0.0.0/0", expected a sequence"#
    );
    assert_eq!(
        error(json!({"whitelisted_entries": {"sg-1 (a)": {"22": ["0.0.0.0/40"]}}})),
        r#"secgroups: whitelisted_entries.sg-1 (a).22[0]: "0.0.0.0/40" is not a CIDR network"#
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = capture_logs(|| {
        typo = Some(run(json!({"allowed_port": [22]}), GROUPS, MACHINES).expect("rule runs"));
    });
    assert_eq!(
        typo,
        Some(run(json!({}), GROUPS, MACHINES).expect("rule runs"))
    );
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"secgroups: unknown config key "allowed_port" is ignored"#.to_owned()
        )]
    );
}
