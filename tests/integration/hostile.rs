//! Hostile modules and what they hand over: a name that would forge output lines, an `info`
//! that declares 20,001 queries, an error of hundreds of KiB, alert text full of line ends and
//! terminal escapes. Each is refused or cut alone, and the other rules run. Also a flood of
//! alerts past `max_waiting_alerts`: the dropped ones go to a dead-letter file, not the log.

use serde_json::Value;

use reddalert_testkit::guests;
use reddalert_testkit::http::closed_port;

use crate::support::*;

fn window() -> Vec<String> {
    window_args(T2, T4)
}

fn window_args(since: u64, until: u64) -> Vec<String> {
    vec![
        "--since".into(),
        since.to_string(),
        "--until".into(),
        until.to_string(),
    ]
}

#[test]
fn a_module_whose_name_is_not_a_rule_name_is_refused_alone() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::BADNAME, guests::ELBS], "");
    let run = env.run(&strs(&window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("which is not a rule name: [a-z0-9][a-z0-9_-]{0,63}"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "no raw escape reaches the log"
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    assert!(!run.stdout.contains("forged"), "{}", run.stdout);
}

#[test]
fn a_module_declaring_thousands_of_queries_is_refused_alone() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::MANYQUERIES, guests::ELBS], "");
    let run = env.run(&strs(&window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("declares 20001 queries; at most 64 are accepted"),
        "{}",
        run.stderr
    );
    assert!(
        requests_for(&edda, "view/instances/").is_empty(),
        "none of its queries was fetched"
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
}

#[test]
fn a_huge_error_is_stored_and_printed_cut() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::HOSTILE],
        "[plugin.hostile]\nerror_bytes = 300000\n",
    );
    let run = env.run(&strs(&window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("[…cut: 300000 bytes in all]"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(
        run.stderr.len() < 64 * 1024,
        "{} bytes of log",
        run.stderr.len()
    );
    let stored = env.status_json()["rules"]["hostile"]["last_error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stored.len() <= 17 * 1024, "{} bytes stored", stored.len());
    assert!(stored.ends_with("[…cut: 300000 bytes in all]"), "{stored}");

    // Far more than its output limit: the host stops copying before it allocates it all.
    env.edit_config("error_bytes = 300000", "error_bytes = 50000000");
    std::fs::write(
        &env.config,
        std::fs::read_to_string(&env.config).unwrap() + "[limits.rule.hostile]\noutput_mib = 1\n",
    )
    .unwrap();
    let run = env.run(&strs(&window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "returned more than 3145728 bytes in one call (the host stopped copying there), \
             over the limit of 1048576 bytes"
        ),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
}

/// Forged alert text in every output format: text outputs escape it, JSON stays JSON.
#[test]
fn forged_alert_text_is_escaped_in_every_format() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::HOSTILE],
        "[plugin.hostile]\nforge = 1\n",
    );
    let unsafe_chars = [
        '\u{1b}', '\r', '\0', '\u{0b}', '\u{0c}', '\u{85}', '\u{2028}', '\u{2029}',
    ];

    let block = env.run(&strs(&args(&window(), &["-o", "stdout"])));
    assert_eq!(block.code, 0, "{}", block.stderr);
    let rule_lines = block
        .stdout
        .lines()
        .filter(|l| l.starts_with("Rule: "))
        .count();
    assert_eq!(
        rule_lines, 1,
        "one block, nothing forged: {:?}",
        block.stdout
    );
    assert!(
        !block
            .stdout
            .lines()
            .any(|l| l.starts_with("Subject: forged")),
        "{:?}",
        block.stdout
    );
    assert!(!block.stdout.contains(unsafe_chars), "{:?}", block.stdout);
    assert!(
        block
            .stdout
            .contains("x\\nRule: secgroups\\nSubject: forged\\r\\u{1b}[31mred")
    );

    let tabsep = env.run(&strs(&args(&window(), &["-o", "stdout_tabsep"])));
    assert_eq!(tabsep.code, 0, "{}", tabsep.stderr);
    let lines: Vec<&str> = tabsep.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", tabsep.stdout);
    assert_eq!(lines[0].split('\t').count(), 3, "{:?}", lines[0]);
    assert!(!tabsep.stdout.contains(unsafe_chars), "{:?}", tabsep.stdout);

    let json = env.run(&strs(&args(&window(), &["-o", "stdout_json"])));
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(!json.stdout.contains(unsafe_chars), "{:?}", json.stdout);
    let alerts = json.alerts();
    assert_eq!(alerts.len(), 1);
    // Escaped on the wire, the same text once parsed.
    assert!(
        alerts[0]["id"]
            .as_str()
            .unwrap()
            .contains("\u{2028}\u{2029}")
    );
    assert_eq!(alerts[0]["id"], alerts[0]["details"]);
}

#[test]
fn alerts_dropped_past_the_cap_go_to_a_dead_letter_file_not_the_log() {
    let edda = basic_edda();
    let port = closed_port();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS],
        &format!(
            "max_waiting_alerts = 1\n[elasticsearch]\nurl = \"http://127.0.0.1:{port}\"\nretries = 0\n"
        ),
    );
    let run = env.run(&strs(&args(&window_args(T1, T3), &["-o", "elasticsearch"])));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let dead = env.path("status.json.dropped.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "three alerts, one may wait: {lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["alert"]["plugin_name"] == "secgroups")
    );
    let mentions: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("dead-letter"))
        .collect();
    assert_eq!(
        mentions.len(),
        1,
        "one log line names the file: {}",
        run.stderr
    );
    assert!(
        mentions[0].contains("past_max_waiting_alerts=2"),
        "{}",
        mentions[0]
    );
    assert!(
        !run.stderr.contains("fromPort"),
        "no dropped alert is logged whole: {}",
        run.stderr
    );
    let pending = env.status_json()["pending"].as_array().unwrap().len();
    assert_eq!(pending, 1);
}

#[test]
fn a_line_break_in_a_rules_log_message_forges_no_log_line() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::HOSTILE],
        "[plugin.hostile]\nlog_forge = 1\n",
    );
    let run = env.run(&strs(&window()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .lines()
            .all(|l| !l.starts_with("2026-01-01T00:00:00.000000Z")),
        "a forged line: {}",
        run.stderr
    );
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("harmless"))
        .unwrap_or_else(|| panic!("the message is logged: {}", run.stderr));
    assert!(
        line.contains(r"harmless\n2026-01-01T00:00:00.000000Z ERROR forged"),
        "{line}"
    );
}
