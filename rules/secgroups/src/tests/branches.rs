//! One test per branch of the alert decision, each on a single bean-shaped group without
//! instances, asserting the exact alerts.

use super::{group, lonely, perm, run};
use reddalert_rule_sdk::prelude::*;

const PROBE: &str = "sg-0123456789abcdef0 (probe)";
const WORLD: &[&str] = &["0.0.0.0/0"];

fn alerts(config: Value, perms: Vec<Value>) -> Vec<(String, Value)> {
    run(config, &group(perms), "[]").expect("rule runs")
}

fn one(protocol: &str, from: Option<i64>, to: Option<i64>, cidrs: &[&str]) -> Vec<(String, Value)> {
    vec![(PROBE.into(), lonely(protocol, from, to, cidrs))]
}

#[test]
fn single_port_alerts_unless_allowed() {
    let p = || vec![perm("tcp", Some(22), Some(22), WORLD, &[])];
    assert_eq!(
        alerts(json!({}), p()),
        one("tcp", Some(22), Some(22), WORLD)
    );
    assert_eq!(alerts(json!({"allowed_ports": [22]}), p()), vec![]);
    assert_eq!(
        alerts(json!({"allowed_ports": [23]}), p()),
        one("tcp", Some(22), Some(22), WORLD)
    );
}

#[test]
fn range_alerts_even_when_every_port_is_allowed() {
    let p = vec![perm("udp", Some(53), Some(54), WORLD, &[])];
    assert_eq!(
        alerts(json!({"allowed_ports": [53, 54]}), p),
        one("udp", Some(53), Some(54), WORLD)
    );
}

#[test]
fn missing_ports_count_as_the_widest_range() {
    // Protocol -1 (all traffic) has null ports; a lone missing toPort is still a range.
    let p = vec![
        perm("-1", None, None, WORLD, &[]),
        perm("tcp", Some(80), None, WORLD, &[]),
    ];
    // Sorted by rendered details: `"fromPort":80` before `"fromPort":null`.
    let mut expected = one("tcp", Some(80), None, WORLD);
    expected.extend(one("-1", None, None, WORLD));
    assert_eq!(alerts(json!({"allowed_ports": [80]}), p), expected);
}

#[test]
fn allowed_protocols_never_alert() {
    let icmp = || vec![perm("icmp", Some(8), Some(-1), WORLD, &[])];
    assert_eq!(alerts(json!({}), icmp()), vec![]);
    assert_eq!(
        alerts(json!({"allowed_protocols": []}), icmp()),
        one("icmp", Some(8), Some(-1), WORLD)
    );
    let mixed = || {
        vec![
            perm("tcp", Some(25), Some(25), WORLD, &[]),
            perm("udp", Some(25), Some(25), WORLD, &[]),
        ]
    };
    assert_eq!(
        alerts(json!({"allowed_protocols": ["tcp"]}), mixed()),
        one("udp", Some(25), Some(25), WORLD)
    );
    let all = vec![perm("-1", None, None, WORLD, &[])];
    assert_eq!(alerts(json!({"allowed_protocols": ["-1"]}), all), vec![]);
}

#[test]
fn cidr_inside_a_whitelisted_network_is_quiet() {
    let config = || json!({"whitelisted_ips": ["10.0.0.0/8", "192.168.1.0/24"]});
    let inside = vec![perm(
        "tcp",
        Some(22),
        Some(22),
        &["10.1.0.0/16", "192.168.1.7/32"],
        &[],
    )];
    assert_eq!(alerts(config(), inside), vec![]);
    // Wider than the whitelisted network, or beside it: outside.
    let wider = vec![perm("tcp", Some(22), Some(22), &["10.0.0.0/7"], &[])];
    assert_eq!(
        alerts(config(), wider),
        one("tcp", Some(22), Some(22), &["10.0.0.0/7"])
    );
    let beside = vec![perm("tcp", Some(22), Some(22), &["192.168.2.0/24"], &[])];
    assert_eq!(
        alerts(config(), beside),
        one("tcp", Some(22), Some(22), &["192.168.2.0/24"])
    );
}

#[test]
fn one_cidr_outside_is_enough_and_every_cidr_is_reported() {
    let cidrs = &["10.1.0.0/16", "198.51.100.0/24"];
    let p = vec![perm("tcp", Some(22), Some(22), cidrs, &[])];
    assert_eq!(
        alerts(json!({"whitelisted_ips": ["10.0.0.0/8"]}), p),
        one("tcp", Some(22), Some(22), cidrs)
    );
}

#[test]
fn bare_whitelisted_address_is_one_host() {
    let config = || json!({"whitelisted_ips": ["203.0.113.5", "2001:db8::1"]});
    let host = vec![perm(
        "tcp",
        Some(22),
        Some(22),
        &["203.0.113.5/32"],
        &["2001:db8::1/128"],
    )];
    assert_eq!(alerts(config(), host), vec![]);
    let net = vec![perm("tcp", Some(22), Some(22), &["203.0.113.0/24"], &[])];
    assert_eq!(
        alerts(config(), net),
        one("tcp", Some(22), Some(22), &["203.0.113.0/24"])
    );
}

