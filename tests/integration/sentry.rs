//! `--sentry DSN`: a failing rule and a fatal error reach a loopback Sentry as envelopes
//! whose events carry the level, the message and what failed.

use std::time::Duration;

use reddalert_testkit::guests;
use reddalert_testkit::http::closed_port;
use reddalert_testkit::sentry::FakeSentry;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn a_failing_rule_is_reported() {
    let edda = basic_edda();
    let sentry = FakeSentry::start();
    let env = Env::new(&edda.base_url(), &[guests::ELBS, guests::TRAP], "");
    let a = args(&window(T2, T4), &["--sentry", &sentry.dsn()]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let events = sentry.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    // Sentry leaves out the default level, error.
    assert_eq!(
        event["level"].as_str().unwrap_or("error"),
        "error",
        "{event}"
    );
    assert_eq!(event["tags"]["rule"], "trap");
    let message = event["message"]
        .as_str()
        .or(event["logentry"]["message"].as_str());
    assert!(
        message.unwrap().starts_with("rule trap failed: "),
        "{event}"
    );
    assert!(event["release"].as_str().unwrap().starts_with("reddalert@"));
}

#[test]
fn a_fatal_error_is_reported_and_the_dsn_can_come_from_the_environment() {
    let sentry = FakeSentry::start();
    let env = Env::new(
        &format!("http://127.0.0.1:{}/edda", closed_port()),
        &[guests::ELBS],
        "",
    );
    let a = window(T2, T4);
    let run = env.run_with_env(&strs(&a), &[("SENTRY_DSN", &sentry.dsn())]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let events = sentry.wait_for_events(1, WAIT);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["level"], "fatal");
    assert_eq!(events[0]["tags"]["kind"], "fatal");
}

#[test]
fn an_invalid_dsn_is_an_error() {
    let run = run_binary(&["--sentry", "not a dsn", "rules"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("invalid --sentry DSN"),
        "{}",
        run.stderr
    );
}
