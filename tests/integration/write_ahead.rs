//! Exactly once across crashes. The new states and the alerts they raised are saved in one
//! atomic write before any output sees them; a status file that cannot be saved stops the run
//! before anything is delivered; a run killed anywhere re-delivers only what was not
//! confirmed, with its original window, so Elasticsearch answers 409 and no document is
//! indexed twice. Also the status file's own leftovers: temporary files of a killed save, a
//! symlinked status file, the original's lock directory, and what a rule may hand back.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use reddalert_testkit::elasticsearch::FakeElasticsearch;
use reddalert_testkit::guests;

use crate::support::*;

const HOUR: u64 = 3_600_000;

/// Makes a directory immutable (`chattr +i`: not even root may create a file in it) until
/// dropped, like a read-only or full file system under the status file.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(dir: &std::path::Path) -> Immutable {
        let done = Command::new("chattr").arg("+i").arg(dir).status().unwrap();
        assert!(done.success(), "chattr +i {}", dir.display());
        Immutable(dir.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[test]
fn nothing_is_delivered_when_the_status_file_cannot_be_saved() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS],
        "store-until = true\n",
    );
    let state = env.path("state");
    std::fs::create_dir(&state).unwrap();
    let status = state.join("status.json");
    let before = "{\"reddalert_status\": 3}";
    std::fs::write(&status, before).unwrap();
    std::fs::write(state.join("status.json.lock"), "").unwrap();
    let args = [
        "--configfile",
        path_str(&env.config),
        "--statusfile",
        path_str(&status),
        "--since",
        &T1.to_string(),
        "--until",
        &T3.to_string(),
    ];
    let full = {
        let _frozen = Immutable::set(&state);
        run_binary(&args)
    };
    assert_eq!(full.code, 2, "{}", full.stderr);
    assert!(
        full.stderr
            .contains("failed to save the status file before delivering"),
        "{}",
        full.stderr
    );
    assert!(full.stdout.is_empty(), "nothing delivered: {}", full.stdout);
    assert_eq!(std::fs::read_to_string(&status).unwrap(), before);

    // Once the status file can be saved, the same window raises its alerts, once.
    let run = run_binary(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts().len(), 3, "{}", run.stdout);
}

#[test]
fn a_symlinked_status_file_is_written_through_and_locked_once() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    let real_dir = env.path("state");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("status.json");
    std::os::unix::fs::symlink(&target, &env.status).unwrap();

    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let meta = std::fs::symlink_metadata(&env.status).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is kept");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(saved["since"], T4 + 1, "the target holds the new status");

    // A lock held on the target's lock file holds a run started through the link.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(real_dir.join("status.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let blocked = env.run(&["--until", &(T4 + HOUR).to_string()]);
    assert_eq!(blocked.code, 2, "{}", blocked.stderr);
    assert!(
        blocked
            .stderr
            .contains("is locked by another reddalert run"),
        "{}",
        blocked.stderr
    );
}

#[test]
fn temporary_files_of_a_killed_save_are_removed_by_the_next_run() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let leftover = env.path(".status.json.tmp-Ab12Cd");
    std::fs::write(&leftover, "{\"reddalert_status\": 3, \"ru").unwrap();
    let unrelated = env.path(".other.json.tmp-Ab12Cd");
    std::fs::write(&unrelated, "another status file's save").unwrap();
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !leftover.exists(),
        "the leftover of this status file is gone"
    );
    assert!(
        unrelated.exists(),
        "another status file's temporary file is not touched"
    );
}

#[test]
fn a_stale_lock_directory_of_the_original_is_reported_and_ignored() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let lock_dir = env.path("status.json.lock");
    std::fs::create_dir(&lock_dir).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // A pid that no running process has (above the kernel's pid_max ceiling of 2^22).
    std::fs::write(
        lock_dir.join(format!("{}.-7f3a2b1c9999999", host.trim())),
        "",
    )
    .unwrap();
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("original reddalert's lock directory"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1);
}

