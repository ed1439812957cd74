//! Many accounts in one run (`[[account]]`, one EDDA each): every alert names its account, an
//! account's rule sections replace the top-level keys for it alone, an account whose EDDA
//! fails fails alone (exit 1, named on stderr) and reads its window again next run, and
//! `--shard i/n` splits the accounts between machines with each in exactly one shard, and
//! `snapshot --account` reads the EDDA of the account it names.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use reddalert_testkit::edda::{FakeEdda, Fault};
use reddalert_testkit::guests;

use crate::support::*;

/// An installation whose config lists one account per EDDA, named `a`, `b`, `c`, ...; `extra`
/// goes before the accounts (top-level keys).
fn accounts_env(eddas: &[&FakeEdda], extra: &str, accounts_extra: &[&str]) -> Env {
    let env = Env::new(
        &eddas[0].base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        extra,
    );
    env.edit_config(&format!("edda = {:?}\n", eddas[0].base_url()), "");
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    for (n, edda) in eddas.iter().enumerate() {
        let name = (b'a' + n as u8) as char;
        text.push_str(&format!(
            "\n[[account]]\nname = \"{name}\"\nedda = {:?}\ntags = {{ env = \"env-{name}\" }}\n{}\n",
            edda.base_url(),
            accounts_extra.get(n).copied().unwrap_or("")
        ));
    }
    std::fs::write(&env.config, text).unwrap();
    env
}

