//! The run's Prometheus metrics through the binary, read back by the Prometheus project's own
//! parser: what a run raised and asked of EDDA, alerts waiting for an output that failed, and
//! a fatal run that still reports its exit code and every rule's last success.

use reddalert_testkit::guests;
use reddalert_testkit::prometheus::{self, Family};

use crate::support::*;

fn metrics(env: &Env) -> Vec<Family> {
    let text = std::fs::read_to_string(env.path("reddalert.prom")).expect("metrics written");
    prometheus::parse(&text)
}

fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> f64 {
    families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in {families:#?}"))
        .value(labels)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in {families:#?}"))
}

#[test]
fn each_run_writes_what_it_did_and_a_fatal_one_keeps_the_rules_last_success() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        "[metrics]\ntextfile = \"reddalert.prom\"\n[jsonl]\npath = \"alerts.jsonl\"\n",
    );
    let before = edda.requests().len();
    let ok = env.run(&strs(&alerting()));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let m = metrics(&env);
    assert_eq!(value(&m, "reddalert_last_run_exit_code", &[]), 0.0);
    assert_eq!(value(&m, "reddalert_last_run_success", &[]), 1.0);
    for rule in ["secgroups", "elbs"] {
        assert_eq!(
            value(&m, "reddalert_rule_alerts", &[("rule", rule)]),
            ok.alerts_of(rule).len() as f64,
            "{rule}"
        );
        assert_eq!(value(&m, "reddalert_rule_failed", &[("rule", rule)]), 0.0);
    }
    assert!(!ok.alerts_of("secgroups").is_empty());
    assert_eq!(
        value(&m, "reddalert_edda_requests", &[]),
        (edda.requests().len() - before) as f64,
        "the requests the fake EDDA saw"
    );
    assert!(value(&m, "reddalert_edda_response_bytes", &[]) > 0.0);
    assert_eq!(
        value(&m, "reddalert_waiting_alerts", &[("output", "stdout_json")]),
        0.0
    );
    let last_success = value(
        &m,
        "reddalert_rule_last_success_timestamp_seconds",
        &[("rule", "elbs")],
    );
    let start = value(&m, "reddalert_last_run_start_timestamp_seconds", &[]);
    assert!(
        last_success >= start.floor() - 1.0,
        "{last_success} {start}"
    );

    // jsonl cannot be written (its path is a directory): the alerts wait for it.
    std::fs::create_dir(env.path("alerts.jsonl")).unwrap();
    let failed = env.run(&strs(&args(&alerting(), &["-o", "stdout_json,jsonl"])));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let m = metrics(&env);
    assert_eq!(value(&m, "reddalert_last_run_exit_code", &[]), 1.0);
    assert_eq!(
        value(&m, "reddalert_waiting_alerts", &[("output", "jsonl")]),
        failed.alerts().len() as f64
    );
    assert_eq!(value(&m, "reddalert_failures", &[("kind", "output")]), 1.0);
    assert_eq!(value(&m, "reddalert_failures", &[("kind", "rule")]), 0.0);

    // EDDA is down: the run is fatal, and the rules' last success is still there.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/edda", listener.local_addr().unwrap())
    };
    let fatal = env.run(&strs(&args(&alerting(), &["--edda", &down])));
    assert_eq!(fatal.code, 2, "{}", fatal.stderr);
    let m = metrics(&env);
    assert_eq!(value(&m, "reddalert_last_run_exit_code", &[]), 2.0);
    assert_eq!(value(&m, "reddalert_last_run_success", &[]), 0.0);
    assert_eq!(
        value(
            &m,
            "reddalert_rule_last_success_timestamp_seconds",
            &[("rule", "elbs")]
        ),
        env.status_json()["rules"]["elbs"]["last_success"]
            .as_u64()
            .unwrap() as f64
            / 1000.0,
        "the status file's last success"
    );
    assert!(
        !std::fs::read_dir(env.dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no temporary file is left"
    );
}

#[test]
fn a_metrics_file_that_cannot_be_written_fails_the_run_after_delivering() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "[metrics]\ntextfile = \"missing/dir/reddalert.prom\"\n",
    );
    let run = env.run(&strs(&alerting()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.alerts().is_empty(), "the alerts were delivered");
    assert!(
        run.stderr.contains("failed to publish the run's metrics"),
        "{}",
        run.stderr
    );
}
