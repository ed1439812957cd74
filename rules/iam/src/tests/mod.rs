//! Tests of the iam rule run natively through the SDK harness. The `_diff` fixtures under
//! `tests/fixtures/` are EDDA's text for `aws/iamUsers/<name>;_diff=200` over a window: one
//! unified-diff block per adjacent pair of revisions (newest pair first), pretty-printed
//! documents with sorted keys, `"key" : value`, `[ ]` and ISO dates. `frank.json` is a user
//! document as EDDA serves it without `_pp` (compact, dates in epoch ms).

mod batches;
mod errors;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json;
use reddalert_rule_sdk::testing::Harness;

use crate::Iam;

const ALICE: &str = include_str!("../../tests/fixtures/alice_two_blocks.diff");
const BOB: &str = include_str!("../../tests/fixtures/bob_removed_from_last.diff");
const CAROL: &str = include_str!("../../tests/fixtures/carol_removed_and_reordered.diff");
const ERIN: &str = include_str!("../../tests/fixtures/erin_keys_only.diff");
const GRACE: &str = include_str!("../../tests/fixtures/grace_many_policies.diff");
const HENRY: &str = include_str!("../../tests/fixtures/henry_first_group.diff");
const FRANK: &str = include_str!("../../tests/fixtures/frank.json");

const SINGLE: &str = "_diff requires at least 2 documents, only 1 found";

