//! Unit tests of the instance report, over fixtures shaped like EDDA's documents (§4 of the
//! EDDA notes): one full `view.instances` bean, three load balancers and three groups. The
//! documents are the ones `reddalert-rule-util` serves the rules' tests, read from its
//! directory: util depends on the SDK, so the SDK cannot take them through a dependency.

use serde_json::{Value, json};

use super::*;
use crate::models::{INSTANCES, Instance};

const INSTANCE: &str = include_str!("../../../util/fixtures/instance.json");
const LOAD_BALANCERS_JSON: &str = include_str!("../../../util/fixtures/load_balancers.json");
const SECURITY_GROUPS_JSON: &str = include_str!("../../../util/fixtures/security_groups.json");

/// The fixture instance with some top-level fields replaced.
fn instance(changes: Value) -> Instance {
    let mut doc: Value = serde_json::from_str(INSTANCE).expect("instance fixture is JSON");
    if let (Some(doc), Value::Object(changes)) = (doc.as_object_mut(), changes) {
        doc.extend(changes);
    }
    serde_json::from_value(doc).expect("instance fixture parses")
}

/// A flattened EC2 tag, as EDDA serves it.
fn tag(key: &str, value: &str) -> Value {
    json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": key, "value": value, key: value})
}

fn context() -> ReportContext {
    let data = Data::new(vec![
        (
            LOAD_BALANCERS_SELECTED.to_owned(),
            LOAD_BALANCERS_JSON.to_owned(),
        ),
        (
            SECURITY_GROUPS_SELECTED.to_owned(),
            SECURITY_GROUPS_JSON.to_owned(),
        ),
    ]);
    ReportContext::from_data(&data).expect("fixtures parse")
}

#[test]
fn full_report_of_the_fixture_instance() {
    let report = context().report(&instance(json!({})));
    let expected = json!({
        "instanceId": "i-0a1b2c3d4e5f60718",
        "tags": {"Name": "web-v042", "aws:autoscaling:groupName": "web-v042"},
        "keyName": "ops",
        "started": 1514764800000u64,
        "service_type": "web-v042",
        "elbs": [
            {
                "DNSName": "internal-api-internal-987654321.us-east-1.elb.amazonaws.com",
                "instances": ["i-0a1b2c3d4e5f60718"],
                "ports": [8080]
            },
            {
                "DNSName": "web-frontend-1234567890.us-east-1.elb.amazonaws.com",
                "instances": ["i-0a1b2c3d4e5f60718", "i-0f0e0d0c0b0a09080"],
                "ports": [80, 443]
            }
        ],
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
    });
    assert_eq!(serde_json::to_value(&report).expect("serialises"), expected);
}

#[test]
fn service_type_follows_the_lookup_order() {
    let all = [
        tag("aws:autoscaling:groupName", "asg"),
        tag("aws:cloudformation:stack-name", "stack"),
        tag("Name", "name"),
        tag("service_name", "svc"),
    ];
    for (skip, expected) in [
        (0, "svc"),
        (1, "name"),
        (2, "stack"),
        (3, "asg"),
        (4, "ami-0abc1234"),
    ] {
        let tags: Vec<Value> = all[..all.len() - skip].to_vec();
        assert_eq!(
            service_type(&instance(json!({"tags": tags}))),
            expected,
            "without {skip} tags"
        );
    }
}

#[test]
fn service_type_skips_empty_and_null_values() {
    let null_name = json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": "Name", "value": null, "Name": null});
    let tags = json!([
        tag("service_name", ""),
        null_name,
        tag("aws:autoscaling:groupName", "asg")
    ]);
    assert_eq!(service_type(&instance(json!({"tags": tags}))), "asg");
    assert_eq!(service_type(&instance(json!({"tags": []}))), "ami-0abc1234");
}

#[test]
fn region_drops_the_zone_letters() {
    assert_eq!(region_of("us-east-1c").as_deref(), Some("us-east-1"));
    assert_eq!(
        region_of("us-west-2-lax-1a").as_deref(),
        Some("us-west-2-lax-1")
    );
    assert_eq!(region_of("eu-west-1").as_deref(), Some("eu-west-1"));
    assert_eq!(region_of(""), None);
    assert_eq!(region_of("abc"), None);
}

#[test]
fn account_is_the_fifth_arn_field() {
    let arn = "arn:aws:iam::123456789012:instance-profile/web";
    assert_eq!(account_of(arn).as_deref(), Some("123456789012"));
    assert_eq!(account_of("arn:aws:iam:::instance-profile/web"), None);
    assert_eq!(account_of("not-an-arn"), None);
}

