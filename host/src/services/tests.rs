//! A rule's EDDA batch (`fetch-many`) against a snapshot directory: answers in request order,
//! each query counted against the budget (the ones past it answer `limit-exceeded`), an
//! invalid query failing alone, the run's cache shared with prefetched queries, and nothing
//! fetched without the capability or after the deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{EddaBudget, RuleServices};
use crate::config::EddaSource;
use crate::contract::{Capability, EddaCallError, HostServices, Query, Window};
use crate::edda::EddaClient;

const WINDOW: Window = Window {
    since_ms: 1,
    until_ms: 2,
};

/// A snapshot directory answering `aws/iamUsers/user-<n>` with `{"n": n}` for `0..users`,
/// and `aws/iamUsers/gone` with EDDA's 404 body.
fn snapshot(users: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for n in 0..users {
        let file = crate::edda::snapshot::file_path(dir.path(), &user(n));
        std::fs::write(file, format!("{{\"n\": {n}}}")).unwrap();
    }
    let gone = crate::edda::snapshot::file_path(dir.path(), &query("aws/iamUsers/gone"));
    let body = r#"{"code": 404, "name": "NOT_FOUND", "message": "no such user"}"#;
    std::fs::write(gone, body).unwrap();
    dir
}

fn query(path: &str) -> Query {
    Query {
        path: path.to_owned(),
        window: false,
        updated_only: false,
    }
}

fn user(n: usize) -> Query {
    query(&format!("aws/iamUsers/user-{n}"))
}

fn client(dir: &tempfile::TempDir) -> Arc<EddaClient> {
    Arc::new(EddaClient::new(
        EddaSource::Snapshot(dir.path().to_owned()),
        Duration::from_secs(5),
        1 << 20,
    ))
}

/// A budget of `queries` queries and ample bytes.
fn query_budget(queries: u64) -> EddaBudget {
    EddaBudget {
        queries,
        call_bytes: 1 << 30,
        run_bytes: 1 << 30,
    }
}

fn services(edda: &Arc<EddaClient>, budget: u64) -> RuleServices {
    RuleServices::new(
        "iam",
        &[Capability::Edda],
        edda.clone(),
        WINDOW,
        query_budget(budget),
    )
}

fn body(n: usize) -> Result<Arc<str>, EddaCallError> {
    Ok(format!("{{\"n\": {n}}}").into())
}

#[test]
fn a_batch_answers_in_request_order() {
    let dir = snapshot(40);
    let edda = client(&dir);
    // More queries than the pool's bound, in an order that is not the files' order.
    let order: Vec<usize> = (0..40).rev().chain([7, 3]).collect();
    let mut queries: Vec<Query> = order.iter().map(|n| user(*n)).collect();
    queries.insert(5, query("aws/iamUsers/gone"));
    let answers = services(&edda, 100).edda_many(&queries);
    let mut expected: Vec<_> = order.iter().map(|n| body(*n)).collect();
    expected.insert(
        5,
        Err(EddaCallError::Http {
            status: 404,
            name: Some("NOT_FOUND".into()),
            message: "no such user".into(),
        }),
    );
    assert_eq!(answers, expected);
    assert_eq!(services(&edda, 100).edda_many(&[]), vec![]);
}

#[test]
fn past_the_budget_a_batch_answers_limit_exceeded_and_still_answers_the_rest() {
    let dir = snapshot(8);
    let edda = client(&dir);
    let rule = services(&edda, 6);
    assert_eq!(rule.edda(&user(0)), body(0));
    let queries: Vec<Query> = (0..8).map(user).collect();
    let answers = rule.edda_many(&queries);
    let mut expected: Vec<_> = (0..5).map(body).collect();
    expected.extend((5..8).map(|_| Err(EddaCallError::LimitExceeded)));
    assert_eq!(answers, expected, "one single query and five of the batch");
    assert_eq!(rule.edda(&user(1)), Err(EddaCallError::LimitExceeded));
    assert_eq!(
        rule.edda_many(&queries[..2]),
        vec![Err(EddaCallError::LimitExceeded); 2]
    );
    // Queries past the budget are never fetched.
    assert_eq!(edda.requests_made(), 5);
}

#[test]
fn an_invalid_query_in_a_batch_fails_alone_and_counts_against_the_budget() {
    let dir = snapshot(2);
    let edda = client(&dir);
    let rule = services(&edda, 3);
    let answers = rule.edda_many(&[user(0), query("aws/../../etc/passwd"), user(1)]);
    assert_eq!(answers[0], body(0));
    assert!(
        matches!(&answers[1], Err(EddaCallError::InvalidQuery(why)) if why.contains("..")),
        "{:?}",
        answers[1]
    );
    assert_eq!(answers[2], body(1));
    assert_eq!(rule.edda(&user(0)), Err(EddaCallError::LimitExceeded));
}

