//! The command line: rule selection, the rules listing, name clashes, config formats.

use sha2::Digest as _;

use reddalert_testkit::guests;

use crate::support::*;

#[test]
fn an_unknown_rule_name_exits_2_listing_the_installed_rules() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    let run = env.run(&["--since", "0", "--until", "1", "amy"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown rule \"amy\"; installed rules: ami, elbs"),
        "{}",
        run.stderr
    );
    assert!(!env.status.exists(), "nothing saved");
}

#[test]
fn named_rules_run_alone() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    let run = env.run(&[
        "--since",
        &T2.to_string(),
        "--until",
        &T4.to_string(),
        "elbs",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.alerts().iter().all(|a| a["plugin_name"] == "elbs"));
    assert!(
        requests_for(&edda, "view/instances").is_empty(),
        "ami's queries were not fetched"
    );
}

#[test]
fn two_modules_with_one_name_are_an_error() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI], "");
    std::fs::copy(guests::AMI, env.rules.join("copy-of-ami.wasm")).unwrap();
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("two modules declare the rule name \"ami\""),
        "{}",
        run.stderr
    );
}

#[test]
fn rules_lists_name_version_queries_interface_origin_and_hash() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::SECGROUPS, guests::AMI], "");
    std::fs::write(env.rules.join("junk.wasm"), b"not wasm").unwrap();
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules = doc["rules"].as_array().unwrap();
    let sg = rules
        .iter()
        .find(|r| r["name"] == "secgroups")
        .expect("secgroups listed");
    assert_eq!(sg["interface"], "0.1.0");
    assert!(
        !sg["version"].as_str().unwrap().is_empty()
            && !sg["description"].as_str().unwrap().is_empty()
    );
    let expected_hash = hex::encode(sha2::Sha256::digest(
        std::fs::read(guests::SECGROUPS).unwrap(),
    ));
    assert_eq!(sg["sha256"], expected_hash);
    assert!(
        sg["path"]
            .as_str()
            .unwrap()
            .ends_with("rule_secgroups.wasm")
    );
    let queries: Vec<&str> = sg["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["path"].as_str().unwrap())
        .collect();
    assert!(
        queries.contains(&"aws/securityGroups;_expand"),
        "{queries:?}"
    );
    let junk = &doc["unloadable"][0];
    assert!(junk["path"].as_str().unwrap().ends_with("junk.wasm"));
    assert_eq!(
        junk["sha256"],
        hex::encode(sha2::Sha256::digest(b"not wasm"))
    );

    let text = env.run(&["rules"]);
    assert!(
        text.stdout.contains("secgroups ") && text.stdout.contains("sha256     "),
        "{}",
        text.stdout
    );
}

#[test]
fn a_second_run_loads_unchanged_modules_from_the_compilation_cache() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    let stats = |run: &Run| {
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        (
            doc["compilation_cache"]["hits"].as_u64().unwrap(),
            doc["compilation_cache"]["misses"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        stats(&env.run(&["rules", "--json"])),
        (0, 2),
        "first run compiles both"
    );
    assert_eq!(
        stats(&env.run(&["rules", "--json"])),
        (2, 0),
        "second run compiles nothing"
    );
}

#[test]
fn the_original_json_config_shape_runs() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let config = serde_json::json!({
        "edda": edda.base_url(),
        "output": "stdout_tabsep",
        "store-until": false,
        "es_host": "localhost",
        "es_port": 9200,
        "plugin.elbs": {"allowed_ports": [80, 443, 8080]},
    });
    let json_path = env.path("configfile.json");
    std::fs::write(&json_path, config.to_string()).unwrap();
    let args = [
        "--configfile",
        path_str(&json_path),
        "--statusfile",
        path_str(&env.status),
        "--rules-dir",
        path_str(&env.rules),
        "-s",
        &T2.to_string(),
        "-u",
        &T4.to_string(),
    ];
    let run = run_binary(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout, "",
        "8080 is allowed by plugin.elbs, so nothing alerts"
    );

    let strict = serde_json::json!({"edda": edda.base_url(), "output": "stdout_tabsep", "plugin.elbs": {"allowed_ports": [80, 443]}});
    std::fs::write(&json_path, strict.to_string()).unwrap();
    let run = run_binary(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    assert!(
        lines[0].starts_with("elbs\tapi-frontend\t{"),
        "{}",
        lines[0]
    );
}

#[test]
fn unknown_config_keys_are_errors_naming_key_and_file() {
    let env = Env::new("http://127.0.0.1:9/edda", &[], "rules_dirs = \"x\"\n");
    let run = env.run(&[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("reddalert.toml") && run.stderr.contains("rules_dirs"),
        "{}",
        run.stderr
    );
}

#[test]
fn original_short_flags_override_the_config() {
    let edda = basic_edda();
    // The config points at a dead EDDA and prints text; -e and -o win.
    let env = Env::new("http://127.0.0.1:9/edda", &[guests::ELBS], "");
    let run = env.run(&[
        "-e",
        &edda.base_url(),
        "-o",
        "stdout_tabsep",
        "-s",
        &T2.to_string(),
        "-u",
        &T4.to_string(),
        "--store-until",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("elbs\tapi-frontend\t"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.status_json()["since"],
        T4,
        "--store-until stored the window's end"
    );
}

#[test]
fn logging_goes_to_stderr_and_follows_silent_and_verbose() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let window = ["-s", "0", "-u", "1"];
    let normal = env.run(&window);
    assert!(
        normal.stderr.contains("INFO") && normal.stderr.contains("run finished"),
        "{}",
        normal.stderr
    );
    assert!(!normal.stderr.contains("DEBUG"));
    let silent = env.run(&[&window[..], &["--silent"]].concat());
    assert!(!silent.stderr.contains("INFO"), "{}", silent.stderr);
    let verbose = env.run(&[&window[..], &["-v"]].concat());
    assert!(
        verbose.stderr.contains("DEBUG") && verbose.stderr.contains("fetched"),
        "{}",
        verbose.stderr
    );
    assert!(
        normal.stdout.is_empty() && verbose.stdout.is_empty(),
        "logs never reach stdout"
    );
}

#[test]
fn help_says_which_time_formats_are_accepted() {
    let run = run_binary(&["--help"]);
    assert_eq!(run.code, 0);
    let text = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("epoch seconds, epoch milliseconds, or ISO 8601"),
        "{text}"
    );
}