/// EDDA's answer for one user's `_diff` query or document.
type Answer = (&'static str, Result<String, EddaError>);

fn diff_path(user: &str) -> String {
    format!("aws/iamUsers/{user};_diff=200")
}

fn http(status: u16, name: &str, message: &str) -> EddaError {
    EddaError::Http {
        status,
        name: Some(name.into()),
        message: message.into(),
    }
}

fn diff(user: &'static str, text: &str) -> Answer {
    (user, Ok(text.to_owned()))
}

fn single(user: &'static str) -> Answer {
    (user, Err(http(400, "BAD_REQUEST", SINGLE)))
}

/// Runs the rule over the changed-user ids with canned `_diff` answers (keyed by user) and
/// canned documents (keyed by full path).
fn run(
    config: Value,
    ids: Value,
    diffs: Vec<Answer>,
    docs: Vec<(&str, Result<String, EddaError>)>,
) -> Result<Vec<(String, Value)>> {
    let mut harness = Harness::<Iam>::new()
        .config(config)
        .data_json(IAM_USERS, ids)
        .window(1_514_764_800_001, 1_514_779_200_000);
    for (user, answer) in diffs {
        harness = harness.edda(&diff_path(user), answer);
    }
    for (path, answer) in docs {
        harness = harness.edda(path, answer);
    }
    let out = harness.run()?;
    assert_eq!(out.state, None, "iam keeps no state");
    Ok(out.alerts.into_iter().map(|a| (a.id, a.details)).collect())
}

fn one(user: &'static str, text: &str) -> Vec<(String, Value)> {
    run(json!({}), json!([user]), vec![diff(user, text)], vec![]).expect("rule runs")
}

fn added(user: &str, groups: &[&str]) -> (String, Value) {
    let message = format!("Groups the user has been added to: {}", groups.join(", "));
    (
        user.to_owned(),
        json!({"message": message, "groups": groups}),
    )
}

#[test]
fn groups_added_in_every_block_are_reported_once_sorted() {
    // Newest block: devops → devops + admins; older block: developers → developers + devops.
    assert_eq!(
        one("alice", ALICE),
        vec![added("alice", &["admins", "devops"])]
    );
}

#[test]
fn removal_from_the_last_group_is_not_an_addition() {
    // `"developers",` became `"developers"`: the original reported "developers" as added.
    assert_eq!(one("bob", BOB), vec![]);
}

#[test]
fn removal_and_reordering_add_nothing() {
    assert_eq!(one("carol", CAROL), vec![]);
}

#[test]
fn changes_outside_the_groups_add_nothing() {
    assert_eq!(one("erin", ERIN), vec![]);
}

#[test]
fn long_document_cut_by_the_hunk_still_shows_its_groups() {
    assert_eq!(one("grace", GRACE), vec![added("grace", &["admins"])]);
}

#[test]
fn first_group_of_a_user() {
    assert_eq!(one("henry", HENRY), vec![added("henry", &["developers"])]);
}

#[test]
fn identical_revisions_make_an_empty_diff() {
    assert_eq!(one("ivan", ""), vec![]);
}

#[test]
fn single_revision_means_a_new_user() {
    let doc: Value = serde_json::from_str(FRANK).expect("fixture is JSON");
    let alerts = run(
        json!({}),
        json!(["frank"]),
        vec![single("frank")],
        vec![("aws/iamUsers/frank", Ok(FRANK.into()))],
    );
    let expected = (
        "frank".to_owned(),
        json!({"message": "New user has been added", "user": doc}),
    );
    assert_eq!(alerts.expect("rule runs"), vec![expected]);
}

#[test]
fn new_user_already_gone_is_skipped() {
    let gone = http(
        410,
        "GONE",
        r#"record "frank" is no longer valid in collection aws.iamUsers. Use _at, _since or _all arguments to fetch historical records.  Last seen at 1514772000000"#,
    );
    let alerts = run(
        json!({}),
        json!(["frank"]),
        vec![single("frank")],
        vec![("aws/iamUsers/frank", Err(gone))],
    );
    assert_eq!(alerts.expect("rule runs"), vec![]);
}

#[test]
fn deleted_users_are_skipped() {
    let gone = http(
        410,
        "GONE",
        "record \"carol\" is no longer valid in collection aws.iamUsers",
    );
    let missing = http(
        404,
        "NOT_FOUND",
        "record \"dave\" not found in collection aws.iamUsers",
    );
    let alerts = run(
        json!({}),
        json!(["carol", "dave"]),
        vec![("carol", Err(gone)), ("dave", Err(missing))],
        vec![],
    );
    assert_eq!(alerts.expect("rule runs"), vec![]);
}

#[test]
fn allowed_users_are_not_even_queried() {
    // `deploy-bot` has no canned answer: querying it would fail the run.
    let config = json!({"allowed": ["deploy", "svc-[0-9]+$"]});
    let ids = json!(["deploy-bot", "svc-12", "bot-deploy", "svc-12a"]);
    let diffs = vec![diff("bot-deploy", HENRY), diff("svc-12a", ALICE)];
    let alerts = run(config, ids, diffs, vec![]).expect("rule runs");
    assert_eq!(
        alerts,
        vec![
            added("bot-deploy", &["developers"]),
            added("svc-12a", &["admins", "devops"])
        ]
    );
}

#[test]
fn repeated_ids_are_checked_once_and_alerts_come_sorted() {
    let ids = json!(["henry", "alice", "frank", "henry", "alice", "bob", "alice"]);
    let diffs = vec![
        diff("alice", ALICE),
        diff("bob", BOB),
        single("frank"),
        diff("henry", HENRY),
    ];
    let alerts = run(
        json!({}),
        ids,
        diffs,
        vec![("aws/iamUsers/frank", Ok(FRANK.into()))],
    )
    .expect("rule runs");
    let ids: Vec<&str> = alerts.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["alice", "frank", "henry"]);
    assert_eq!(alerts[0], added("alice", &["admins", "devops"]));
    assert_eq!(alerts[2], added("henry", &["developers"]));
}

#[test]
fn user_name_with_a_comma_is_skipped() {
    assert_eq!(
        run(json!({}), json!(["a,b"]), vec![], vec![]).expect("rule runs"),
        vec![]
    );
}

#[test]
fn no_changed_users_no_alerts() {
    assert_eq!(
        run(json!({}), json!([]), vec![], vec![]).expect("rule runs"),
        vec![]
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    // A typo of `allowed` does not allow anyone: alice is still checked.
    let alice = |config: Value| {
        run(config, json!(["alice"]), vec![diff("alice", ALICE)], vec![]).expect("rule runs")
    };
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        typo = Some(alice(json!({"allow": ["alice"]})));
    });
    assert_eq!(typo, Some(alice(json!({}))));
    assert_ne!(typo, Some(vec![]));
    assert_eq!(
        logged,
        [(
            Level::Warn,
            r#"iam: unknown config key "allow" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn info_declares_the_original_query_and_the_edda_capability() {
    let info = Iam::info();
    assert_eq!(info.name, "iam");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.queries, vec![Query::updated(IAM_USERS)]);
    assert_eq!(info.capabilities, vec![Capability::Edda]);
    assert_eq!(info.default_config, json!({"allowed": []}));
}
