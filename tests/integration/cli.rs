//! The command line: rule selection, the rules listing, name clashes, config formats.

use sha2::Digest as _;

use reddalert_testkit::guests;

use crate::support::*;

#[test]
fn version_names_the_version_the_commit_and_the_interface() {
    let run = run_binary(&["--version"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_version(&run.stdout, None);
    let short = run_binary(&["-V"]);
    assert_eq!(
        short.stdout.trim(),
        format!("reddalert {}", env!("CARGO_PKG_VERSION"))
    );
}

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

/// `module` with a custom section appended: the same rule, another sha256.
fn altered_copy(module: &str, to: &std::path::Path) {
    let mut bytes = std::fs::read(module).unwrap();
    bytes.extend_from_slice(&[0x00, 0x06, 0x01, b'x', b'e', b'v', b'i', b'l']);
    std::fs::write(to, bytes).unwrap();
}

#[test]
fn two_modules_with_one_name_both_fail_and_the_others_run() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    let intruder = env.rules.join("zz-dropped.wasm");
    altered_copy(guests::AMI, &intruder);
    let window = ["--since", &T2.to_string(), "--until", &T4.to_string()];
    let run = env.run(&window);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let clash: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("declares the rule name \"ami\""))
        .collect();
    assert_eq!(clash.len(), 2, "both modules fail: {}", run.stderr);
    assert!(
        clash
            .iter()
            .all(|l| l.contains("zz-dropped.wasm") && l.contains("sha256")),
        "{clash:?}"
    );
    assert!(run.alerts_of("ami").is_empty());
    assert_eq!(
        run.alerts_of("elbs").len(),
        1,
        "elbs still runs: {}",
        run.stdout
    );

    // A pin picks the real module; the dropped one still fails, loudly.
    let listed = env.run(&["rules", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let real = doc["unloadable"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| !m["path"].as_str().unwrap().ends_with("zz-dropped.wasm"))
        .expect("the real ami module is listed as clashing")["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        &env.config,
        format!(
            "{}\n[pin]\nami = \"{real}\"\n",
            std::fs::read_to_string(&env.config).unwrap()
        ),
    )
    .unwrap();
    let run = env.run(&window);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("its hash is not the pinned one"),
        "{}",
        run.stderr
    );
    assert!(
        env.status_json()["rules"]["ami"]["last_success"].is_u64(),
        "the pinned ami ran: {}",
        run.stderr
    );
}

#[test]
fn an_unreadable_module_fails_alone() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    // Root reads any file, so the module that cannot be read is a link to nowhere.
    std::os::unix::fs::symlink(env.rules.join("nowhere"), env.rules.join("dangling.wasm")).unwrap();
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("dangling.wasm: failed to read the module"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
}

#[test]
fn rules_lists_name_version_queries_interface_origin_hash_and_config() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::AMI],
        "[plugin.secgroups]\nallowed_ports = [8443]\n",
    );
    std::fs::write(env.rules.join("junk.wasm"), b"not wasm").unwrap();
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules = doc["rules"].as_array().unwrap();
    let sg = rules
        .iter()
        .find(|r| r["name"] == "secgroups")
        .expect("secgroups listed");
    assert_eq!(sg["interface"], "0.2.0");
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
    // The config it runs with: the operator's keys over the defaults it declares.
    assert_eq!(sg["config"]["allowed_ports"], serde_json::json!([8443]));
    assert_ne!(
        sg["default_config"]["allowed_ports"],
        sg["config"]["allowed_ports"]
    );
    assert_eq!(
        sg["config"]["whitelisted_ips"], sg["default_config"]["whitelisted_ips"],
        "keys the section leaves out keep their defaults: {sg}"
    );
    assert!(sg["default_config"]["whitelisted_ips"].is_array(), "{sg}");
    let junk = &doc["unloadable"][0];
    assert!(junk["path"].as_str().unwrap().ends_with("junk.wasm"));
    assert_eq!(
        junk["sha256"],
        hex::encode(sha2::Sha256::digest(b"not wasm"))
    );

    let text = env.run(&["rules"]);
    assert!(
        text.stdout.contains("secgroups ")
            && text.stdout.contains("sha256     ")
            && text
                .stdout
                .contains("config     {\"allowed_ports\":[8443],"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_second_run_loads_unchanged_modules_from_the_compilation_cache() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI, guests::ELBS], "");
    env.own_cache();
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
        T4 + 1,
        "--store-until stored where the next window starts: 1 ms after this one's end"
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

#[test]
fn a_bare_config_file_name_is_read_from_the_working_directory() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    // The README's cron line names the files as a user types them.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .current_dir(env.dir.path())
        .args([
            "--configfile",
            "reddalert.toml",
            "--statusfile",
            "status.json",
        ])
        .args(["--since", &T2.to_string(), "--until", &T4.to_string()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("api-frontend"));
    assert!(env.status.exists(), "the status file is beside the config");
}

#[test]
fn rules_lists_a_rules_dir_without_any_config_file() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    // No --configfile, and no etc/configfile.json under the working directory.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .current_dir(env.dir.path())
        .args(["rules", "--json", "--rules-dir", path_str(&env.rules)])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(doc["rules"][0]["name"], "elbs", "{doc}");
    assert!(
        stderr.contains("no config file; using the default settings"),
        "{stderr}"
    );
}

#[test]
fn a_time_that_is_none_of_the_forms_is_refused_by_the_command_line() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let run = env.run(&["--since", "yesterday"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("invalid value 'yesterday' for '--since <TIME>'")
            && run.stderr.contains("epoch seconds"),
        "{}",
        run.stderr
    );
    assert!(edda.requests().is_empty(), "nothing ran");
    let test_rule = run_binary(&[
        "test-rule",
        "x.wasm",
        "--data",
        ".",
        "--until",
        "2026-13-01",
    ]);
    assert_eq!(test_rule.code, 2, "{}", test_rule.stderr);
    assert!(
        test_rule.stderr.contains("'--until <TIME>'"),
        "{}",
        test_rule.stderr
    );
}

#[test]
fn an_unknown_output_on_the_command_line_is_a_usage_error_listing_the_known_ones() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let run = env.run(&["-o", "stdout,pager", "-s", "0", "-u", "1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--output")
            && run.stderr.contains("unknown output \"pager\"")
            && run.stderr.contains("stdout_tabsep, stdout_json, mail"),
        "{}",
        run.stderr
    );
    assert!(!env.status.exists(), "nothing saved");
}

/// Runs reddalert with `args`, its stdout a pipe whose reader is gone before anything is
/// printed (as `reddalert rules | head -0` leaves it).
fn run_into_a_closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_command_whose_reader_goes_away_exits_quietly() {
    let env = Env::new("dir:.", &[guests::AMI, guests::ELBS], "");
    for args in [vec!["rules"], vec!["rules", "--json"]] {
        let (code, stderr) = run_into_a_closed_pipe(&env.args(&args));
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/demo/edda");
    let (code, stderr) =
        run_into_a_closed_pipe(&["test-rule", guests::ELBS, "--data", path_str(&demo)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
