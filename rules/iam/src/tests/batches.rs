//! The rule asks the host in batches of [`crate::CHUNK`] users (their `_diff`s, then the
//! documents of the new ones), yet reads as if it asked one user at a time: every user of
//! every chunk is checked, alerts come in user order, and the first failure in user order is
//! the one that fails the rule.

use super::{ALICE, Answer, FRANK, HENRY, diff, http, run, single};
use crate::CHUNK;
use reddalert_rule_sdk::prelude::*;

/// `user-0000`, `user-0001`, …: sorted as the rule sorts them (leaked: an [`Answer`] names its
/// user with a `&'static str`).
fn name(n: usize) -> &'static str {
    Box::leak(format!("user-{n:04}").into_boxed_str())
}

#[test]
fn users_beyond_one_chunk_are_all_checked_in_order() {
    let users = 2 * CHUNK + 7;
    let mut diffs: Vec<Answer> = Vec::new();
    let mut new = Vec::new();
    let mut expected = Vec::new();
    for n in 0..users {
        let user = name(n);
        if n % 50 == 3 {
            diffs.push(single(user));
            new.push(format!("aws/iamUsers/{user}"));
            expected.push((user.to_owned(), "New user has been added".to_owned()));
        } else if n % 40 == 0 {
            diffs.push(diff(user, HENRY));
            expected.push((
                user.to_owned(),
                "Groups the user has been added to: developers".to_owned(),
            ));
        } else {
            diffs.push(diff(user, ""));
        }
    }
    let docs = new.iter().map(|path| (path.as_str(), Ok(FRANK.to_owned())));
    let ids: Vec<&str> = (0..users).rev().map(name).collect();
    let alerts = run(json!({}), json!(ids), diffs, docs.collect()).expect("rule runs");
    let got: Vec<(String, String)> = alerts
        .into_iter()
        .map(|(id, details)| {
            (
                id,
                details["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(expected.len() > 20, "{} alerts", expected.len());
}

#[test]
fn a_new_users_failing_document_before_a_failing_diff_is_the_error() {
    let down = http(503, "SERVICE_UNAVAILABLE", "try later");
    let broken = http(500, "INTERNAL_SERVER_ERROR", "boom");
    let err = run(
        json!({}),
        json!(["alice", "bob", "carol"]),
        vec![diff("alice", ALICE), single("bob"), ("carol", Err(broken))],
        vec![("aws/iamUsers/bob", Err(down))],
    )
    .expect_err("bob's document fails");
    assert_eq!(
        format!("{err:#}"),
        r#"failed to fetch new IAM user "bob": EDDA answered 503: try later"#
    );
}

#[test]
fn a_failing_diff_before_a_new_user_is_the_error() {
    let broken = http(500, "INTERNAL_SERVER_ERROR", "boom");
    let err = run(
        json!({}),
        json!(["alice", "carol", "dave"]),
        vec![diff("alice", ALICE), ("carol", Err(broken)), single("dave")],
        vec![],
    )
    .expect_err("carol's diff fails");
    assert_eq!(
        format!("{err:#}"),
        r#"failed to fetch the _diff of IAM user "carol": EDDA answered 500: boom"#
    );
}

#[test]
fn a_failure_in_a_later_chunk_fails_the_rule_after_good_chunks() {
    let users = CHUNK + 1;
    let mut diffs: Vec<Answer> = (0..CHUNK).map(|n| diff(name(n), "")).collect();
    diffs.push((name(CHUNK), Err(EddaError::LimitExceeded)));
    let ids: Vec<&str> = (0..users).map(name).collect();
    let err = run(json!({}), json!(ids), diffs, vec![]).expect_err("the budget ran out");
    assert_eq!(
        format!("{err:#}"),
        format!(
            r#"failed to fetch the _diff of IAM user "{}": EDDA query budget used up"#,
            name(CHUNK)
        )
    );
}