#[test]
fn a_batch_shares_the_run_cache_with_prefetched_queries() {
    let dir = snapshot(3);
    let edda = client(&dir);
    edda.fetch(&user(0), WINDOW).unwrap();
    assert_eq!(edda.requests_made(), 1);
    let answers = services(&edda, 10).edda_many(&[user(0), user(1), user(1), user(0)]);
    assert_eq!(answers, vec![body(0), body(1), body(1), body(0)]);
    assert_eq!(edda.requests_made(), 2, "user-0 came from the cache");
    // Each query of the batch counted, cached or not.
    let rule = services(&edda, 4);
    rule.edda_many(&[user(0), user(1), user(2), user(0)]);
    assert_eq!(rule.edda(&user(2)), Err(EddaCallError::LimitExceeded));
}

#[test]
fn without_the_capability_a_batch_is_denied_and_uses_no_budget() {
    let dir = snapshot(2);
    let edda = client(&dir);
    let rule = RuleServices::new("ami", &[], edda.clone(), WINDOW, query_budget(1));
    assert_eq!(
        rule.edda_many(&[user(0), user(1)]),
        vec![Err(EddaCallError::Denied); 2]
    );
    assert_eq!(edda.requests_made(), 0);
}

#[test]
fn after_the_deadline_a_batch_answers_from_the_cache_and_fetches_nothing() {
    let dir = snapshot(2);
    let edda = client(&dir);
    edda.fetch(&user(0), WINDOW).unwrap();
    let rule = services(&edda, 10).with_deadline(Instant::now());
    let answers = rule.edda_many(&[user(0), user(1)]);
    assert_eq!(answers[0], body(0));
    assert!(
        matches!(&answers[1], Err(EddaCallError::Transport(why)) if why.contains("deadline")),
        "{:?}",
        answers[1]
    );
    assert_eq!(edda.requests_made(), 1);
}

/// A snapshot directory with `big-<n>` of `bytes` bytes each (a JSON string) for `0..n`.
fn big_bodies(n: usize, bytes: usize) -> tempfile::TempDir {
    let dir = snapshot(1);
    for i in 0..n {
        let file = crate::edda::snapshot::file_path(dir.path(), &big(i));
        std::fs::write(file, format!("\"{}\"", "x".repeat(bytes - 2))).unwrap();
    }
    dir
}

fn big(n: usize) -> Query {
    query(&format!("aws/iamUsers/big-{n}"))
}

fn bytes(queries: u64, call_bytes: u64, run_bytes: u64) -> EddaBudget {
    EddaBudget {
        queries,
        call_bytes,
        run_bytes,
    }
}

fn with_budget(edda: &Arc<EddaClient>, budget: EddaBudget) -> RuleServices {
    RuleServices::new("iam", &[Capability::Edda], edda.clone(), WINDOW, budget)
}

#[test]
fn a_call_hands_over_no_more_bytes_than_its_budget() {
    let dir = big_bodies(1, 1000);
    let edda = client(&dir);
    let rule = with_budget(&edda, bytes(100, 2500, 1 << 30));
    // Five copies of one body: the bytes the guest would get count, shared or not.
    let answers = rule.edda_many(&vec![big(0); 5]);
    let given = answers.iter().filter(|a| a.is_ok()).count();
    let refused = answers
        .iter()
        .filter(|a| **a == Err(EddaCallError::LimitExceeded))
        .count();
    assert_eq!((given, refused), (2, 3), "{answers:?}");
    // The next call has a budget of its own.
    assert!(rule.edda(&big(0)).is_ok());
}

#[test]
fn a_run_hands_over_no_more_bytes_than_its_budget() {
    let dir = big_bodies(3, 1000);
    let edda = client(&dir);
    let rule = with_budget(&edda, bytes(100, 1 << 30, 2500));
    assert!(rule.edda(&big(0)).is_ok());
    assert!(rule.edda_many(&[big(1)])[0].is_ok());
    assert_eq!(rule.edda(&big(2)), Err(EddaCallError::LimitExceeded));
    // What is left of the run's bytes still takes a small answer.
    assert_eq!(rule.edda(&user(0)), body(0));
}

#[test]
fn an_answer_larger_than_what_is_left_is_not_read() {
    let dir = big_bodies(1, 1000);
    let edda = client(&dir);
    let rule = with_budget(&edda, bytes(100, 500, 1 << 30));
    assert_eq!(rule.edda(&big(0)), Err(EddaCallError::LimitExceeded));
    assert_eq!(edda.bytes_received(), 0, "the body was not read");
    // Nor kept: a rule with room for it reads it.
    let roomy = with_budget(&edda, bytes(100, 2000, 1 << 30));
    assert!(roomy.edda(&big(0)).is_ok());
    assert_eq!(edda.bytes_received(), 1000);
}

#[test]
fn the_run_cache_keeps_run_time_answers_up_to_its_limit() {
    let dir = big_bodies(2, 1000);
    let edda = Arc::new(
        EddaClient::new(
            EddaSource::Snapshot(dir.path().to_owned()),
            Duration::from_secs(5),
            1 << 20,
        )
        .with_cache_limit(1500),
    );
    let rule = with_budget(&edda, bytes(100, 1 << 30, 1 << 30));
    for _ in 0..3 {
        assert!(rule.edda(&big(0)).is_ok());
        assert!(rule.edda(&big(1)).is_ok());
    }
    // big-0 was kept; big-1 no longer fit, so each ask read it again.
    assert_eq!(edda.requests_made(), 4);
}