/// Alert ids (rule and id) by account name.
fn by_account(run: &Run) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut out: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for alert in run.alerts() {
        let name = alert["account"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("alert without an account: {alert}"))
            .to_owned();
        out.entry(name).or_default().insert((
            alert["plugin_name"].as_str().unwrap().to_owned(),
            alert["id"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

fn account_status(env: &Env, name: &str) -> Value {
    let path = env.path(&format!("status.{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn an_account_whose_edda_is_down_fails_alone_and_reads_its_window_again() {
    let eddas = [basic_edda(), basic_edda(), basic_edda()];
    let env = accounts_env(
        &eddas.each_ref(),
        "store-until = true\n[metrics]\ntextfile = \"reddalert.prom\"\n",
        &[],
    );
    for name in ["a", "b", "c"] {
        std::fs::write(
            env.path(&format!("status.{name}.json")),
            format!(r#"{{"reddalert_status": 3, "since": {T2}}}"#),
        )
        .unwrap();
    }
    // c's EDDA is down: nothing listens where the config points.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/edda", listener.local_addr().unwrap())
    };
    env.edit_config(&format!("{:?}", eddas[2].base_url()), &format!("{down:?}"));

    let first = env.run(&["--until", &T4.to_string()]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("account failed") && first.stderr.contains("account=\"c\""),
        "the failing account is named on stderr: {}",
        first.stderr
    );
    let seen = by_account(&first);
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        ["a", "b"],
        "{}",
        first.stdout
    );
    assert_eq!(
        seen["a"], seen["b"],
        "the same fixtures raise the same alerts"
    );
    assert!(
        seen["a"].iter().any(|(rule, _)| rule == "elbs")
            && seen["a"].iter().any(|(rule, _)| rule == "secgroups"),
        "{seen:?}"
    );
    let tagged = first.alerts();
    assert!(
        tagged.iter().all(|a| a["account"]["tags"]["env"]
            == format!("env-{}", a["account"]["name"].as_str().unwrap())),
        "every alert carries its account's tags: {tagged:?}"
    );
    // Monitoring sees the failed account, and each account's rules by their label.
    let metrics = reddalert_testkit::prometheus::parse(
        &std::fs::read_to_string(env.path("reddalert.prom")).unwrap(),
    );
    let gauge = |name: &str, labels: &[(&str, &str)]| {
        metrics
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value(labels))
            .unwrap_or_else(|| panic!("no {name}{labels:?} in {metrics:#?}"))
    };
    assert_eq!(gauge("reddalert_failures", &[("kind", "account")]), 1.0);
    assert_eq!(gauge("reddalert_last_run_exit_code", &[]), 1.0);
    assert_eq!(
        gauge(
            "reddalert_rule_alerts",
            &[("account", "b"), ("rule", "elbs")]
        ),
        first
            .alerts()
            .iter()
            .filter(|a| a["account"]["name"] == "b" && a["plugin_name"] == "elbs")
            .count() as f64
    );
    // The failing account's status is untouched: its window still starts at T2.
    assert_eq!(account_status(&env, "c")["since"], json!(T2));
    assert_eq!(account_status(&env, "a")["since"], json!(T4 + 1));
    assert!(
        !env.status.exists(),
        "no single-account status file is written"
    );

    // EDDA is back: the next run raises the missed alerts of c, and only those, once.
    env.edit_config(&format!("{down:?}"), &format!("{:?}", eddas[2].base_url()));
    let second = env.run(&["--until", &(T4 + 1_000).to_string()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let seen_again = by_account(&second);
    assert_eq!(
        seen_again.keys().collect::<Vec<_>>(),
        ["c"],
        "{}",
        second.stdout
    );
    assert_eq!(seen_again["c"], seen["a"]);
    let third = env.run(&["--until", &(T4 + 2_000).to_string()]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert!(third.alerts().is_empty(), "{}", third.stdout);
}

#[test]
fn an_accounts_rule_sections_replace_the_top_level_keys_for_it_alone() {
    let eddas = [basic_edda(), basic_edda()];
    let env = accounts_env(
        &eddas.each_ref(),
        "[plugin.elbs]\nallowed_ports = [80, 443]\n[ocsf]\npath = \"findings.jsonl\"\n",
        &[
            "",
            "[account.plugin.elbs]\nallowed_ports = [80, 443, 8080]\n",
        ],
    );
    let run = env.run(&strs(&args(&alerting(), &["-o", "stdout_json,ocsf"])));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = by_account(&run);
    // The OCSF findings name the account too, and still validate.
    let findings = std::fs::read_to_string(env.path("findings.jsonl")).unwrap();
    let problems = reddalert_testkit::ocsf::problems(&findings);
    assert!(problems.is_empty(), "{problems:#?}");
    let mut per_account: BTreeMap<String, usize> = BTreeMap::new();
    for line in findings.lines() {
        let finding: Value = serde_json::from_str(line).unwrap();
        let name = finding["cloud"]["account"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            finding["unmapped"]["account"]["tags"]["env"],
            format!("env-{name}")
        );
        *per_account.entry(name).or_default() += 1;
    }
    let mut printed: BTreeMap<String, usize> = BTreeMap::new();
    for alert in run.alerts() {
        *printed
            .entry(alert["account"]["name"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_account, printed, "{findings}");
    assert!(seen["a"].iter().any(|(rule, _)| rule == "elbs"), "{seen:?}");
    assert!(
        !seen["b"].iter().any(|(rule, _)| rule == "elbs"),
        "b allows 8080: {seen:?}"
    );
    assert!(
        seen["b"].iter().any(|(rule, _)| rule == "secgroups"),
        "{seen:?}"
    );
}

#[test]
fn shards_split_the_accounts_each_into_exactly_one() {
    let eddas = [basic_edda(), basic_edda(), basic_edda()];
    let env = accounts_env(&eddas.each_ref(), "", &[]);
    let mut owners: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for shard in 0..2u32 {
        let a = args(&alerting(), &["--shard", &format!("{shard}/2")]);
        let run = env.run(&strs(&a));
        assert_eq!(run.code, 0, "{}", run.stderr);
        for name in by_account(&run).into_keys() {
            owners.entry(name).or_default().push(shard);
        }
    }
    assert_eq!(owners.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(
        owners.values().all(|shards| shards.len() == 1),
        "{owners:?}"
    );

    let bad = env.run(&["--shard", "2/2"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("expected i/n"), "{}", bad.stderr);
    let edda = env.run(&["--edda", &eddas[0].base_url()]);
    assert_eq!(edda.code, 2);
    assert!(
        edda.stderr.contains("the config lists accounts"),
        "{}",
        edda.stderr
    );
}

#[test]
fn a_shard_needs_accounts_and_a_config_may_not_name_two_eddas() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let run = env.run(&["--shard", "0/2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("lists none"), "{}", run.stderr);

    env.edit_config(
        "edda_timeout_seconds = 5\n",
        "edda_timeout_seconds = 5\n[[account]]\nname = \"Prod\"\nedda = \"http://e\"\n",
    );
    let both = env.run(&[]);
    assert_eq!(both.code, 2);
    assert!(
        both.stderr.contains("remove the top-level one"),
        "{}",
        both.stderr
    );
    env.edit_config(&format!("edda = {:?}\n", edda.base_url()), "");
    let named = env.run(&[]);
    assert_eq!(named.code, 2);
    assert!(
        named.stderr.contains("\"Prod\" is not a plain name"),
        "{}",
        named.stderr
    );
}

#[test]
fn a_rule_that_fails_in_one_account_reads_that_accounts_window_again() {
    let eddas = [basic_edda(), basic_edda()];
    let env = accounts_env(&eddas.each_ref(), "store-until = true\n", &[]);
    for name in ["a", "b"] {
        std::fs::write(
            env.path(&format!("status.{name}.json")),
            format!(r#"{{"reddalert_status": 3, "since": {T2}}}"#),
        )
        .unwrap();
    }
    eddas[1].set_fault_for("aws/loadBalancers", Some(Fault::Status500Html));
    let first = env.run(&["--until", &T4.to_string()]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("account{name=\"b\"}: rule failed"),
        "{}",
        first.stderr
    );
    let seen = by_account(&first);
    assert!(seen["a"].iter().any(|(rule, _)| rule == "elbs"), "{seen:?}");
    assert!(
        !seen["b"].iter().any(|(rule, _)| rule == "elbs"),
        "{seen:?}"
    );
    let b = account_status(&env, "b");
    assert_eq!(b["rules"]["elbs"]["since"], json!(T2), "{b}");
    assert_eq!(b["rules"]["secgroups"]["since"], json!(T4 + 1), "{b}");

    eddas[1].set_fault_for("aws/loadBalancers", None);
    let second = env.run(&["--until", &(T4 + 1_000).to_string()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let again = by_account(&second);
    let elbs_of_a: BTreeSet<_> = seen["a"]
        .iter()
        .filter(|(r, _)| r == "elbs")
        .cloned()
        .collect();
    assert_eq!(again.keys().collect::<Vec<_>>(), ["b"], "{}", second.stdout);
    assert_eq!(again["b"], elbs_of_a);
}

#[test]
fn a_snapshot_reads_the_edda_of_the_account_it_is_told() {
    let eddas = [basic_edda(), basic_edda()];
    let env = accounts_env(&eddas.each_ref(), "", &[]);
    let snapshot = |extra: &[&str]| {
        let mut args = vec!["snapshot", "--configfile", path_str(&env.config)];
        args.extend_from_slice(extra);
        run_binary(&args)
    };
    let out = env.path("snap");
    let unnamed = snapshot(&["--out", path_str(&out)]);
    assert_eq!(unnamed.code, 2, "{}", unnamed.stderr);
    assert!(
        unnamed.stderr.contains("--account NAME"),
        "{}",
        unnamed.stderr
    );
    let unknown = snapshot(&["--out", path_str(&out), "--account", "z"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains(r#"no account "z" in the config; its accounts: ["a", "b"]"#),
        "{}",
        unknown.stderr
    );

    let (since, until) = ((T0 + 1).to_string(), T4.to_string());
    let before = [eddas[0].requests().len(), eddas[1].requests().len()];
    let saved = snapshot(&[
        "--out",
        path_str(&out),
        "--account",
        "b",
        "--since",
        &since,
        "--until",
        &until,
    ]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_eq!(
        eddas[0].requests().len(),
        before[0],
        "account a's EDDA is not read"
    );
    assert!(
        eddas[1].requests().len() > before[1],
        "account b's EDDA is read"
    );
    assert!(
        out.join("aws.loadBalancers;_expand;_since;_updated.json")
            .is_file()
    );
}
