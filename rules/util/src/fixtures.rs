//! EDDA-shaped test documents shared by the rules' unit tests: AWS SDK v1 beans with their
//! `class` keys and nulls, as EDDA serves them.
//!
//! [`HOSTED_RECORDS`] is `aws/hostedRecords;_expand` for the zones `example.com.` and
//! `example.org.`: an `A` record to an instance's IP (`www`), a weighted pair to unknown public
//! IPs (`app`), a private IP (`intranet`), `CNAME`s to a third party (`docs`), to an S3 website
//! (`shop`), to an EC2 name of an instance (`legacy`), to an EC2 name of an unknown IP in
//! another region (`old`) and inside the zone (`mail`), an IP only a Chef node has (`chef`),
//! an alias to a load balancer (`api`), a wildcard, MX and TXT records at the apex, and one
//! record of `example.org.`. [`INSTANCES`] has `i-0a1b…` (54.12.34.56) and `i-0b2c…`
//! (54.12.34.57) in group `web`, `i-0c3d…` (private only) and a terminated `i-0d4e…`.

use reddalert_rule_sdk::serde_json::{self, Value, json};

/// `aws/hostedRecords;_expand`.
pub const HOSTED_RECORDS: &str = include_str!("../fixtures/hosted_records.json");
/// `view/instances;_expand`, four instances.
pub const INSTANCES: &str = include_str!("../fixtures/instances.json");
/// `aws/loadBalancers;_expand`: `web-frontend` and `api-internal` list `i-0a1b2c3d4e5f60718`.
pub const LOAD_BALANCERS: &str = include_str!("../fixtures/load_balancers.json");
/// `aws/securityGroups;_expand`: `web` and `ops`.
pub const SECURITY_GROUPS: &str = include_str!("../fixtures/security_groups.json");
const INSTANCE: &str = include_str!("../fixtures/instance.json");

/// A `view.instances` bean (in groups `web` and `ops`, key `ops`, us-east-1, account
/// 123456789012) with this id, public IP, launch time and tags.
pub fn instance(id: &str, public_ip: Option<&str>, launched: u64, tags: &[(&str, &str)]) -> Value {
    let mut doc: Value = serde_json::from_str(INSTANCE).expect("the instance fixture is JSON");
    doc["instanceId"] = json!(id);
    doc["publicIpAddress"] = json!(public_ip);
    doc["launchTime"] = json!(launched);
    doc["tags"] = tags
        .iter()
        .map(|&(key, value)| {
            json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": key, "value": value, key: value})
        })
        .collect();
    doc
}

/// A `ResourceRecordSet` bean of zone `example.com.`.
pub fn record(name: &str, record_type: &str, values: &[&str]) -> Value {
    let r53 = "com.amazonaws.services.route53.model.";
    json!({
        "TTL": 300,
        "aliasTarget": null,
        "class": format!("{r53}ResourceRecordSet"),
        "failover": null,
        "geoLocation": null,
        "healthCheckId": null,
        "multiValueAnswer": null,
        "name": name,
        "region": null,
        "resourceRecords": values
            .iter()
            .map(|v| json!({"class": format!("{r53}ResourceRecord"), "value": v}))
            .collect::<Vec<_>>(),
        "setIdentifier": null,
        "trafficPolicyInstanceId": null,
        "type": record_type,
        "weight": null,
        "zone": {"id": "/hostedzone/Z1D633PJN98FT9", "name": "example.com."},
    })
}
