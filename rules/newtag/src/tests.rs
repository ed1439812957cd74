//! The newtag rule end to end through the SDK's native harness: groups that are all new or
//! partly old, the ignored values, terminated instances, ordering and the exact alerts.

use reddalert_rule_util::report_fixtures as support;

use crate::NewTag;
use reddalert_rule_sdk::Output;
use reddalert_rule_sdk::models::{
    INSTANCES_SELECTED, LOAD_BALANCERS_SELECTED, SECURITY_GROUPS_SELECTED,
};
use reddalert_rule_sdk::serde_json::{Value, json};
use reddalert_rule_sdk::testing::Harness;
use support::*;

const HOUR: u64 = 3_600_000;

fn run(instances: Vec<Value>) -> Output {
    Harness::<NewTag>::new()
        .data_json(INSTANCES_SELECTED, Value::Array(instances))
        .data(LOAD_BALANCERS_SELECTED, LOAD_BALANCERS_JSON)
        .data(SECURITY_GROUPS_SELECTED, SECURITY_GROUPS_JSON)
        .window(SINCE, UNTIL)
        .run()
        .expect("the rule runs")
}

#[test]
fn a_value_only_new_instances_carry_reports_each_of_them() {
    let search = [("Name", "search-v1"), ("service_name", "search")];
    let instances = vec![
        instance(IN_ONE_ELB, "ami-1", SINCE + 2 * HOUR, &search),
        instance(IN_TWO_ELBS, "ami-1", SINCE + HOUR, &search),
    ];
    let out = run(instances);
    let expected = vec![
        (
            "search".to_owned(),
            report(IN_TWO_ELBS, SINCE + HOUR, &search, "search"),
        ),
        (
            "search".to_owned(),
            report(IN_ONE_ELB, SINCE + 2 * HOUR, &search, "search"),
        ),
    ];
    assert_eq!(pairs(&out), expected);
    assert_eq!(out.state, None);
}

#[test]
fn a_value_with_an_old_instance_is_known() {
    let web = [("service_name", "web")];
    let instances = vec![
        instance("i-00000000000000a01", "ami-1", SINCE - HOUR, &web),
        instance("i-00000000000000a02", "ami-2", SINCE + HOUR, &web),
    ];
    assert_eq!(pairs(&run(instances)), vec![]);
}

#[test]
fn launched_exactly_at_since_is_new() {
    let tags = [("service_name", "edge")];
    let out = run(vec![instance("i-00000000000000a01", "ami-1", SINCE, &tags)]);
    let expected = report("i-00000000000000a01", SINCE, &tags, "edge");
    assert_eq!(pairs(&out), vec![("edge".to_owned(), expected)]);
}

#[test]
fn testapp_empty_and_missing_values_are_ignored() {
    let instances = vec![
        instance(
            "i-00000000000000a01",
            "ami-1",
            SINCE + HOUR,
            &[("service_name", "testapp")],
        ),
        instance(
            "i-00000000000000a02",
            "ami-1",
            SINCE + HOUR,
            &[("service_name", "")],
        ),
        instance(
            "i-00000000000000a03",
            "ami-1",
            SINCE + HOUR,
            &[("Name", "untagged")],
        ),
    ];
    assert_eq!(pairs(&run(instances)), vec![]);
}

#[test]
fn a_terminated_old_instance_still_marks_its_value_known() {
    let web = [("service_name", "web")];
    let old = instance("i-00000000000000a01", "ami-1", SINCE - HOUR, &web);
    let instances = vec![
        in_state(old, "terminated", 48),
        instance("i-00000000000000a02", "ami-2", SINCE + HOUR, &web),
    ];
    assert_eq!(pairs(&run(instances)), vec![]);
}

#[test]
fn a_terminated_new_instance_is_still_reported() {
    let tags = [("service_name", "batch")];
    let gone = in_state(
        instance("i-00000000000000a01", "ami-1", SINCE + HOUR, &tags),
        "terminated",
        48,
    );
    let expected = report("i-00000000000000a01", SINCE + HOUR, &tags, "batch");
    assert_eq!(
        pairs(&run(vec![gone])),
        vec![("batch".to_owned(), expected)]
    );
}

#[test]
fn a_missing_launch_time_makes_the_group_old() {
    let web = [("service_name", "web")];
    let mut undated = instance("i-00000000000000a01", "ami-1", 0, &web);
    undated["launchTime"] = Value::Null;
    let instances = vec![
        undated,
        instance("i-00000000000000a02", "ami-1", SINCE + HOUR, &web),
    ];
    assert_eq!(pairs(&run(instances)), vec![]);
}

#[test]
fn alerts_are_ordered_by_value_then_launch_then_instance() {
    let instances = vec![
        instance(
            "i-00000000000000c01",
            "ami-1",
            SINCE + HOUR,
            &[("service_name", "zeta")],
        ),
        instance(
            "i-00000000000000a02",
            "ami-1",
            SINCE + HOUR,
            &[("service_name", "alpha")],
        ),
        instance(
            "i-00000000000000a01",
            "ami-1",
            SINCE + HOUR,
            &[("service_name", "alpha")],
        ),
        instance(
            "i-00000000000000a00",
            "ami-1",
            SINCE + 2 * HOUR,
            &[("service_name", "alpha")],
        ),
        instance(
            "i-00000000000000b01",
            "ami-1",
            SINCE - HOUR,
            &[("service_name", "beta")],
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
    let info = NewTag::info();
    let paths: Vec<_> = info
        .queries
        .iter()
        .map(|q| (q.path.as_str(), q.window))
        .collect();
    assert_eq!(paths, DECLARED_QUERIES);
    assert_eq!(
        (info.name.as_str(), info.default_config),
        ("newtag", json!({}))
    );
}