/// Kills a child process when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A lock directory of the original naming `pid`, as its lockfile names its entry.
fn original_lock(env: &Env, pid: u32) {
    let lock_dir = env.path("status.json.lock");
    let _ = std::fs::create_dir(&lock_dir);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::write(lock_dir.join(format!("{}.-7f3a2b1c{pid}", host.trim())), "").unwrap();
}

#[test]
fn a_stale_lock_naming_a_pid_now_used_by_another_reddalert_is_ignored() {
    use std::os::unix::process::CommandExt as _;
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    // Not the original: whatever its command line says, it is no Python reddalert script.
    let decoy = Child(
        Command::new("sleep")
            .arg0("/usr/local/bin/reddalert")
            .arg("60")
            .spawn()
            .unwrap(),
    );
    original_lock(&env, decoy.0.id());
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("rm -r") && run.stderr.contains("status.json.lock"),
        "says how to clear it: {}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1);
}

#[test]
fn a_live_original_holding_its_lock_directory_stops_the_run_saying_how_to_clear_it() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let script = env.path("reddalert.py");
    std::fs::write(&script, "import time\ntime.sleep(60)\n").unwrap();
    // The interpreter itself: a `python3` on PATH may be a shim (pyenv's is a shell script) that
    // becomes Python only some time after it starts, and until then it is no original.
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("run python3");
    let python = String::from_utf8(python.stdout).unwrap();
    let original = Child(Command::new(python.trim()).arg(&script).spawn().unwrap());
    // The original takes its lock once it runs.
    original_lock(&env, original.0.id());
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "is locked by the original reddalert (pid {}",
            original.0.id()
        )) && run.stderr.contains("rm -r"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn state_or_details_too_deep_to_read_back_fail_the_rule_alone() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::HOSTILE, guests::ELBS],
        "[plugin.hostile]\nstate_depth = 126\n",
    );
    let args = ["--since", &T2.to_string(), "--until", &T4.to_string()];
    let run = env.run(&args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("its state is nested 126 levels deep; at most 64 are accepted"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "the other rule ran");

    env.edit_config("state_depth = 126", "state_depth = 2\ndetails_depth = 124");
    let run = env.run(&args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the details of alert \"deep\" are nested 124 levels deep"),
        "{}",
        run.stderr
    );

    // At the limit both are accepted, saved, and read back by the next run.
    env.edit_config(
        "state_depth = 2\ndetails_depth = 124",
        "state_depth = 64\ndetails_depth = 64",
    );
    let run = env.run(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("hostile").len(), 1);
    let run = env.run(&args);
    assert_eq!(run.code, 0, "the status file reads back: {}", run.stderr);
}

/// A small deterministic generator (xorshift64*), so a failure replays with its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What identifies an alert whatever document carries it.
fn alert_key(doc: &Value) -> String {
    format!(
        "{}|{}|{}",
        doc["plugin_name"], doc["id"], doc["details_text"]
    )
}

/// How many documents Elasticsearch holds of each alert (whatever window it was raised in).
fn indexed(es: &FakeElasticsearch) -> BTreeMap<String, usize> {
    es.documents().values().fold(BTreeMap::new(), |mut n, doc| {
        *n.entry(alert_key(doc)).or_insert(0) += 1;
        n
    })
}

fn assert_status_parses_and_no_temp_file(env: &Env) {
    if env.status.exists() {
        let text = std::fs::read_to_string(&env.status).unwrap();
        serde_json::from_str::<Value>(&text)
            .unwrap_or_else(|e| panic!("torn status file: {e}\n{text}"));
    }
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "temporary file left: {name}");
    }
}

/// Runs every window of `untils` to completion, killing `kills` earlier attempts of each
/// at random moments first (none when `rng` is `None`). As under cron, every attempt has a
/// later `until` than the one before (by a millisecond, where no change lies), so a run that
/// raised alerts again instead of re-delivering the saved ones would index them under a new
/// window, twice.
fn run_sequence(env: &Env, untils: &[u64], mut rng: Option<&mut Rng>, kills: u64) -> usize {
    run_sequence_exiting(env, untils, rng.take(), kills, 0)
}

