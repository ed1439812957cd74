//! A rule written in Python: `rules/ami-py`, built with componentize-py against the same
//! `wit/rules.wit` (by the test kit, at test time), loaded and evaluated by the host next to
//! the Rust `ami` rule it mirrors, in a real run and through `test-rule`.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use reddalert_testkit::{guests, python};
use serde_json::Value;

use crate::support::*;

/// An installation whose config shares the Python module's compilation cache. The tests that
/// run the module take turns, so that the first compiles it once and the others hit the cache.
fn python_env(edda: &str, modules: &[&str], extra: &str) -> (Env, MutexGuard<'static, ()>) {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let env = Env::new(edda, modules, extra);
    let shared = format!("cache_dir = {:?}", path_str(&python::cache_dir()));
    env.edit_config(&shared_cache_line(), &shared);
    (env, turn)
}

/// (AMI, instance) of each alert.
fn pairs(alerts: &[Value]) -> BTreeSet<(String, String)> {
    alerts
        .iter()
        .map(|a| {
            let id = a["id"].as_str().unwrap().to_owned();
            (id, a["details"]["instanceId"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn the_python_rule_runs_in_the_host_and_alerts_like_the_rust_one() {
    let module = python::ami_py();
    let edda = basic_edda();
    let (env, _turn) = python_env(&edda.base_url(), &[guests::AMI, path_str(module)], "");
    let since = "0".to_owned();
    let run = env.run(&["--since", &since, "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let py = run.alerts_of("ami-py");
    // On a first run every AMI is new: one alert per live instance (fixtures README).
    let expected: BTreeSet<(String, String)> = [
        "i-0a1b2c3d4e5f60718",
        "i-0b2c3d4e5f6071829",
        "i-0c3d4e5f607182930",
    ]
    .map(|i| ("ami-0abc1234".to_owned(), i.to_owned()))
    .into();
    assert_eq!(pairs(&py), expected, "{}", run.stdout);
    assert_eq!(
        pairs(&py),
        pairs(&run.alerts_of("ami")),
        "same findings as the Rust rule"
    );
    let kinds: Vec<&str> = py
        .iter()
        .map(|a| a["details"]["service_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["db", "web", "web"],
        "ordered by launch time: {}",
        run.stdout
    );
    let status = env.status_json();
    assert_eq!(status["rules"]["ami-py"]["consecutive_failures"], 0);
    assert_eq!(
        status["rules"]["ami-py"]["state"]["first_seen"],
        status["rules"]["ami"]["state"]["first_seen"],
        "the same state as the Rust rule"
    );

    let listing = env.run(&["rules", "--json"]);
    let doc: Value = serde_json::from_str(&listing.stdout).unwrap();
    let entry = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "ami-py")
        .expect("ami-py is listed");
    assert_eq!(entry["interface"], "0.1.1");

    // test-rule, with the same config file (so the compilation cache), over a snapshot.
    let snap = env.path("snap");
    let saved = run_binary(&[
        "snapshot",
        "--configfile",
        path_str(&env.config),
        "--out",
        path_str(&snap),
        "--since",
        &since,
        "--until",
        &T4.to_string(),
        "ami-py",
    ]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let tested = run_binary(&[
        "test-rule",
        path_str(module),
        "--data",
        path_str(&snap),
        "--configfile",
        path_str(&env.config),
        "--json",
    ]);
    assert_eq!(tested.code, 0, "{}", tested.stderr);
    let doc: Value = serde_json::from_str(&tested.stdout).unwrap();
    assert_eq!(doc["alerts"].as_array().unwrap(), &py);
    assert!(
        doc["usage"]["peak_memory_bytes"].as_u64().unwrap() > 1 << 20,
        "{doc}"
    );
}

#[test]
fn a_failing_python_rule_fails_alone_with_its_message() {
    let module = python::ami_py();
    let edda = basic_edda();
    let extra = "[plugin.ami-py]\nallowed_tags = \"web\"\n";
    let (env, _turn) = python_env(&edda.base_url(), &[guests::ELBS, path_str(module)], extra);
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("ami-py")
            && run
                .stderr
                .contains("allowed_tags: expected a list of strings"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
}

#[test]
fn the_python_rule_logic_passes_its_native_unit_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/ami-py");
    let out = Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3 -m unittest");
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("OK"), "{text}");
}
