//! A rule's EDDA batch (`fetch-many`) against a snapshot directory: answers in request order,
//! each query counted against the budget (the ones past it answer `limit-exceeded`), an
//! invalid query failing alone, the run's cache shared with prefetched queries, and nothing
//! fetched without the capability or after the deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::RuleServices;
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

fn services(edda: &Arc<EddaClient>, budget: u64) -> RuleServices {
    RuleServices::new("iam", &[Capability::Edda], edda.clone(), WINDOW, budget)
}

fn body(n: usize) -> Result<String, EddaCallError> {
    Ok(format!("{{\"n\": {n}}}"))
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
    let rule = RuleServices::new("ami", &[], edda.clone(), WINDOW, 1);
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
