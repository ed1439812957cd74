//! The missingtag rule end to end through the SDK's native harness: tagged and untagged
//! instances on both sides of `since`, the alert id fallbacks, ordering and exact alerts.

use reddalert_rule_util::report_fixtures as support;

use crate::MissingTag;
use reddalert_rule_sdk::Output;
use reddalert_rule_sdk::models::{
    INSTANCES_SELECTED, LOAD_BALANCERS_SELECTED, SECURITY_GROUPS_SELECTED,
};
use reddalert_rule_sdk::serde_json::{Value, json};
use reddalert_rule_sdk::testing::Harness;
use support::*;

const HOUR: u64 = 3_600_000;

fn run(instances: Vec<Value>) -> Output {
    Harness::<MissingTag>::new()
        .data_json(INSTANCES_SELECTED, Value::Array(instances))
        .data(LOAD_BALANCERS_SELECTED, LOAD_BALANCERS_JSON)
        .data(SECURITY_GROUPS_SELECTED, SECURITY_GROUPS_JSON)
        .window(SINCE, UNTIL)
        .run()
        .expect("the rule runs")
}

#[test]
fn an_untagged_new_instance_is_reported_under_its_service_type() {
    let tags = [
        ("Name", "web-v042"),
        ("aws:autoscaling:groupName", "web-v042"),
    ];
    let out = run(vec![instance(IN_TWO_ELBS, "ami-1", SINCE + HOUR, &tags)]);
    let expected = report(IN_TWO_ELBS, SINCE + HOUR, &tags, "web-v042");
    assert_eq!(pairs(&out), vec![("web-v042".to_owned(), expected)]);
    assert_eq!(out.state, None);
}

#[test]
fn a_tagged_instance_is_not_reported() {
    let tags = [("Name", "web"), ("service_name", "web")];
    assert_eq!(
        pairs(&run(vec![instance(
            "i-00000000000000a01",
            "ami-1",
            SINCE + HOUR,
            &tags
        )])),
        vec![]
    );
}

#[test]
fn instances_launched_at_or_before_since_are_not_reported() {
    let tags = [("Name", "old")];
    let instances = vec![
        instance("i-00000000000000a01", "ami-1", SINCE - HOUR, &tags),
        instance("i-00000000000000a02", "ami-1", SINCE, &tags),
    ];
    assert_eq!(pairs(&run(instances)), vec![]);
}

#[test]
fn the_id_falls_back_to_the_ami_then_the_instance() {
    let bare = instance(IN_ONE_ELB, "ami-0abc1234", SINCE + HOUR, &[]);
    let mut imageless = instance("i-00000000000000b01", "", SINCE + 2 * HOUR, &[]);
    imageless["imageId"] = Value::Null;
    let out = run(vec![imageless, bare]);
    let expected = vec![
        (
            "ami-0abc1234".to_owned(),
            report(IN_ONE_ELB, SINCE + HOUR, &[], "ami-0abc1234"),
        ),
        (
            "i-00000000000000b01".to_owned(),
            report("i-00000000000000b01", SINCE + 2 * HOUR, &[], ""),
        ),
    ];
    assert_eq!(pairs(&out), expected);
}

#[test]
fn an_empty_service_name_counts_as_missing() {
    let tags = [("Name", "batch"), ("service_name", "")];
    let out = run(vec![instance(
        "i-00000000000000a01",
        "ami-1",
        SINCE + HOUR,
        &tags,
    )]);
    let expected = report("i-00000000000000a01", SINCE + HOUR, &tags, "batch");
    assert_eq!(pairs(&out), vec![("batch".to_owned(), expected)]);
}

#[test]
fn terminated_and_undated_instances() {
    let tags = [("Name", "batch")];
    let gone = in_state(
        instance("i-00000000000000a01", "ami-1", SINCE + HOUR, &tags),
        "terminated",
        48,
    );
    let mut undated = instance("i-00000000000000a02", "ami-1", 0, &tags);
    undated["launchTime"] = Value::Null;
    let expected = report("i-00000000000000a01", SINCE + HOUR, &tags, "batch");
    assert_eq!(
        pairs(&run(vec![gone, undated])),
        vec![("batch".to_owned(), expected)]
    );
}

#[test]
fn alerts_are_ordered_by_id_then_launch_then_instance() {
    let instances = vec![
        instance(
            "i-00000000000000c01",
            "ami-1",
            SINCE + HOUR,
            &[("Name", "zeta")],
        ),
        instance(
            "i-00000000000000a02",
            "ami-1",
            SINCE + HOUR,
            &[("Name", "alpha")],
        ),
        instance(
            "i-00000000000000a01",
            "ami-1",
            SINCE + HOUR,
            &[("Name", "alpha")],
        ),
        instance(
            "i-00000000000000a00",
            "ami-1",
            SINCE + 2 * HOUR,
            &[("Name", "alpha")],
        ),
    ];
    let out = run(instances);
    let order: Vec<_> = out
        .alerts
        .iter()
        .map(|a| (a.id.as_str(), a.details["instanceId"].clone()))
        .collect();
    let expected = [
        ("alpha", json!("i-00000000000000a01")),
        ("alpha", json!("i-00000000000000a02")),
        ("alpha", json!("i-00000000000000a00")),
        ("zeta", json!("i-00000000000000c01")),
    ];
    assert_eq!(order, expected);
}

#[test]
fn info_declares_the_report_queries() {
    use reddalert_rule_sdk::Rule;
    let info = MissingTag::info();
    let paths: Vec<_> = info
        .queries
        .iter()
        .map(|q| (q.path.as_str(), q.window))
        .collect();
    assert_eq!(paths, DECLARED_QUERIES);
    assert_eq!(
        (info.name.as_str(), info.default_config),
        ("missingtag", json!({}))
    );
}
