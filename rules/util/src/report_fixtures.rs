//! Builders for the tests of the rules that report instances (ami, newtag, missingtag):
//! `view.instances` documents cloned from one full EDDA bean (`fixtures/instance.json`), and
//! the exact instance report a rule should attach to each. The load balancer and security
//! group fixtures are full EDDA documents too.

use reddalert_rule_sdk::models::{
    INSTANCES_SELECTED, LOAD_BALANCERS_SELECTED, SECURITY_GROUPS_SELECTED,
};
use reddalert_rule_sdk::serde_json::{self, Value, json};

/// What a rule that reports instances declares, as `(path, window)`: its instances, then the
/// report's load balancers and security groups, all current.
pub const DECLARED_QUERIES: [(&str, bool); 3] = [
    (INSTANCES_SELECTED, false),
    (LOAD_BALANCERS_SELECTED, false),
    (SECURITY_GROUPS_SELECTED, false),
];

/// Current load balancers, whole EDDA documents, to serve for `LOAD_BALANCERS_SELECTED` (the
/// model ignores what the selector leaves out): `web-frontend` and `api-internal` list
/// [`IN_TWO_ELBS`], `web-frontend` also lists [`IN_ONE_ELB`]; `idle` lists nobody.
pub const LOAD_BALANCERS_JSON: &str = super::fixtures::LOAD_BALANCERS;
/// Current security groups, whole EDDA documents, to serve for `SECURITY_GROUPS_SELECTED`:
/// `web` and `ops`, which every test instance is in.
pub const SECURITY_GROUPS_JSON: &str = super::fixtures::SECURITY_GROUPS;

/// An instance that two load balancers list.
pub const IN_TWO_ELBS: &str = "i-0a1b2c3d4e5f60718";
/// An instance that one load balancer lists.
pub const IN_ONE_ELB: &str = "i-0f0e0d0c0b0a09080";

/// The start of the test window: 2018-01-01T00:00:00Z.
pub const SINCE: u64 = 1_514_764_800_000;
/// The end of the test window, a day later.
pub const UNTIL: u64 = SINCE + 86_400_000;

/// A `view.instances` document: the fixture bean (public IP 54.12.34.56) with this id, AMI,
/// launch time and tags.
pub fn instance(id: &str, ami: &str, launched: u64, tags: &[(&str, &str)]) -> Value {
    let mut doc = super::fixtures::instance(id, Some("54.12.34.56"), launched, tags);
    doc["imageId"] = json!(ami);
    doc
}

/// The same document in another state (`terminated`, `stopped`, …).
pub fn in_state(mut doc: Value, name: &str, code: u8) -> Value {
    doc["state"] = json!({"class": "com.amazonaws.services.ec2.model.InstanceState", "code": code, "name": name});
    doc
}

/// The report of an [`instance`] built with the same id, launch time and tags.
pub fn report(id: &str, launched: u64, tags: &[(&str, &str)], service_type: &str) -> Value {
    let tags: serde_json::Map<String, Value> = tags
        .iter()
        .map(|&(key, value)| (key.to_owned(), json!(value)))
        .collect();
    json!({
        "instanceId": id,
        "tags": tags,
        "keyName": "ops",
        "started": launched,
        "service_type": service_type,
        "elbs": elbs_of(id),
        "open_ports": [
            [{"port": 443, "range": "0.0.0.0/0"}, {"port": 443, "range": "::/0"}],
            [
                {"port": 22, "range": "10.0.0.0/8"},
                {"port": 22, "range": "192.168.0.0/16"},
                {"port": null, "range": "10.1.0.0/16"}
            ]
        ],
        "publicIpAddress": "54.12.34.56",
        "privateIpAddress": "10.0.1.23",
        "awsRegion": "us-east-1",
        "awsAccount": "123456789012"
    })
}

fn elbs_of(id: &str) -> Value {
    let api = json!({
        "DNSName": "internal-api-internal-987654321.us-east-1.elb.amazonaws.com",
        "instances": [IN_TWO_ELBS],
        "ports": [8080]
    });
    let web = json!({
        "DNSName": "web-frontend-1234567890.us-east-1.elb.amazonaws.com",
        "instances": [IN_TWO_ELBS, IN_ONE_ELB],
        "ports": [80, 443]
    });
    match id {
        IN_TWO_ELBS => json!([api, web]),
        IN_ONE_ELB => json!([web]),
        _ => json!([]),
    }
}

/// Alerts as comparable `(id, details)` pairs.
pub fn pairs(out: &reddalert_rule_sdk::Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}
