//! `snapshot` captures what the rules read from a (fake) EDDA in a run, run-time queries and
//! EDDA errors included; `test-rule` replays those files offline and gives every rule the
//! alerts of the live run. `test-rule` also names a missing file and refuses a module built
//! for another interface version.

use reddalert_testkit::guests;
use serde_json::Value;

use crate::support::*;

fn test_rule(module: &str, data: &std::path::Path) -> (i32, Value, String) {
    let run = run_binary(&["test-rule", module, "--data", path_str(data), "--json"]);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    (run.code, doc, run.stderr)
}

#[test]
fn a_snapshot_replays_through_test_rule_with_the_alerts_of_the_live_run() {
    let modules = [
        guests::SECGROUPS,
        guests::ELBS,
        guests::IAM,
        guests::AMI,
        guests::NEWTAG,
    ];
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &modules, "");
    let (since, until) = ((T0 + 1).to_string(), T4.to_string());
    let out = env.path("snapshot");
    let saved = run_binary(&[
        "snapshot",
        "--configfile",
        path_str(&env.config),
        "--out",
        path_str(&out),
        "--since",
        &since,
        "--until",
        &until,
    ]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(!saved.stdout.contains("plugin_name"), "no alerts delivered");
    assert!(
        !env.status.exists(),
        "snapshot never writes the status file"
    );

    // The iam rule's run-time queries are saved, the 400 of a new user's _diff as EDDA's body.
    let diff = |user: &str| out.join(format!("aws.iamUsers.{user};_diff=200;_since.json"));
    assert!(diff("alice").is_file(), "{}", saved.stdout);
    let error: Value =
        serde_json::from_str(&std::fs::read_to_string(diff("bob")).unwrap()).unwrap();
    assert_eq!(error["code"], 400, "{error}");
    assert!(out.join("aws.iamUsers.bob.json").is_file());
    assert!(out.join("reddalert-snapshot.json").is_file());
    // The rules select the instances' fields; the file holds EDDA's whole documents, under
    // the query's name without the selector, and the replay selects from it.
    let instances = std::fs::read_to_string(out.join("view.instances;_expand.json")).unwrap();
    assert!(instances.contains("networkInterfaces"), "{instances}");
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(":(")), "{names:?}");

    let live = env.run(&["--since", &since, "--until", &until]);
    assert_eq!(live.code, 0, "{}", live.stderr);
    drop(edda); // the replay is offline
    let mut replayed = 0;
    for (module, rule) in modules
        .iter()
        .zip(["secgroups", "elbs", "iam", "ami", "newtag"])
    {
        let (code, doc, stderr) = test_rule(module, &out);
        assert_eq!(code, 0, "{rule}: {stderr}");
        assert_eq!(
            doc["window"]["since_ms"],
            T0 + 1,
            "the snapshot's window is the default"
        );
        let alerts = doc["alerts"].as_array().unwrap();
        assert_eq!(
            alerts,
            &live.alerts_of(rule),
            "{rule} replays the live run's alerts"
        );
        replayed += alerts.len();
    }
    assert!(!live.alerts_of("iam").is_empty(), "{}", live.stdout);
    assert!(replayed >= 5, "{}", live.stdout);
}

#[test]
fn test_rule_names_the_query_and_the_file_it_expected() {
    let empty = tempfile::tempdir().unwrap();
    let (code, doc, stderr) = test_rule(guests::ELBS, empty.path());
    assert_eq!(code, 1);
    let error = doc["error"].as_str().unwrap();
    assert!(
        error.contains("aws/loadBalancers;_expand")
            && error.contains("aws.loadBalancers;_expand;_since;_updated.json"),
        "{error}"
    );
    assert!(stderr.contains("rule elbs failed"), "{stderr}");
}

#[test]
fn test_rule_refuses_a_module_built_for_another_interface() {
    let empty = tempfile::tempdir().unwrap();
    let run = run_binary(&[
        "test-rule",
        guests::FUTURE,
        "--data",
        path_str(empty.path()),
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("built for interface 0.3.0, this host supports 0.1.x or 0.2.x"),
        "{}",
        run.stderr
    );
}

#[test]
fn snapshot_with_edda_unreachable_exits_2_and_saves_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new(
        &format!("http://127.0.0.1:{port}/edda"),
        &[guests::ELBS],
        "",
    );
    let out = env.path("snapshot");
    let run = run_binary(&[
        "snapshot",
        "--configfile",
        path_str(&env.config),
        "--out",
        path_str(&out),
        "-s",
        "0",
        "-u",
        "1",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("EDDA is unreachable"), "{}", run.stderr);
    assert!(!out.exists());
}
