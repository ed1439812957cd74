//! Failures that are not a deleted user fail the rule, with the user named in the message, so
//! that the operator sees which query broke instead of a silent gap in the alerts.

use super::{ALICE, http, run, single};
use reddalert_rule_sdk::prelude::*;

fn error(diffs: Vec<super::Answer>, docs: Vec<(&str, Result<String, EddaError>)>) -> String {
    let users: Vec<&str> = diffs.iter().map(|(user, _)| *user).collect();
    match run(json!({}), json!(users), diffs, docs) {
        Ok(alerts) => panic!("expected an error, got {alerts:?}"),
        Err(err) => format!("{err:#}"),
    }
}

#[test]
fn server_errors_name_the_user() {
    let down = http(500, "INTERNAL_SERVER_ERROR", "<html>Error 500</html>");
    assert_eq!(
        error(vec![("alice", Err(down))], vec![]),
        r#"failed to fetch the _diff of IAM user "alice": EDDA answered 500: <html>Error 500</html>"#
    );
}

#[test]
fn other_bad_requests_are_errors_too() {
    let bad = http(
        400,
        "BAD_REQUEST",
        "invalid path: aws/iamUsers/x y;_diff=200",
    );
    assert_eq!(
        error(vec![("x y", Err(bad))], vec![]),
        r#"failed to fetch the _diff of IAM user "x y": EDDA answered 400: invalid path: aws/iamUsers/x y;_diff=200"#
    );
}

#[test]
fn transport_denied_and_budget_errors_name_the_user() {
    let cases = [
        (
            EddaError::Transport("connection refused".into()),
            "EDDA transport error: connection refused",
        ),
        (
            EddaError::Denied,
            "EDDA queries are not granted to this rule",
        ),
        (EddaError::LimitExceeded, "EDDA query budget used up"),
    ];
    for (err, text) in cases {
        let expected = format!(r#"failed to fetch the _diff of IAM user "alice": {text}"#);
        assert_eq!(error(vec![("alice", Err(err))], vec![]), expected);
    }
}

#[test]
fn unreadable_diff_names_the_user() {
    assert_eq!(
        error(vec![("alice", Ok("{\"code\":500}".into()))], vec![]),
        r#"failed to read the _diff of IAM user "alice": diff line 1: expected a `--- ` header, got "{\"code\":500}""#
    );
}

#[test]
fn failing_new_user_fetch_names_the_user() {
    let down = http(503, "SERVICE_UNAVAILABLE", "try later");
    assert_eq!(
        error(
            vec![single("frank")],
            vec![("aws/iamUsers/frank", Err(down))]
        ),
        r#"failed to fetch new IAM user "frank": EDDA answered 503: try later"#
    );
    let garbage = Ok("<html>".to_owned());
    assert!(
        error(vec![single("frank")], vec![("aws/iamUsers/frank", garbage)])
            .starts_with(r#"failed to parse the document of new IAM user "frank": "#)
    );
}

#[test]
fn one_failing_user_fails_the_run_even_after_good_ones() {
    let down = http(500, "INTERNAL_SERVER_ERROR", "boom");
    let diffs = vec![("alice", Ok(ALICE.to_owned())), ("bob", Err(down))];
    assert_eq!(
        error(diffs, vec![]),
        r#"failed to fetch the _diff of IAM user "bob": EDDA answered 500: boom"#
    );
}

#[test]
fn bad_config_fails_before_any_query() {
    let err = run(
        json!({"allowed": ["(unclosed"]}),
        json!(["alice"]),
        vec![],
        vec![],
    )
    .expect_err("bad regex");
    assert_eq!(
        format!("{err:#}"),
        r#"iam: allowed[0]: "(unclosed" is not a valid regex (unclosed group)"#
    );
}
