//! The ami rule end to end through the SDK's native harness: first-seen merging, the window,
//! `allowed_tags`, config and state errors, and the exact alerts and state it returns.

use reddalert_rule_util::report_fixtures as support;

use crate::Ami;
use reddalert_rule_sdk::Output;
use reddalert_rule_sdk::anyhow::Result;
use reddalert_rule_sdk::host::Level;
use reddalert_rule_sdk::models::{
    INSTANCES_SELECTED, LOAD_BALANCERS_SELECTED, SECURITY_GROUPS_SELECTED,
};
use reddalert_rule_sdk::serde_json::{Value, json};
use reddalert_rule_sdk::testing::{Harness, capture_logs};
use support::*;

const HOUR: u64 = 3_600_000;

fn run_with(instances: Vec<Value>, state: Option<Value>, config: Value) -> Result<Output> {
    let mut harness = Harness::<Ami>::new()
        .data_json(INSTANCES_SELECTED, Value::Array(instances))
        .data(LOAD_BALANCERS_SELECTED, LOAD_BALANCERS_JSON)
        .data(SECURITY_GROUPS_SELECTED, SECURITY_GROUPS_JSON)
        .config(config)
        .window(SINCE, UNTIL);
    if let Some(state) = state {
        harness = harness.state(state);
    }
    harness.run()
}

fn run(instances: Vec<Value>, state: Value) -> Output {
    run_with(instances, Some(state), json!({})).expect("the rule runs")
}

#[test]
fn a_new_ami_reports_each_new_instance_and_is_remembered() {
    let web = [("service_name", "web")];
    let api = [("Name", "api-v7")];
    let instances = vec![
        instance("i-00000000000000b02", "ami-new", SINCE + 2 * HOUR, &api),
        instance(IN_TWO_ELBS, "ami-new", SINCE + HOUR, &web),
        instance("i-00000000000000c03", "ami-old", SINCE + HOUR, &web),
    ];
    let state = json!({"first_seen": {"ami-old": SINCE - HOUR}});
    let out = run(instances, state);
    let expected = vec![
        (
            "ami-new".to_owned(),
            report(IN_TWO_ELBS, SINCE + HOUR, &web, "web"),
        ),
        (
            "ami-new".to_owned(),
            report("i-00000000000000b02", SINCE + 2 * HOUR, &api, "api-v7"),
        ),
    ];
    assert_eq!(pairs(&out), expected);
    let state = json!({"first_seen": {"ami-new": SINCE + HOUR, "ami-old": SINCE - HOUR}});
    assert_eq!(out.state, Some(state));
}

#[test]
fn an_ami_first_launched_before_since_is_not_new() {
    // Its old instance sets first_seen before `since`, so the new one is not reported either.
    let instances = vec![
        instance("i-00000000000000a01", "ami-1", SINCE - HOUR, &[]),
        instance("i-00000000000000a02", "ami-1", SINCE + HOUR, &[]),
    ];
    let out = run(instances, json!({}));
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(
        out.state,
        Some(json!({"first_seen": {"ami-1": SINCE - HOUR}}))
    );
}

#[test]
fn a_stored_earlier_first_seen_wins() {
    let instances = vec![instance("i-00000000000000a01", "ami-1", SINCE + HOUR, &[])];
    let out = run(instances, json!({"first_seen": {"ami-1": SINCE - 1}}));
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(json!({"first_seen": {"ami-1": SINCE - 1}})));
}

#[test]
fn an_earlier_launch_lowers_a_stored_first_seen_and_unused_amis_are_kept() {
    let instances = vec![instance("i-00000000000000a01", "ami-1", SINCE + HOUR, &[])];
    let state =
        json!({"first_seen": {"ami-1": SINCE + 5 * HOUR, "ami-gone": 1_382_092_709_000u64}});
    let out = run(instances, state);
    let expected = report("i-00000000000000a01", SINCE + HOUR, &[], "ami-1");
    assert_eq!(pairs(&out), vec![("ami-1".to_owned(), expected)]);
    let state = json!({"first_seen": {"ami-1": SINCE + HOUR, "ami-gone": 1_382_092_709_000u64}});
    assert_eq!(out.state, Some(state));
}

#[test]
fn first_seen_exactly_at_since_is_new() {
    let instances = vec![instance(
        "i-00000000000000a01",
        "ami-1",
        SINCE,
        &[("Name", "edge")],
    )];
    let out = run(instances, json!({"first_seen": {}}));
    let expected = report("i-00000000000000a01", SINCE, &[("Name", "edge")], "edge");
    assert_eq!(pairs(&out), vec![("ami-1".to_owned(), expected)]);
}

#[test]
fn allowed_tags_hide_instances_but_not_the_ami_from_the_state() {
    let jenkins = [("service_name", "jenkins")];
    let web = [("service_name", "web")];
    let instances = vec![
        instance("i-00000000000000a01", "ami-1", SINCE + HOUR, &jenkins),
        instance("i-00000000000000a02", "ami-1", SINCE + 2 * HOUR, &web),
        instance("i-00000000000000b01", "ami-2", SINCE + HOUR, &jenkins),
    ];
    let config = json!({"allowed_tags": ["jenkins"]});
    let out = run_with(instances, None, config).expect("the rule runs");
    let expected = report("i-00000000000000a02", SINCE + 2 * HOUR, &web, "web");
    assert_eq!(pairs(&out), vec![("ami-1".to_owned(), expected)]);
    let state = json!({"first_seen": {"ami-1": SINCE + HOUR, "ami-2": SINCE + HOUR}});
    assert_eq!(out.state, Some(state));
}