/// [`run_sequence`], each window's last run exiting `code`.
fn run_sequence_exiting(
    env: &Env,
    untils: &[u64],
    mut rng: Option<&mut Rng>,
    kills: u64,
    code: i32,
) -> usize {
    let mut killed = 0;
    for base in untils {
        if let Some(rng) = rng.as_deref_mut() {
            for attempt in 0..kills {
                let until = (base + attempt).to_string();
                let args = env.args(&["--until", &until]);
                let mut child = Command::new(env!("CARGO_BIN_EXE_reddalert"))
                    .args(&args)
                    .env_remove("RUST_LOG")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_millis(rng.below(700)));
                if child.try_wait().unwrap().is_none() {
                    killed += 1;
                }
                let _ = child.kill();
                let _ = child.wait();
                assert_status_parses_and_no_temp_file_but_maybe_one(env);
            }
        }
        let until = (base + kills).to_string();
        let run = run_binary(&env.args(&["--until", &until]));
        assert!(run.code == code, "until {until}: {}", run.stderr);
        assert_status_parses_and_no_temp_file(env);
    }
    killed
}

/// Right after a kill, the killed save's temporary file may still be there (the next run
/// removes it); the status file itself always parses.
fn assert_status_parses_and_no_temp_file_but_maybe_one(env: &Env) {
    if env.status.exists() {
        let text = std::fs::read_to_string(&env.status).unwrap();
        serde_json::from_str::<Value>(&text)
            .unwrap_or_else(|e| panic!("torn status file: {e}\n{text}"));
    }
}