#[test]
fn whitelisted_ips_entries_that_are_not_networks_are_dropped_issue_10() {
    // The original compared strings, so a comment-like entry simply never matched; the rest
    // of the list still whitelists (a bare address as one host) and the rule still alerts.
    let config = json!({"whitelisted_ips": [
        "# office networks:", "10.0.0.0/8", "vpn", "203.0.113.5", "10.0.0.0/33", 42, null,
    ]});
    let p = vec![
        perm("tcp", Some(22), Some(22), &["10.1.0.0/16"], &[]),
        perm("tcp", Some(23), Some(23), &["203.0.113.5/32"], &[]),
        perm("tcp", Some(25), Some(25), WORLD, &[]),
    ];
    assert_eq!(alerts(config, p), one("tcp", Some(25), Some(25), WORLD));
}

#[test]
fn ipv6_ranges_are_checked_too() {
    let config = || json!({"whitelisted_ips": ["0.0.0.0/0", "2001:db8::/32"]});
    let open = vec![perm("tcp", Some(22), Some(22), WORLD, &["::/0"])];
    assert_eq!(
        alerts(config(), open),
        one("tcp", Some(22), Some(22), &["0.0.0.0/0", "::/0"])
    );
    let inside = vec![perm("tcp", Some(22), Some(22), &[], &["2001:db8:1::/48"])];
    assert_eq!(alerts(config(), inside), vec![]);
    // An IPv4 whitelist says nothing about IPv6.
    let v6 = vec![perm("tcp", Some(22), Some(22), &[], &["2001:db8:1::/48"])];
    assert_eq!(
        alerts(json!({"whitelisted_ips": ["0.0.0.0/0"]}), v6),
        one("tcp", Some(22), Some(22), &["2001:db8:1::/48"])
    );
}

#[test]
fn permission_to_other_groups_only_is_quiet() {
    let mut p = perm("tcp", Some(8080), Some(8080), &[], &[]);
    p["userIdGroupPairs"] = json!([{
        "class": "com.amazonaws.services.ec2.model.UserIdGroupPair", "description": null,
        "groupId": "sg-0e0f1a2b", "groupName": null, "peeringStatus": null,
        "userId": "123456789012", "vpcId": null, "vpcPeeringConnectionId": null,
    }]);
    assert_eq!(alerts(json!({}), vec![p]), vec![]);
}

#[test]
fn entry_listing_every_cidr_silences_the_permission() {
    let cidrs = &["198.51.100.0/24", "203.0.113.0/24"];
    let listed = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"];
    let entry = json!({"whitelisted_entries": {PROBE: {"22": listed}}});
    assert_eq!(
        alerts(entry, vec![perm("tcp", Some(22), Some(22), cidrs, &[])]),
        vec![]
    );
}

#[test]
fn entry_listing_only_some_cidrs_does_not() {
    let cidrs = &["198.51.100.0/24", "203.0.113.0/24"];
    let entry = json!({"whitelisted_entries": {PROBE: {"22": ["203.0.113.0/24"]}}});
    let p = vec![perm("tcp", Some(22), Some(22), cidrs, &[])];
    assert_eq!(alerts(entry, p), one("tcp", Some(22), Some(22), cidrs));
}

#[test]
fn entry_applies_to_its_own_group_and_port_only() {
    let p = || vec![perm("tcp", Some(22), Some(22), WORLD, &[])];
    let other_group = json!({"whitelisted_entries": {"sg-0a1b2c3d (web)": {"22": ["0.0.0.0/0"]}}});
    assert_eq!(
        alerts(other_group, p()),
        one("tcp", Some(22), Some(22), WORLD)
    );
    let other_port = json!({"whitelisted_entries": {PROBE: {"23": ["0.0.0.0/0"]}}});
    assert_eq!(
        alerts(other_port, p()),
        one("tcp", Some(22), Some(22), WORLD)
    );
}

#[test]
fn entry_keys_for_ranges_and_portless_permissions() {
    let range = json!({"whitelisted_entries": {PROBE: {"8000-8100": ["0.0.0.0/0"]}}});
    assert_eq!(
        alerts(range, vec![perm("tcp", Some(8000), Some(8100), WORLD, &[])]),
        vec![]
    );
    for key in ["None", "-1-65536"] {
        let all = json!({"whitelisted_entries": {PROBE: {key: ["0.0.0.0/0", "::/0"]}}});
        assert_eq!(
            alerts(all, vec![perm("-1", None, None, WORLD, &["::/0"])]),
            vec![],
            "{key}"
        );
    }
}