#[test]
fn terminated_instances_count_as_the_original_counted_them() {
    let gone = in_state(
        instance(IN_ONE_ELB, "ami-1", SINCE + HOUR, &[]),
        "terminated",
        48,
    );
    let out = run(vec![gone], json!({}));
    let expected = report(IN_ONE_ELB, SINCE + HOUR, &[], "ami-1");
    assert_eq!(pairs(&out), vec![("ami-1".to_owned(), expected)]);
}

#[test]
fn alerts_are_ordered_by_ami_then_launch_then_instance() {
    let instances = vec![
        instance("i-00000000000000c01", "ami-b", SINCE + HOUR, &[]),
        instance("i-00000000000000a02", "ami-a", SINCE + HOUR, &[]),
        instance("i-00000000000000a01", "ami-a", SINCE + HOUR, &[]),
        instance("i-00000000000000a00", "ami-a", SINCE + 2 * HOUR, &[]),
    ];
    let out = run(instances, json!({}));
    let order: Vec<_> = out
        .alerts
        .iter()
        .map(|a| (a.id.as_str(), a.details["instanceId"].clone()))
        .collect();
    let expected = [
        ("ami-a", json!("i-00000000000000a01")),
        ("ami-a", json!("i-00000000000000a02")),
        ("ami-a", json!("i-00000000000000a00")),
        ("ami-b", json!("i-00000000000000c01")),
    ];
    assert_eq!(order, expected);
}

#[test]
fn missing_launch_time_is_old_and_missing_image_is_skipped() {
    let mut undated = instance("i-00000000000000a01", "ami-1", 0, &[]);
    undated["launchTime"] = Value::Null;
    let mut imageless = instance("i-00000000000000b01", "ami-x", SINCE + HOUR, &[]);
    imageless["imageId"] = Value::Null;
    let dated = instance("i-00000000000000a02", "ami-1", SINCE + HOUR, &[]);
    let out = run(vec![undated, imageless, dated], json!({}));
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(json!({"first_seen": {"ami-1": 0}})));
}

#[test]
fn a_first_run_reports_every_ami() {
    let instances = vec![instance(
        "i-00000000000000a01",
        "ami-1",
        SINCE - 900 * HOUR,
        &[],
    )];
    let out = Harness::<Ami>::new()
        .data_json(INSTANCES_SELECTED, Value::Array(instances))
        .data(LOAD_BALANCERS_SELECTED, LOAD_BALANCERS_JSON)
        .data(SECURITY_GROUPS_SELECTED, SECURITY_GROUPS_JSON)
        .window(0, UNTIL)
        .run()
        .expect("the rule runs");
    let expected = report("i-00000000000000a01", SINCE - 900 * HOUR, &[], "ami-1");
    assert_eq!(pairs(&out), vec![("ami-1".to_owned(), expected)]);
    assert_eq!(
        out.state,
        Some(json!({"first_seen": {"ami-1": SINCE - 900 * HOUR}}))
    );
}

#[test]
fn wrong_config_types_are_errors_naming_key_and_value() {
    for (value, message) in [
        (
            json!(5),
            "allowed_tags: invalid type: integer `5`, expected a sequence",
        ),
        (
            json!(["web", 1]),
            "allowed_tags[1]: invalid type: integer `1`, expected a string",
        ),
    ] {
        let err = run_with(vec![], None, json!({"allowed_tags": value})).expect_err("bad config");
        assert_eq!(err.to_string(), format!("ami: {message}"));
    }
    // `null` is "not set", as a key left out (the SDK's rule for every rule).
    assert_eq!(
        run_with(vec![], None, json!({"allowed_tags": null})).expect("null reads as unset"),
        run_with(vec![], None, json!({})).expect("runs")
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let jenkins = [("service_name", "jenkins")];
    // A typo of `allowed_tags` hides nothing: the jenkins instance is still reported.
    let instances = || {
        vec![instance(
            "i-00000000000000a01",
            "ami-1",
            SINCE + HOUR,
            &jenkins,
        )]
    };
    let mut typo = None;
    let logged = capture_logs(|| {
        typo = Some(run_with(
            instances(),
            None,
            json!({"allowed_tag": ["jenkins"]}),
        ));
    });
    let typo = typo.expect("ran").expect("the rule runs");
    let default = run_with(instances(), None, json!({})).expect("the rule runs");
    assert_eq!(typo.alerts.len(), 1);
    assert_eq!(typo, default);
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"ami: unknown config key "allowed_tag" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn a_malformed_state_is_an_error() {
    let err =
        run_with(vec![], Some(json!({"first_seen": ["ami-1"]})), json!({})).expect_err("bad state");
    assert!(
        err.to_string().starts_with("ami: the stored state"),
        "{err:#}"
    );
}

#[test]
fn info_declares_the_report_queries_and_defaults() {
    use reddalert_rule_sdk::Rule;
    let info = Ami::info();
    let paths: Vec<_> = info
        .queries
        .iter()
        .map(|q| (q.path.as_str(), q.window))
        .collect();
    assert_eq!(paths, DECLARED_QUERIES);
    assert_eq!(
        (info.name.as_str(), info.default_config),
        ("ami", json!({"allowed_tags": []}))
    );
}