#[test]
fn killed_at_random_moments_no_alert_is_lost_and_none_is_indexed_twice() {
    let edda = basic_edda();
    let untils: Vec<u64> = (1..=8).map(|n| T0 + n * HOUR / 2 + HOUR).collect();
    let setup = |es: &FakeElasticsearch| {
        let env = Env::new(
            &edda.base_url(),
            &[guests::SECGROUPS, guests::ELBS, guests::IAM],
            &format!(
                "store-until = true\noutput = [\"elasticsearch\", \"jsonl\"]\n\
                 [elasticsearch]\nurl = \"{}\"\nretries = 0\ntimeout_seconds = 5\n\
                 [jsonl]\npath = \"alerts.jsonl\"\n",
                es.url()
            ),
        );
        env.edit_config("output = [\"stdout_json\"]\n", "");
        std::fs::write(&env.status, format!("{{\"since\": {T0}}}")).unwrap();
        env
    };

    // The reference: the same sequence of cron runs, none killed.
    let reference_es = FakeElasticsearch::start();
    let reference = setup(&reference_es);
    run_sequence(&reference, &untils, None, 0);
    let expected = indexed(&reference_es);
    assert!(
        expected.len() >= 5,
        "the sequence raises alerts: {expected:?}"
    );

    let es = FakeElasticsearch::start();
    es.set_delay(Duration::from_millis(150));
    let env = setup(&es);
    let mut rng = Rng(0x5eed_2026_1128);
    let killed = run_sequence(&env, &untils, Some(&mut rng), 3);
    assert!(killed >= 8, "runs were killed mid-way: {killed}");

    assert_eq!(
        indexed(&es),
        expected,
        "every alert indexed exactly as often as in the uninterrupted sequence: none lost, none twice"
    );

    // The JSON-lines file is at least once: de-duplicated by `uid`, the alerts Elasticsearch
    // holds, by the `_id` it holds them under.
    let lines = std::fs::read_to_string(env.path("alerts.jsonl")).unwrap();
    let uids: BTreeSet<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["uid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let ids: BTreeSet<String> = es.documents().into_keys().map(|(_, id)| id).collect();
    assert_eq!(
        uids, ids,
        "jsonl: every alert, by the uid Elasticsearch uses as _id"
    );
    assert_eq!(
        json!(env.status_json().get("pending")),
        json!(null),
        "nothing still owed"
    );
}

/// The alerts of a dead-letter file (`<status>.dropped.jsonl`), by the same key.
fn dead_letters(env: &Env) -> BTreeSet<String> {
    let text = std::fs::read_to_string(env.path("status.json.dropped.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let entry: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("torn dead-letter line: {e}: {l}"));
            pending_key(&entry)
        })
        .collect()
}

/// The key of an alert as it waits (`{"alert": ..., "outputs": ...}`), as [`alert_key`] makes
/// it of a document.
fn pending_key(entry: &Value) -> String {
    let alert = &entry["alert"];
    let details = match &alert["details"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!(
        "{}|{}|{}",
        alert["plugin_name"],
        alert["id"],
        Value::String(details)
    )
}

#[test]
fn killed_while_the_waiting_list_is_at_its_byte_bound_no_alert_is_lost() {
    let edda = basic_edda();
    let untils: Vec<u64> = (1..=6).map(|n| T0 + n * HOUR / 2 + HOUR).collect();
    // Every alert is owed to a webhook that is down, so the waiting list grows to its byte
    // bound (the hostile rule adds 600 KB a run) and past it the largest go to the dead-letter
    // file; Elasticsearch takes what the runs deliver.
    let setup = |es: &FakeElasticsearch| {
        let env = Env::new(
            &edda.base_url(),
            &[guests::SECGROUPS, guests::ELBS, guests::HOSTILE],
            &format!(
                "store-until = true\noutput = [\"elasticsearch\", \"webhook\"]\n\
                 max_waiting_mib = 1\n\
                 [elasticsearch]\nurl = \"{}\"\nretries = 0\ntimeout_seconds = 5\n\
                 [webhook]\nurl = \"http://127.0.0.1:{}\"\nretries = 0\n\
                 [plugin.hostile]\nalerts = 3\nalert_bytes = 200000\n",
                es.url(),
                reddalert_testkit::http::closed_port()
            ),
        );
        env.edit_config("output = [\"stdout_json\"]\n", "");
        std::fs::write(&env.status, format!("{{\"since\": {T0}}}")).unwrap();
        env
    };
    let honest = |indexed: BTreeMap<String, usize>| -> BTreeMap<String, usize> {
        indexed
            .into_iter()
            .filter(|(k, _)| !k.starts_with("\"hostile\""))
            .collect()
    };
    let reference_es = FakeElasticsearch::start();
    run_sequence_exiting(&setup(&reference_es), &untils, None, 0, 1);
    let expected = honest(indexed(&reference_es));
    assert!(
        expected.len() >= 5,
        "the sequence raises alerts: {expected:?}"
    );

    let es = FakeElasticsearch::start();
    es.set_delay(Duration::from_millis(100));
    let env = setup(&es);
    let mut rng = Rng(0x5eed_2026_1207);
    let killed = run_sequence_exiting(&env, &untils, Some(&mut rng), 2, 1);
    assert!(killed >= 4, "runs were killed mid-way: {killed}");

    let status = env.status_json();
    let waiting: BTreeSet<String> = status["pending"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|p| assert_eq!(p["outputs"], json!(["webhook"]), "{p}"))
        .map(pending_key)
        .collect();
    let moved = dead_letters(&env);
    assert!(!moved.is_empty(), "the bound was reached");
    // The honest rules' alerts reached Elasticsearch exactly as in the uninterrupted
    // sequence, and every alert Elasticsearch holds still waits for the webhook or was moved
    // to the dead-letter file by the bound: none is lost.
    let delivered = indexed(&es);
    assert_eq!(honest(delivered.clone()), expected);
    let lost: Vec<&String> = delivered
        .keys()
        .filter(|k| !waiting.contains(*k) && !moved.contains(*k))
        .collect();
    assert!(lost.is_empty(), "alerts lost: {lost:?}");
}
