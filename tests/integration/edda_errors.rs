//! EDDA failures: unreachable is fatal and changes nothing; an HTTP error, a non-JSON or a
//! truncated body fails only the rules that needed that query, with a clear error.

use reddalert_testkit::edda::Fault;
use reddalert_testkit::guests;

use crate::support::*;

fn seeded(env: &Env) -> String {
    let text = r#"{"reddalert_status": 1, "since": 1, "rules": {"ami": {"state": {"first_seen": {"ami-old": 5}}}}}"#;
    std::fs::write(&env.status, text).unwrap();
    text.to_owned()
}

#[test]
fn unreachable_edda_is_fatal_and_changes_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new(&format!("http://127.0.0.1:{port}/edda"), &[guests::AMI], "");
    let before = seeded(&env);
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("EDDA is unreachable at http://127.0.0.1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no state was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&env.status).unwrap(), before);
    assert!(run.stdout.is_empty());
}

fn failing_query(fault: Fault, expect: &str) {
    let edda = basic_edda();
    // ami needs view/instances; elbs needs only aws/loadBalancers, so it must still run.
    edda.set_fault_for("view/instances", Some(fault));
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    let before = seeded(&env);
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("rule failed") && l.contains("ami"))
        .unwrap_or_default();
    assert!(
        line.contains("view/instances;_expand") && line.contains(expect),
        "{expect:?} not in {line:?}\n{}",
        run.stderr
    );
    assert_eq!(
        run.alerts_of("elbs").len(),
        1,
        "the other rule still alerts: {}",
        run.stdout
    );
    let status = env.status_json();
    assert_ne!(std::fs::read_to_string(&env.status).unwrap(), before);
    assert_eq!(
        status["rules"]["ami"]["state"],
        serde_json::json!({"first_seen": {"ami-old": 5}})
    );
    assert_eq!(status["rules"]["ami"]["consecutive_failures"], 1);
}

#[test]
fn a_500_fails_the_rules_that_needed_it() {
    failing_query(Fault::Status500Html, "EDDA answered 500");
}

#[test]
fn an_edda_error_body_is_reported_with_code_name_and_message() {
    failing_query(Fault::Status(503), "EDDA answered 503 SERVICE_UNAVAILABLE");
}

#[test]
fn a_non_json_body_is_reported() {
    failing_query(Fault::NonJson, "is not JSON");
}

#[test]
fn a_truncated_body_is_reported() {
    failing_query(Fault::Truncated, "cut short");
}

#[test]
fn edda_answering_slower_than_the_timeout_is_unreachable() {
    let edda = basic_edda();
    edda.set_fault(Some(Fault::Hang(std::time::Duration::from_secs(4))));
    let env = Env::new(&edda.base_url(), &[guests::AMI], "");
    env.edit_config("edda_timeout_seconds = 5", "edda_timeout_seconds = 1");
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("EDDA is unreachable"), "{}", run.stderr);
}
