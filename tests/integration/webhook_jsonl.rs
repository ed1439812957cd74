//! The webhook (JSON and Slack payloads, retries, a receiver that stays down) and the
//! JSON-lines file (appended once per run, alerts waiting while the file cannot be written).

use reddalert_testkit::guests;
use reddalert_testkit::webhook::FakeWebhook;

use crate::support::*;

#[test]
fn the_webhook_gets_one_document_per_run_after_a_retry() {
    let edda = basic_edda();
    let hook = FakeWebhook::start();
    hook.answer_next(&[503]);
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "[webhook]\nurl = \"{}\"\nretries = 2\nbackoff_ms = 10\n",
            hook.url()
        ),
    );
    let a = args(&alerting(), &["-o", "webhook,stdout_json"]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(hook.requests().len(), 2, "a 503, then the retry");
    let delivered = hook.delivered();
    assert_eq!(delivered.len(), 1);
    let doc = &delivered[0];
    let raised = run.alerts().len();
    assert_eq!(doc["count"], raised);
    assert_eq!(doc["alerts"].as_array().unwrap().len(), raised);
    assert_eq!(doc["run"]["since"], "2018-01-01T01:00:00Z");
    assert_eq!(doc["alerts"][0]["rule_version"], "0.1.0");
    assert!(
        doc["summary"].as_str().unwrap().contains("secgroups ("),
        "{doc}"
    );
    assert_eq!(
        hook.requests()[1].header("content-type"),
        Some("application/json")
    );

    // Nothing to report: no POST.
    let q = args(&quiet(), &["-o", "webhook"]);
    assert_eq!(env.run(&strs(&q)).code, 0);
    assert_eq!(hook.requests().len(), 2);
}

#[test]
fn the_slack_preset_reads_its_url_and_token_from_the_environment() {
    let edda = basic_edda();
    let hook = FakeWebhook::start();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "[webhook]\nurl_env = \"REDDALERT_TEST_HOOK\"\ntoken_env = \"REDDALERT_TEST_TOKEN\"\nformat = \"slack\"\n",
    );
    let a = args(&window(T2, T4), &["-o", "webhook"]);
    let run = env.run_with_env(
        &strs(&a),
        &[
            ("REDDALERT_TEST_HOOK", &hook.url()),
            ("REDDALERT_TEST_TOKEN", "t0ken"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let delivered = hook.delivered();
    assert_eq!(delivered.len(), 1);
    let text = delivered[0]["text"].as_str().unwrap();
    assert!(text.starts_with("*reddalert: "), "{text}");
    assert!(text.contains("\n*elbs*\n• `"), "{text}");
    assert_eq!(
        delivered[0].as_object().unwrap().len(),
        1,
        "Slack's payload"
    );
    assert_eq!(
        hook.requests()[0].header("authorization"),
        Some("Bearer t0ken")
    );
}

#[test]
fn a_webhook_that_stays_down_makes_alerts_wait() {
    let edda = basic_edda();
    let hook = FakeWebhook::start();
    hook.answer_next(&[500, 500]);
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        &format!(
            "[webhook]\nurl = \"{}\"\nretries = 1\nbackoff_ms = 10\n",
            hook.url()
        ),
    );
    let a = args(&window(T2, T4), &["-o", "webhook"]);
    let first = env.run(&strs(&a));
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(first.stderr.contains("answered 500"), "{}", first.stderr);
    let waiting = env.status_json()["pending"].as_array().unwrap().len();
    assert!(waiting >= 1);

    let q = args(&quiet(), &["-o", "webhook"]);
    let second = env.run(&strs(&q));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let delivered = hook.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["count"], waiting);
}

#[test]
fn jsonl_appends_each_run_and_waits_while_the_file_cannot_be_written() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        "[jsonl]\npath = \"missing-dir/alerts.jsonl\"\n",
    );
    let a = args(&alerting(), &["-o", "jsonl,stdout_json"]);
    let first = env.run(&strs(&a));
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("missing-dir/alerts.jsonl"),
        "{}",
        first.stderr
    );
    let raised = first.alerts().len();

    std::fs::create_dir(env.path("missing-dir")).unwrap();
    let q = args(&quiet(), &["-o", "jsonl,stdout_json"]);
    let second = env.run(&strs(&q));
    assert_eq!(second.code, 0, "{}", second.stderr);
    let third = env.run(&strs(&a));
    assert_eq!(third.code, 0, "{}", third.stderr);

    let text = std::fs::read_to_string(env.path("missing-dir/alerts.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2 * raised,
        "the waited alerts, then the third run's"
    );
    for line in &lines {
        assert!(line["plugin_name"].is_string() && line["id"].is_string());
        assert_eq!(line["window"]["until_ms"], T3);
    }
    assert!(text.ends_with('\n'));
}

#[test]
fn a_secret_holding_a_line_break_is_refused_at_start_naming_the_variable_only() {
    let edda = basic_edda();
    let hook = FakeWebhook::start();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "[webhook]\nurl_env = \"REDDALERT_TEST_HOOK\"\ntoken_env = \"REDDALERT_TEST_TOKEN\"\n",
    );
    let a = args(&window(T2, T4), &["-o", "webhook"]);
    let run = env.run_with_env(
        &strs(&a),
        &[
            ("REDDALERT_TEST_HOOK", &hook.url()),
            ("REDDALERT_TEST_TOKEN", "t0ken\r\nX-Forged: 1\n"),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("REDDALERT_TEST_TOKEN") && run.stderr.contains("line break"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("t0ken"), "the value is never shown");
    assert!(hook.requests().is_empty(), "no rule ran, nothing was sent");
    assert!(!env.status.exists(), "nothing was saved");
}

#[test]
fn a_fifo_at_an_output_path_is_refused_without_blocking_the_run() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "[jsonl]\npath = \"alerts.jsonl\"\n[ocsf]\npath = \"findings.jsonl\"\n",
    );
    for name in ["alerts.jsonl", "findings.jsonl"] {
        let made = std::process::Command::new("mkfifo")
            .arg(env.path(name))
            .status()
            .unwrap();
        assert!(made.success());
    }
    let a = args(&window(T2, T4), &["-o", "stdout_json,jsonl,ocsf"]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .args(env.args(&strs(&a)))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody ever reads the FIFOs: a run that opened them to write would never end.
    let mut waited = 0;
    while child.try_wait().unwrap().is_none() {
        if waited == 600 {
            let _ = child.kill();
            panic!("the run blocked on a FIFO for 10 minutes");
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        waited += 1;
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("must be a regular file"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let pending = &env.status_json()["pending"];
    assert_eq!(
        pending[0]["outputs"],
        serde_json::json!(["jsonl", "ocsf"]),
        "{pending}"
    );
}
