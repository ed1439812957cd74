//! Pinned modules: the config gives a sha256 per rule; a module with another hash is refused
//! (that rule fails alone with both hashes in the error, exit 1), and `reddalert rules` shows
//! each rule as pinned, unpinned or mismatched beside the hash of every module.

use reddalert_testkit::guests;
use serde_json::Value;
use sha2::Digest as _;

use crate::support::*;

fn sha256_of(module: &str) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(module).unwrap()))
}

#[test]
fn a_pinned_rule_whose_module_differs_fails_alone_with_both_hashes() {
    let edda = basic_edda();
    let wrong = "ab".repeat(32);
    let actual = sha256_of(guests::SECGROUPS);
    let pins = format!(
        "[pin]\nsecgroups = \"{wrong}\"\nelbs = \"{}\"\nretired = \"{}\"\n",
        sha256_of(guests::ELBS),
        "cd".repeat(32)
    );
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS, guests::AMI],
        &pins,
    );
    std::fs::write(env.rules.join("junk.wasm"), b"not wasm").unwrap();

    let run = env.run(&[
        "--since",
        &T1.to_string(),
        "--until",
        &T4.to_string(),
        "secgroups",
        "elbs",
        "ami",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("rule failed") && l.contains("secgroups"))
        .unwrap_or_else(|| panic!("no failure for secgroups:\n{}", run.stderr));
    assert!(line.contains(&wrong) && line.contains(&actual), "{line}");
    assert!(run.alerts_of("secgroups").is_empty(), "{}", run.stdout);
    assert_eq!(
        run.alerts_of("elbs").len(),
        1,
        "the pinned, matching rule runs: {}",
        run.stdout
    );
    let status = env.status_json();
    assert!(
        status["rules"]["ami"]["last_success"].is_u64(),
        "the unpinned rule runs: {status}"
    );
    assert_eq!(status["rules"]["secgroups"]["consecutive_failures"], 1);
    assert!(
        status["rules"]["secgroups"]["last_error"]
            .as_str()
            .unwrap()
            .contains(&wrong)
    );

    let listing = env.run(&["rules", "--json"]);
    assert_eq!(listing.code, 0, "{}", listing.stderr);
    let doc: Value = serde_json::from_str(&listing.stdout).unwrap();
    let pin_of = |name: &str| {
        let rule = doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap();
        (
            rule["pin"].as_str().unwrap().to_owned(),
            rule["sha256"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(pin_of("secgroups"), ("mismatch".to_owned(), actual.clone()));
    assert_eq!(pin_of("elbs").0, "matches");
    assert_eq!(pin_of("ami").0, "unpinned");
    assert_eq!(doc["pins_without_module"]["retired"], "cd".repeat(32));
    assert!(
        doc["unloadable"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("junk.wasm")
    );
    let text = env.run(&["rules"]);
    assert!(
        text.stdout.contains("MISMATCH: pinned") && text.stdout.contains("unpinned"),
        "{}",
        text.stdout
    );

    // test-rule applies the config's pin too.
    let tested = run_binary(&[
        "test-rule",
        guests::SECGROUPS,
        "--data",
        path_str(&edda_fixture_snapshot()),
        "--configfile",
        path_str(&env.config),
    ]);
    assert_eq!(tested.code, 1, "{}", tested.stderr);
    assert!(
        tested.stderr.contains(&wrong) && tested.stderr.contains(&actual),
        "{}",
        tested.stderr
    );
}

#[test]
fn the_original_json_config_pins_too_and_a_bad_pin_is_a_config_error() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let json_path = env.path("configfile.json");
    let config = serde_json::json!({
        "edda": edda.base_url(),
        "output": "stdout_json",
        "rules_dir": "rules",
        "pin": {"elbs": "ef".repeat(32)},
    });
    std::fs::write(&json_path, config.to_string()).unwrap();
    let args = [
        "--configfile",
        path_str(&json_path),
        "--statusfile",
        path_str(&env.status),
        "-s",
        "0",
        "-u",
        "1",
    ];
    let run = run_binary(&args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&"ef".repeat(32)), "{}", run.stderr);

    let bad = serde_json::json!({"edda": edda.base_url(), "pin": {"elbs": "not-a-hash"}});
    std::fs::write(&json_path, bad.to_string()).unwrap();
    let run = run_binary(&args);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("pin.elbs") && run.stderr.contains("64 hex digits"),
        "{}",
        run.stderr
    );
}

/// The demo account's snapshot directory (any data will do: the rule is refused first).
fn edda_fixture_snapshot() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/demo/edda")
}

/// The entry of `module` in the compilation cache `cache` (named after its sha256).
fn cache_entry(cache: &std::path::Path, module: &str) -> std::path::PathBuf {
    let sha = sha256_of(module);
    std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{sha}-"))
        })
        .unwrap_or_else(|| panic!("no cache entry named after {sha} in {}", cache.display()))
}

#[test]
fn the_pin_covers_the_compiled_module_the_cache_holds() {
    let edda = basic_edda();
    let pins = format!("[pin]\nelbs = \"{}\"\n", sha256_of(guests::ELBS));
    let env = Env::new(&edda.base_url(), &[guests::ELBS, guests::AMI], &pins);
    env.own_cache();
    let window = window(T1, T4);
    let first = env.run(&strs(&window));
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.alerts_of("elbs").len(), 1, "{}", first.stdout);

    // Another module's compiled code copied over the pinned rule's entry is not run as it.
    let cache = env.path("cache");
    std::fs::copy(
        cache_entry(&cache, guests::AMI),
        cache_entry(&cache, guests::ELBS),
    )
    .unwrap();
    let run = env.run(&strs(&window));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.alerts_of("elbs").len(),
        1,
        "elbs ran as elbs: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains(&format!(
            "holds the module with sha256 {}, not {}",
            sha256_of(guests::AMI),
            sha256_of(guests::ELBS)
        )),
        "{}",
        run.stderr
    );
    // The entry was written again from the module itself: the next run reads it quietly.
    let again = env.run(&strs(&window));
    assert!(!again.stderr.contains("cache entry"), "{}", again.stderr);

    // A cache others may write is not used at all.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&strs(&window));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the module cache is not used: others may write it (mode 777)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
}
