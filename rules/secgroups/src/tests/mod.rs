//! Tests of the secgroups rule run natively through the SDK harness. The fixture under
//! `tests/fixtures/` is an EDDA answer (`aws/securityGroups;_expand;…;_updated`, newest first)
//! and the instances are util's shared `view/instances;_expand`, with every bean property,
//! `class` key and null kept; the branch tests build single groups of the same shape with
//! [`group`] and [`perm`].

mod branches;
mod config_errors;
mod probes;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::INSTANCES as MACHINES;

use crate::Secgroups;
use crate::probe::{DENIED, NO_MACHINE, WIDE};

const GROUPS: &str = include_str!("../../tests/fixtures/security_groups.json");
const EC2: &str = "com.amazonaws.services.ec2.model.";

/// The harness over the given groups and instances bodies, with the probes of the fixture:
/// web's first machine answers on 22 but not on 443, db's on 5432.
fn harness(config: Value, groups: &str, instances: &str) -> Harness<Secgroups> {
    Harness::<Secgroups>::new()
        .config(config)
        .data(SECURITY_GROUPS, groups)
        .data(INSTANCES_SELECTED, instances)
        .window(1_514_768_400_001, 1_514_779_200_000)
        .probe("54.12.34.56", 22, Ok(true))
        .probe("54.12.34.56", 443, Ok(false))
        .probe("10.0.2.10", 5432, Ok(true))
}

/// Runs the rule with a config section over the given groups and instances bodies.
fn run(config: Value, groups: &str, instances: &str) -> Result<Vec<(String, Value)>> {
    alerts(harness(config, groups, instances))
}

fn alerts(harness: Harness<Secgroups>) -> Result<Vec<(String, Value)>> {
    let out = harness.run()?;
    assert_eq!(out.state, None, "secgroups keeps no state");
    Ok(out.alerts.into_iter().map(|a| (a.id, a.details)).collect())
}

/// `(port_open, port_open_note)` as the details show them.
type Probe = (Value, Value);

fn skipped(note: &str) -> Probe {
    (Value::Null, json!(note))
}

fn probed(open: bool) -> Probe {
    (json!(open), Value::Null)
}

/// A bean-shaped `IpPermission` (IPv4 CIDRs in both the flat and the object list).
fn perm(protocol: &str, from: Option<i64>, to: Option<i64>, v4: &[&str], v6: &[&str]) -> Value {
    json!({
        "class": format!("{EC2}IpPermission"),
        "fromPort": from,
        "ipProtocol": protocol,
        "ipRanges": v4,
        "ipv4Ranges": v4
            .iter()
            .map(|c| json!({"cidrIp": c, "class": format!("{EC2}IpRange"), "description": null}))
            .collect::<Vec<_>>(),
        "ipv6Ranges": v6
            .iter()
            .map(|c| json!({"cidrIpv6": c, "class": format!("{EC2}Ipv6Range"), "description": null}))
            .collect::<Vec<_>>(),
        "prefixListIds": [],
        "toPort": to,
        "userIdGroupPairs": [],
    })
}

/// A bean-shaped `SecurityGroup` `sg-0123456789abcdef0 (probe)` with no instances in it.
fn group(perms: Vec<Value>) -> String {
    json!([{
        "class": format!("{EC2}SecurityGroup"),
        "description": "probe",
        "groupId": "sg-0123456789abcdef0",
        "groupName": "probe",
        "ipPermissions": perms,
        "ipPermissionsEgress": [],
        "ownerId": "123456789012",
        "tags": [],
        "vpcId": "vpc-1a2b3c4d",
    }])
    .to_string()
}

/// The details of a permission of a group without instances.
fn lonely(protocol: &str, from: Option<i64>, to: Option<i64>, cidrs: &[&str]) -> Value {
    detail(
        protocol,
        from,
        to,
        cidrs,
        (json!([]), json!([]), Value::Null),
        skipped(NO_MACHINE),
    )
}

fn detail(
    protocol: &str,
    from: Option<i64>,
    to: Option<i64>,
    cidrs: &[&str],
    (machines, ips, region): (Value, Value, Value),
    (port_open, note): Probe,
) -> Value {
    json!({
        "fromPort": from,
        "toPort": to,
        "ipProtocol": protocol,
        "ipRanges": cidrs,
        "machines": machines,
        "ipAddresses": ips,
        "port_open": port_open,
        "port_open_note": note,
        "awsRegion": region,
        "awsAccount": "123456789012",
    })
}

const WEB: &str = "sg-0a1b2c3d (web)";
const DB: &str = "sg-0e0f1a2b (db)";
const LEGACY: &str = "sg-0f9e8d7c (legacy-all)";

fn web(from: i64, to: i64) -> (String, Value) {
    let probe = match from {
        22 => probed(true),
        443 => probed(false),
        _ => skipped(WIDE),
    };
    web_probed(from, to, probe)
}