#[test]
fn no_profile_and_no_placement_give_nulls() {
    let bare = instance(json!({"iamInstanceProfile": null, "placement": null, "keyName": null}));
    let report = context().report(&bare);
    assert_eq!(
        (report.aws_account, report.aws_region, report.key_name),
        (None, None, None)
    );
    let no_arn = instance(json!({"iamInstanceProfile": {"arn": null, "class": "x", "id": null}}));
    let zone =
        json!({"availabilityZone": null, "class": "com.amazonaws.services.ec2.model.Placement"});
    let no_zone = instance(json!({"placement": zone}));
    assert_eq!(context().report(&no_arn).aws_account, None);
    assert_eq!(context().report(&no_zone).aws_region, None);
}

#[test]
fn elbs_list_only_the_load_balancers_holding_the_instance() {
    let ctx = context();
    let other = ctx.report(&instance(json!({"instanceId": "i-0f0e0d0c0b0a09080"})));
    let dns: Vec<_> = other.elbs.iter().map(|e| e.dns_name.as_deref()).collect();
    assert_eq!(
        dns,
        [Some("web-frontend-1234567890.us-east-1.elb.amazonaws.com")]
    );
    let alone = ctx.report(&instance(json!({"instanceId": "i-00000000000000001"})));
    assert_eq!(alone.elbs, []);
}

#[test]
fn an_instance_listed_twice_names_its_elb_once() {
    let lb: LoadBalancer = serde_json::from_value(json!({
        "loadBalancerName": "dup", "DNSName": "dup.example", "instances": [
            {"instanceId": "i-0a1b2c3d4e5f60718"}, {"instanceId": "i-0a1b2c3d4e5f60718"}
        ], "listenerDescriptions": null
    }))
    .expect("parses");
    let report = ReportContext::new(&[lb], &[]).report(&instance(json!({})));
    assert_eq!(report.elbs.len(), 1);
    assert_eq!(report.elbs[0].ports, Vec::<i64>::new());
}

#[test]
fn open_ports_follow_the_instance_groups() {
    let ctx = context();
    let groups = json!([
        {"class": "com.amazonaws.services.ec2.model.GroupIdentifier", "groupId": "sg-0e0f1a2b", "groupName": "ops"},
        {"class": "com.amazonaws.services.ec2.model.GroupIdentifier", "groupId": "sg-gone", "groupName": "gone"},
        {"class": "com.amazonaws.services.ec2.model.GroupIdentifier", "groupId": "sg-0c0c0c0c", "groupName": "unused"}
    ]);
    let report = ctx.report(&instance(json!({"securityGroups": groups})));
    let ports = serde_json::to_value(&report.open_ports).expect("serialises");
    let expected = json!([
        [
            {"port": 22, "range": "10.0.0.0/8"},
            {"port": 22, "range": "192.168.0.0/16"},
            {"port": null, "range": "10.1.0.0/16"}
        ],
        [],
        [{"port": 3306, "range": "0.0.0.0/0"}]
    ]);
    assert_eq!(ports, expected);
    let none = ctx.report(&instance(json!({"securityGroups": []})));
    assert_eq!(none.open_ports, Vec::<Vec<OpenPort>>::new());
}

#[test]
fn missing_launch_time_reports_zero_and_extra_fields_are_flattened() {
    let mut report = context().report(&instance(json!({"launchTime": null})));
    assert_eq!(report.started, 0);
    report.extra.insert("chef_node".into(), json!("web-1"));
    let value = serde_json::to_value(&report).expect("serialises");
    assert_eq!(value["chef_node"], "web-1");
    assert_eq!(value["instanceId"], "i-0a1b2c3d4e5f60718");
}

#[test]
fn queries_and_missing_data() {
    let paths: Vec<_> = report_queries()
        .into_iter()
        .map(|q| (q.path, q.window))
        .collect();
    let expected = [
        (LOAD_BALANCERS_SELECTED.to_owned(), false),
        (SECURITY_GROUPS_SELECTED.to_owned(), false),
    ];
    assert_eq!(paths, expected);
    let data = Data::new(vec![(INSTANCES.to_owned(), "[]".to_owned())]);
    let err = ReportContext::from_data(&data).expect_err("load balancers are missing");
    assert!(err.to_string().contains(LOAD_BALANCERS_SELECTED), "{err}");
}
