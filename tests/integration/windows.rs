//! Per-rule windows with `store-until`: a rule that fails (EDDA answered 500, a body that is
//! not JSON or one cut short) keeps the start of its window, so the next run reads the missed
//! changes again and raises their alerts exactly once, while the rules that succeeded move on.
//! Rules a run does not select keep their windows too.

use serde_json::{Value, json};

use reddalert_testkit::edda::Fault;
use reddalert_testkit::guests;

use crate::support::*;

const HOUR: u64 = 3_600_000;

/// A status file of the previous format whose run-wide `since` is T2.
fn seed_since_t2(env: &Env) {
    std::fs::write(
        &env.status,
        r#"{"reddalert_status": 2, "since": 1514772000000}"#,
    )
    .unwrap();
}

fn listing(env: &Env) -> Value {
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("rules --json prints JSON")
}

fn rule_listed<'a>(listing: &'a Value, name: &str) -> &'a Value {
    listing["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {listing}"))
}

fn a_failed_window_is_read_again(fault: Fault) {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS, guests::SECGROUPS],
        "store-until = true\n",
    );
    seed_since_t2(&env);

    // api-frontend gained its 8080 listener at T3, inside [T2, T4]; EDDA fails elbs' query.
    edda.set_fault_for("aws/loadBalancers", Some(fault));
    let first = env.run(&["--until", &T4.to_string()]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(first.alerts_of("elbs").is_empty(), "{}", first.stdout);
    assert!(
        first
            .stderr
            .contains("its next run reads again from 2018-01-01T02:00:00Z"),
        "{}",
        first.stderr
    );
    let status = env.status_json();
    assert_eq!(status["reddalert_status"], 3);
    assert_eq!(status["since"], T4 + 1, "the run-wide since moves on");
    assert_eq!(
        status["rules"]["elbs"]["since"], T2,
        "elbs keeps its window"
    );
    assert_eq!(
        status["rules"]["secgroups"]["since"],
        T4 + 1,
        "secgroups moves on"
    );
    let listed = listing(&env);
    let elbs = &rule_listed(&listed, "elbs")["status"];
    assert_eq!(elbs["behind"], true, "{elbs}");
    assert_eq!(elbs["next_since_ms"], T2);
    assert_eq!(elbs["consecutive_failures"], 1);
    assert_eq!(rule_listed(&listed, "secgroups")["status"]["behind"], false);

    // EDDA is healthy again: elbs reads [T2, T4 + 1h] and raises the missed alert, once.
    edda.set_fault_for("aws/loadBalancers", None);
    let second = env.run(&["--until", &(T4 + HOUR).to_string()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let ids: Vec<Value> = second
        .alerts_of("elbs")
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("api-frontend")], "{}", second.stdout);
    assert!(
        requests_for(&edda, "aws/loadBalancers")
            .iter()
            .any(|r| r.contains(&format!("_since={T2};_until={}", T4 + HOUR))),
        "{:?}",
        edda.requests()
    );
    assert_eq!(env.status_json()["rules"]["elbs"]["since"], T4 + HOUR + 1);

    let third = env.run(&["--until", &(T4 + 2 * HOUR).to_string()]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(third.alerts_of("elbs").is_empty(), "{}", third.stdout);
}

#[test]
fn a_500_keeps_the_rules_window_for_the_next_run() {
    a_failed_window_is_read_again(Fault::Status500Html);
}

#[test]
fn a_non_json_body_keeps_the_rules_window_for_the_next_run() {
    a_failed_window_is_read_again(Fault::NonJson);
}

#[test]
fn a_truncated_body_keeps_the_rules_window_for_the_next_run() {
    a_failed_window_is_read_again(Fault::Truncated);
}

#[test]
fn rules_not_selected_keep_their_windows() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS, guests::SECGROUPS],
        "store-until = true\n",
    );
    seed_since_t2(&env);
    let only = env.run(&["--until", &T4.to_string(), "secgroups"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    assert_eq!(env.status_json()["rules"]["elbs"]["since"], T2);
    // elbs, run later, still sees the change at T3.
    let later = env.run(&["--until", &(T4 + HOUR).to_string(), "elbs"]);
    assert_eq!(later.code, 0, "{}", later.stderr);
    assert_eq!(later.alerts_of("elbs").len(), 1, "{}", later.stdout);
}

#[test]
fn an_original_status_file_with_a_string_since_is_read() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    // The original stored `--until` as given on its command line: a string.
    std::fs::write(
        &env.status,
        r#"{"since": "1514772000000", "plugin.elbs": {}}"#,
    )
    .unwrap();
    let run = env.run(&["--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    assert!(
        requests_for(&edda, "aws/loadBalancers")
            .iter()
            .any(|r| r.contains(&format!("_since={T2};_until={T4}"))),
        "{:?}",
        edda.requests()
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn a_future_until_is_read_but_never_stored_past_the_clock() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    seed_since_t2(&env);
    let week = 7 * 24 * HOUR;
    let before = now_ms();
    let run = env.run(&["--until", &(before + week).to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--until is later than this run's clock"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    let status = env.status_json();
    let stored = status["rules"]["elbs"]["since"].as_u64().unwrap();
    assert!(
        (before..=now_ms()).contains(&stored),
        "the clock is stored, not the week ahead: {stored}"
    );
    assert!(status["since"].as_u64().unwrap() <= now_ms());
}

#[test]
fn a_stored_start_past_the_clock_fails_the_rule_saying_how_to_reset_it() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS, guests::SECGROUPS],
        "store-until = true\n",
    );
    let future = now_ms() + 24 * HOUR;
    std::fs::write(
        &env.status,
        format!(
            r#"{{"reddalert_status": 3, "since": {T2}, "rules": {{"elbs": {{"since": {future}}}}}}}"#
        ),
    )
    .unwrap();
    let run = env.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("WARN") && l.contains("elbs"))
        .unwrap_or_else(|| panic!("no warning for elbs: {}", run.stderr));
    assert!(
        line.contains("is later than this run's clock") && line.contains("--since"),
        "{line}"
    );
    let status = env.status_json();
    assert_eq!(
        status["rules"]["elbs"]["since"], future,
        "its start is kept"
    );
    assert_eq!(status["rules"]["elbs"]["consecutive_failures"], 1);
    assert!(
        status["rules"]["secgroups"]["last_success"].is_u64(),
        "the others run"
    );

    // One run with --since for the rule resets it.
    let reset = env.run(&["--since", &T2.to_string(), "elbs"]);
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    assert!(
        env.status_json()["rules"]["elbs"]["since"]
            .as_u64()
            .unwrap()
            <= now_ms()
    );
}

#[test]
fn a_time_too_large_to_keep_is_refused_rather_than_wrapped() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    let run = env.run(&["--until", "18446744073709551615"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("the latest time taken"),
        "{}",
        run.stderr
    );
    assert!(!env.status.exists(), "nothing saved");
}

#[test]
fn a_rule_whose_first_run_fails_starts_next_from_the_since_it_was_given() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    edda.set_fault_for("aws/loadBalancers", Some(Fault::Status500Html));
    let first = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(
        env.status_json()["rules"]["elbs"]["since"],
        T2,
        "not 1970: {}",
        env.status_json()
    );
    edda.set_fault_for("aws/loadBalancers", None);
    let second = env.run(&["--until", &(T4 + HOUR).to_string()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.alerts_of("elbs").len(), 1, "{}", second.stdout);
    assert!(
        requests_for(&edda, "aws/loadBalancers")
            .iter()
            .any(|r| r.contains(&format!("_since={T2};_until={}", T4 + HOUR))),
        "{:?}",
        edda.requests()
    );
}
