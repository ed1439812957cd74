//! The test world: instances cloned from one full EDDA bean with the tags and launch times
//! each branch needs, Chef rows of every kind of node, and the reports expected of them.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::fixtures::instance;

/// The window: 2018-01-01T00:00Z to 01:00Z; instances count when launched in the three hours
/// before, shifted: 21:00Z to 22:00Z on 2017-12-31.
pub const SINCE: u64 = 1_514_764_800_000;
pub const UNTIL: u64 = SINCE + HOUR;
pub const HOUR: u64 = 3_600_000;
pub const IN_WINDOW: u64 = SINCE - 5 * HOUR / 2;

pub fn machines() -> Value {
    json!([
        instance(
            "i-0000000000000000k",
            Some("54.12.34.66"),
            IN_WINDOW,
            &[("service_name", "seen")]
        ),
        instance(
            "i-0000000000000000a",
            Some("54.12.34.60"),
            IN_WINDOW,
            &[("service_name", "web")]
        ),
        instance(
            "i-0000000000000000b",
            Some("54.12.34.61"),
            IN_WINDOW,
            &[("Name", "jenkins-ci")]
        ),
        instance(
            "i-0000000000000000c",
            Some("54.12.34.62"),
            IN_WINDOW,
            &[("elasticbeanstalk:environment-name", "shop-prod")]
        ),
        instance(
            "i-0000000000000000d",
            Some("54.12.34.67"),
            IN_WINDOW,
            &[("aws:elasticmapreduce:instance-group-role", "CORE")]
        ),
        instance(
            "i-0000000000000000e",
            Some("54.12.34.68"),
            IN_WINDOW,
            &[("cloudbees:pse:type", "agent")]
        ),
        instance(
            "i-0000000000000000f",
            Some("54.12.34.69"),
            IN_WINDOW,
            &[("aws:cloudformation:stack-name", "vpn")]
        ),
        instance(
            "i-0000000000000000g",
            Some("54.12.34.63"),
            SINCE,
            &[("service_name", "fresh")]
        ),
        instance(
            "i-0000000000000000h",
            Some("54.12.34.64"),
            SINCE - 10 * HOUR,
            &[("service_name", "old")]
        ),
        instance(
            "i-0000000000000000i",
            None,
            IN_WINDOW,
            &[("service_name", "private")]
        ),
        instance(
            "i-0000000000000000j",
            Some("54.12.34.65"),
            SINCE - 50 * HOUR,
            &[("service_name", "api"), ("Name", "jenkins-api")]
        ),
    ])
}

pub fn chef_rows() -> Value {
    let node = |name: &str, cloud: Value, ip: Option<&str>| {
        json!({
            "name": name, "cloud": cloud, "ipaddress": ip, "machinename": format!("{name}-host"),
            "fqdn": format!("{name}.example.com"), "platform": "ubuntu", "os": "linux",
            "os_version": "4.4.0-1062-aws",
        })
    };
    let cloud = |provider: &str, ip: Option<&str>| json!({"provider": provider, "public_ipv4": ip, "public_ips": ip.into_iter().collect::<Vec<_>>()});
    json!([
        node("api-1", cloud("ec2", Some("54.12.34.65")), Some("10.0.1.5")),
        node("colo-1", Value::Null, Some("198.51.100.20")),
        node(
            "gce-1",
            cloud("gce", Some("203.0.113.11")),
            Some("10.128.0.2")
        ),
        node("ec2-gone", cloud("ec2", Some("54.12.34.99")), None),
        node("lab", Value::Null, Some("10.0.0.5")),
        node("cloud-no-ip", cloud("ec2", None), Some("10.0.3.7")),
        node("garbage", Value::Null, Some("not-an-ip")),
    ])
}

/// The instance report of a [`instance`] in no load balancer.
pub fn report(id: &str, ip: &str, launched: u64, tags: Value, service_type: &str) -> Value {
    json!({
        "instanceId": id,
        "tags": tags,
        "keyName": "ops",
        "started": launched,
        "service_type": service_type,
        "elbs": [],
        "open_ports": [
            [{"port": 443, "range": "0.0.0.0/0"}, {"port": 443, "range": "::/0"}],
            [
                {"port": 22, "range": "10.0.0.0/8"},
                {"port": 22, "range": "192.168.0.0/16"},
                {"port": null, "range": "10.1.0.0/16"}
            ]
        ],
        "publicIpAddress": ip,
        "privateIpAddress": "10.0.1.23",
        "awsRegion": "us-east-1",
        "awsAccount": "123456789012"
    })
}

pub fn node_fields(details: &mut Value, name: &str) {
    details["chef_node_name"] = json!(name);
    details["hostname"] = json!(format!("{name}-host"));
    details["fqdn"] = json!(format!("{name}.example.com"));
    details["platform"] = json!("ubuntu");
    details["operating_system"] = json!("linux");
    details["operating_system_version"] = json!("4.4.0-1062-aws");
    details["event"] = json!("chef_managed");
}