fn web_probed(from: i64, to: i64, probe: Probe) -> (String, Value) {
    let machines = json!([
        "i-0a1b2c3d4e5f60718 (54.12.34.56): web-v042,web-v042,web",
        "i-0b2c3d4e5f6071829 (54.12.34.57): web-v042,web-v042,web",
    ]);
    let ips = json!(["54.12.34.56", "54.12.34.57"]);
    let d = detail(
        "tcp",
        Some(from),
        Some(to),
        &["0.0.0.0/0"],
        (machines, ips, json!("us-east-1")),
        probe,
    );
    (WEB.into(), d)
}

fn db() -> (String, Value) {
    db_probed(probed(true))
}

fn db_probed(probe: Probe) -> (String, Value) {
    let machines = json!(["i-0c3d4e5f607182930 (10.0.2.10): db-v007,db"]);
    let d = detail(
        "tcp",
        Some(5432),
        Some(5432),
        &["10.0.0.0/8"],
        (machines, json!(["10.0.2.10"]), json!("us-east-1")),
        probe,
    );
    (DB.into(), d)
}

fn legacy() -> (String, Value) {
    (
        LEGACY.into(),
        lonely("-1", None, None, &["0.0.0.0/0", "::/0"]),
    )
}

#[test]
fn default_config_alerts_every_open_permission_once_in_order() {
    // web has two revisions with the same permissions (only a tag changed) and an older one:
    // 443 appears in all three and is reported once; the group-to-group 8080 never alerts,
    // and neither does legacy-all's ICMP permission.
    let alerts = run(json!({}), GROUPS, MACHINES).expect("rule runs");
    assert_eq!(
        alerts,
        vec![web(0, 65535), web(22, 22), web(443, 443), db(), legacy()]
    );
}

#[test]
fn configured_ports_and_networks_silence_their_permissions() {
    let config = json!({"allowed_ports": [22, 443], "whitelisted_ips": ["10.0.0.0/8"]});
    let alerts = run(config, GROUPS, MACHINES).expect("rule runs");
    assert_eq!(alerts, vec![web(0, 65535), legacy()]);
}

#[test]
fn machines_without_an_address_are_listed_but_have_no_ip() {
    // Put the terminated instance (no addresses, us-east-1d) into the db group.
    let mut instances: Value =
        reddalert_rule_sdk::serde_json::from_str(MACHINES).expect("fixture is JSON");
    let gone = &mut instances[3];
    assert_eq!(gone["instanceId"], "i-0d4e5f60718293041");
    gone["securityGroups"] = json!([{
        "class": format!("{EC2}GroupIdentifier"),
        "groupId": "sg-0e0f1a2b",
        "groupName": "db",
    }]);
    let alerts = run(
        json!({"allowed_ports": [22, 443]}),
        GROUPS,
        &instances.to_string(),
    )
    .expect("rule runs");
    let machines = json!([
        "i-0c3d4e5f607182930 (10.0.2.10): db-v007,db",
        "i-0d4e5f60718293041 (none): batch-v003",
    ]);
    let d = detail(
        "tcp",
        Some(5432),
        Some(5432),
        &["10.0.0.0/8"],
        (machines, json!(["10.0.2.10"]), json!("us-east-1")),
        probed(true),
    );
    assert_eq!(alerts, vec![web(0, 65535), (DB.into(), d), legacy()]);
}

#[test]
fn region_comes_from_the_first_machine_with_a_zone() {
    let mut instances: Value =
        reddalert_rule_sdk::serde_json::from_str(MACHINES).expect("fixture is JSON");
    instances[1]["placement"] = Value::Null; // i-0a1b…, first by id
    instances[0]["placement"]["availabilityZone"] = json!("eu-west-1a"); // i-0b2c…
    let alerts = run(
        json!({"allowed_ports": [22, 443]}),
        GROUPS,
        &instances.to_string(),
    )
    .expect("rule runs");
    assert_eq!(alerts[0].0, WEB);
    assert_eq!(alerts[0].1["awsRegion"], "eu-west-1");
    assert_eq!(alerts[0].1["machines"], web(0, 65535).1["machines"]);
}

#[test]
fn no_changed_groups_no_alerts() {
    assert_eq!(run(json!({}), "[]", MACHINES).expect("rule runs"), vec![]);
}

#[test]
fn info_declares_the_original_queries_and_defaults() {
    let info = Secgroups::info();
    assert_eq!(info.name, "secgroups");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(
        info.queries,
        vec![
            Query::updated(SECURITY_GROUPS),
            Query::current(INSTANCES_SELECTED)
        ]
    );
    assert_eq!(info.capabilities, vec![Capability::TcpProbe]);
    assert_eq!(
        info.default_config,
        json!({
            "allowed_ports": [],
            "allowed_protocols": ["icmp"],
            "whitelisted_ips": [],
            "whitelisted_entries": {},
        })
    );
}
