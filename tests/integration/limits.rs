//! Hostile modules fail alone, each with the error that names what it broke, while a good
//! rule in the same run still alerts and the failing rule's stored state is kept.

use reddalert_testkit::guests;

use crate::support::*;

const TIGHT: &str = "[limits]\nfuel = 3_000_000_000\nmemory_mib = 256\ntimeout_seconds = 20\n";

#[test]
fn each_hostile_module_fails_alone_with_its_own_error() {
    let edda = basic_edda();
    let modules = [
        guests::AMI,
        guests::SPIN,
        guests::ALLOC,
        guests::TRAP,
        guests::HUGE,
        guests::BADJSON,
        guests::WRONGWORLD,
    ];
    let env = Env::new(&edda.base_url(), &modules, TIGHT);
    let seeded = serde_json::json!({
        "reddalert_status": 1,
        "rules": {"spin": {"state": {"keep": "me"}, "consecutive_failures": 0}}
    });
    std::fs::write(&env.status, seeded.to_string()).unwrap();

    let run = env.run(&window(0, T4).iter().map(String::as_str).collect::<Vec<_>>());

    assert_eq!(run.code, 1, "partial failure: {}", run.stderr);
    assert_eq!(
        run.alerts_of("ami").len(),
        3,
        "the good rule still alerts (3 live instances): {}",
        run.stdout
    );
    let expect = [
        ("spin", "ran out of fuel"),
        ("alloc", "exceeded its memory limit of 268435456 bytes"),
        ("trap", "index out of bounds"),
        ("huge", "over the limit of"),
        ("badjson", "are not JSON"),
        (
            "guest_wrongworld.wasm",
            "does not export reddalert:rules/guest@<version> (a reddalert rule must, of 0.1.x or 0.2.x)",
        ),
    ];
    for (who, why) in expect {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(who) && l.contains(why));
        assert!(
            line.is_some(),
            "no error naming {who} with {why:?} in:\n{}",
            run.stderr
        );
    }
    let status = env.status_json();
    assert_eq!(
        status["rules"]["spin"]["state"],
        serde_json::json!({"keep": "me"}),
        "failed rule keeps its state"
    );
    assert_eq!(status["rules"]["spin"]["consecutive_failures"], 1);
    assert!(
        status["rules"]["spin"]["last_error"]
            .as_str()
            .unwrap()
            .contains("fuel")
    );
    assert_eq!(status["rules"]["ami"]["consecutive_failures"], 0);
    assert!(status["rules"]["ami"]["state"]["first_seen"].is_object());
}

#[test]
fn the_deadline_stops_a_spinning_rule_on_every_call() {
    let edda = basic_edda();
    let limits = "[limits]\nfuel = 1_000_000_000_000\ntimeout_seconds = 0.5\n";
    let env = Env::new(&edda.base_url(), &[guests::SPIN], limits);
    for _ in 0..2 {
        let run = env.run(&["--since", "0", "--until", "1"]);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("exceeded its deadline of 500ms"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn per_rule_overrides_apply_to_that_rule_only() {
    let edda = basic_edda();
    let limits = "[limits]\nmemory_mib = 512\n[limits.rule.huge]\noutput_mib = 1\n";
    let env = Env::new(&edda.base_url(), &[guests::HUGE, guests::AMI], limits);
    let run = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("over the limit of 1048576 bytes"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("ami").len(), 3);
}

#[test]
fn a_module_for_another_interface_version_is_refused_with_both_versions() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::FUTURE, guests::AMI], "");
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listing: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let error = listing["unloadable"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("built for interface 0.3.0, this host supports 0.1.x or 0.2.x"),
        "{error}"
    );
    let run = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("built for interface 0.3.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_sandbox_grants_no_environment_files_clock_or_network() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMBIENT], "");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .args([
            "--configfile",
            path_str(&env.config),
            "--statusfile",
            path_str(&env.status),
        ])
        .args(["--since", "0", "--until", &T2.to_string()])
        .env("REDDALERT_SECRET_FOR_TEST", "must-not-leak")
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line = String::from_utf8_lossy(&run.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let details = &serde_json::from_str::<serde_json::Value>(&line).unwrap()["details"];
    assert_eq!(details["env"], serde_json::json!([]), "no environment");
    assert_eq!(details["args"], serde_json::json!([]), "no arguments");
    assert!(
        details["read_dir_root"]
            .as_str()
            .unwrap()
            .starts_with("Err"),
        "{details}"
    );
    assert!(
        details["read_passwd"].as_str().unwrap().starts_with("Err"),
        "{details}"
    );
    assert_eq!(
        details["wall_clock_ms"], T2,
        "the wall clock is frozen at the window's end"
    );
    assert_eq!(
        details["monotonic_elapsed_ns"], 0,
        "the monotonic clock does not move"
    );
    assert!(
        details["tcp_connect"].as_str().unwrap().starts_with("Err"),
        "{details}"
    );
    assert!(
        details["dns"].as_str().unwrap().starts_with("Err"),
        "{details}"
    );
}

#[test]
fn a_host_call_made_for_a_rule_ends_at_its_deadline() {
    let edda = basic_edda();
    // The iam rule's per-user `_diff` requests hang far longer than its 2 s deadline, while
    // EDDA's own timeout would wait a minute.
    edda.set_fault_for(
        "aws/iamUsers/",
        Some(reddalert_testkit::edda::Fault::Hang(
            std::time::Duration::from_secs(30),
        )),
    );
    let env = Env::new(
        &edda.base_url(),
        &[guests::IAM, guests::ELBS],
        "[limits.rule.iam]\ntimeout_seconds = 2\n",
    );
    env.edit_config("edda_timeout_seconds = 5", "edda_timeout_seconds = 60");
    let run = env.run(&["--since", &(T0 + 1).to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("EDDA request cut at the rule's deadline"),
        "{}",
        run.stderr
    );
    let failed = run
        .stderr
        .lines()
        .find(|l| l.contains("rule failed") && l.contains("rule=iam"))
        .unwrap_or_default();
    assert!(failed.contains("deadline"), "{}", run.stderr);
    assert_eq!(
        run.alerts_of("elbs").len(),
        1,
        "the other rule ran: {}",
        run.stdout
    );
}
