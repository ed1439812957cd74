//! The `ocsf` output through the binary: every line it appends is a Detection Finding that
//! py-ocsf-models validates and keeps whole, one per alert, with the alert's stable uid; a run
//! that raises nothing appends nothing; and findings that could not be written wait for the
//! next run, which appends them exactly once.

use std::collections::BTreeMap;

use reddalert_testkit::{guests, ocsf};
use serde_json::Value;

use crate::support::*;

/// The `stdout_json` lines of a run by their `uid`.
fn printed(run: &Run) -> BTreeMap<String, Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|a| (a["uid"].as_str().unwrap().to_owned(), a))
        .collect()
}

/// The findings of a file by their `finding_info.uid`, after checking that every line is a
/// valid Detection Finding and that no two share a uid.
fn findings(text: &str) -> BTreeMap<String, Value> {
    let problems = ocsf::problems(text);
    assert!(problems.is_empty(), "{problems:#?}\n{text}");
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_uid: BTreeMap<String, Value> = all
        .iter()
        .map(|f| {
            (
                f["finding_info"]["uid"].as_str().unwrap().to_owned(),
                f.clone(),
            )
        })
        .collect();
    assert_eq!(by_uid.len(), all.len(), "a finding appended twice:\n{text}");
    by_uid
}

#[test]
fn every_finding_validates_and_carries_the_uid_of_its_alert() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        "[ocsf]\npath = \"findings.ocsf.jsonl\"\nseverity = { elbs = \"critical\" }\n",
    );
    let a = args(&alerting(), &["-o", "ocsf,stdout_json"]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alerts = printed(&run);
    assert!(
        alerts.values().any(|a| a["plugin_name"] == "secgroups")
            && alerts.values().any(|a| a["plugin_name"] == "elbs"),
        "{}",
        run.stdout
    );

    let text = std::fs::read_to_string(env.path("findings.ocsf.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    let found = findings(&text);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        alerts.keys().collect::<Vec<_>>(),
        "one finding per alert, with the alert's uid"
    );
    for (uid, alert) in &alerts {
        let f = &found[uid];
        let rule = alert["plugin_name"].as_str().unwrap();
        let id = alert["id"].as_str().unwrap();
        assert_eq!(f["class_uid"], 2004);
        assert_eq!(f["finding_info"]["title"], format!("{rule}: {id}"));
        assert_eq!(f["finding_info"]["types"][0], format!("reddalert/{rule}"));
        assert_eq!(f["metadata"]["product"]["feature"]["name"], rule);
        assert_eq!(f["metadata"]["product"]["feature"]["version"], "0.1.0");
        assert_eq!(f["unmapped"]["details"], alert["details"]);
        assert_eq!(f["resources"][0]["uid"], id);
        assert_eq!((&f["start_time"], &f["end_time"]), (&T1.into(), &T3.into()));
        let (severity, resource) = match rule {
            "elbs" => ((5, "Critical"), "AWS::ElasticLoadBalancing::LoadBalancer"),
            _ => ((4, "High"), "AWS::EC2::SecurityGroup"),
        };
        assert_eq!(
            (&f["severity_id"], &f["severity"]),
            (&severity.0.into(), &severity.1.into()),
            "{rule}"
        );
        assert_eq!(f["resources"][0]["type"], resource);
    }

    let q = args(&quiet(), &["-o", "ocsf,stdout_json"]);
    let quiet = env.run(&strs(&q));
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(
        std::fs::read_to_string(env.path("findings.ocsf.jsonl")).unwrap(),
        text,
        "a run that raises nothing appends nothing"
    );
}

#[test]
fn findings_that_could_not_be_written_wait_and_are_appended_once() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        "[ocsf]\npath = \"findings\"\n",
    );
    // A directory where the file should be: no open for appending succeeds, even as root.
    std::fs::create_dir(env.path("findings")).unwrap();
    let a = args(&alerting(), &["-o", "ocsf,stdout_json"]);
    let first = env.run(&strs(&a));
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("output ocsf") || first.stderr.contains("output=\"ocsf\""),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("findings"), "{}", first.stderr);
    let alerts = printed(&first);
    let waiting = env.status_json()["pending"].as_array().unwrap().len();
    assert_eq!(waiting, alerts.len());

    std::fs::remove_dir(env.path("findings")).unwrap();
    let q = args(&quiet(), &["-o", "ocsf,stdout_json"]);
    let second = env.run(&strs(&q));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(second.stdout.is_empty(), "{}", second.stdout);
    let third = env.run(&strs(&q));
    assert_eq!(third.code, 0, "{}", third.stderr);

    let text = std::fs::read_to_string(env.path("findings")).unwrap();
    let found = findings(&text);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        alerts.keys().collect::<Vec<_>>(),
        "the waited alerts, once each"
    );
    for f in found.values() {
        assert_eq!(
            (&f["start_time"], &f["end_time"]),
            (&T1.into(), &T3.into()),
            "the window they were raised in"
        );
    }
    assert!(env.status_json().get("pending").is_none());
}
