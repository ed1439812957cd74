//! The status file: a corrupt one is an error naming file and line and is never overwritten;
//! a locked one makes a second run exit 2 without touching anything.

use std::fs::OpenOptions;

use reddalert_testkit::guests;

use crate::support::*;

#[test]
fn a_corrupt_status_file_is_fatal_named_and_kept() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI], "");
    let corrupt = "{\n  \"reddalert_status\": 1,\n  \"rules\": {\n    \"ami\": {\"state\": [1, 2,]}\n  }\n}\n";
    std::fs::write(&env.status, corrupt).unwrap();
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("status.json") && run.stderr.contains("line 4"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("left untouched"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&env.status).unwrap(), corrupt);
    assert!(edda.requests().is_empty(), "nothing was fetched");
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_2() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI], "");
    std::fs::write(&env.status, "{\"reddalert_status\": 1}").unwrap();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.path("status.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is locked by another reddalert run"),
        "{}",
        run.stderr
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "it waits as the original did"
    );
    assert_eq!(
        std::fs::read_to_string(&env.status).unwrap(),
        "{\"reddalert_status\": 1}"
    );
    lock.unlock().unwrap();
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_original_status_file_carries_its_states_over() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI], "store-until = true\n");
    // The original's layout: `since` plus `plugin.<name>` sections.
    let original =
        serde_json::json!({"since": T1, "plugin.ami": {"first_seen": {"ami-0abc1234": 1000}}});
    std::fs::write(&env.status, original.to_string()).unwrap();
    let run = env.run(&["--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        requests_for(&edda, "view/instances")
            .iter()
            .all(|r| !r.contains("_since"))
    );
    // ami-0abc1234 was first seen long before `since` (T1): no alert for it.
    assert!(
        run.alerts_of("ami")
            .iter()
            .all(|a| a["id"] != "ami-0abc1234"),
        "{}",
        run.stdout
    );
    let status = env.status_json();
    assert_eq!(status["reddalert_status"], 3);
    assert_eq!(status["since"], T4 + 1);
    assert_eq!(
        status["rules"]["ami"]["state"]["first_seen"]["ami-0abc1234"],
        1000
    );
}
