//! Interface 0.1.1's `fetch-many`: the iam rule hands its per-user `_diff`s to the host in
//! batches, which reach EDDA several at a time and give the same alerts as one at a time; and
//! a module built for 0.1.0, before `fetch-many` existed, still loads and runs.

use std::time::Duration;

use serde_json::json;

use reddalert_testkit::edda::Fault;
use reddalert_testkit::guests;

use crate::support::*;

#[test]
fn iam_batches_its_diffs_concurrently_with_the_same_alerts() {
    let edda = basic_edda();
    // Each per-user request takes a while, so the batch's requests overlap at the fake: the
    // declared query (`aws/iamUsers;…`) is not slowed, and it is the only other request.
    edda.set_fault_for(
        "aws/iamUsers/",
        Some(Fault::Hang(Duration::from_millis(500))),
    );
    let env = Env::new(
        &edda.base_url(),
        &[guests::IAM],
        "store-until = true\n[plugin.iam]\nallowed = [\"^carol$\"]\n",
    );
    let run = env.run(&["--since", &(T0 + 1).to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 2, "{}", run.stdout);
    assert_eq!(
        alerts[0],
        json!({"plugin_name": "iam", "id": "alice", "details": {
        "groups": ["admins"], "message": "Groups the user has been added to: admins"}})
    );
    assert_eq!(alerts[1]["id"], "bob");
    assert_eq!(alerts[1]["details"]["message"], "New user has been added");
    let max = edda.max_concurrent_requests();
    assert!(
        max > 1,
        "the _diffs reached EDDA one at a time (at most {max})"
    );
    let mut asked = requests_for(&edda, "aws/iamUsers/");
    assert_eq!(
        asked.pop().as_deref(),
        Some("aws/iamUsers/bob"),
        "{asked:?}"
    );
    asked.sort();
    assert_eq!(
        asked,
        [
            format!("aws/iamUsers/alice;_diff=200;_since={};_until={T4}", T0 + 1),
            format!("aws/iamUsers/bob;_diff=200;_since={};_until={T4}", T0 + 1),
        ]
    );
}

#[test]
fn modules_built_for_0_1_0_and_0_2_0_run_side_by_side_each_in_its_form() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::OLDER, guests::MISSINGTAG, guests::AMI],
        "",
    );
    let listed = env.run(&["rules", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let doc: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let rule = |name: &str| {
        doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed: {doc}"))
            .clone()
    };
    let forms = |rule: &serde_json::Value| -> Vec<(String, String)> {
        (rule["queries"].as_array().unwrap().iter())
            .map(|q| {
                let path = q["path"].as_str().unwrap();
                (
                    path.split(';').next().unwrap().to_owned(),
                    q["form"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(rule("older")["interface"], "0.1.0");
    assert!(forms(&rule("older")).iter().all(|(_, form)| form == "json"));
    let missingtag = rule("missingtag");
    assert_eq!(missingtag["interface"], "0.2.0");
    let declared = forms(&missingtag);
    assert_eq!(
        declared[0],
        ("view/instances".to_owned(), "archive".to_owned()),
        "{declared:?}"
    );
    assert!(
        declared[1..].iter().all(|(_, form)| form == "json"),
        "{declared:?}"
    );
    assert_eq!(rule("ami")["interface"], "0.2.0");

    let text = env.run(&["rules"]);
    assert!(
        text.stdout.contains("(current, as an archive)"),
        "{}",
        text.stdout
    );

    let run = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.alerts_of("older"),
        vec![json!({"plugin_name": "older", "id": "older", "details": {
            "declared": 1, "fetched_json": true}})]
    );
    // Exit 0: no rule failed. Every instance here carries its service_name tag, so missingtag
    // (whose alerts through the archive rules_e2e checks) finds none; ami reads the same
    // instances as JSON.
    assert!(
        run.stderr
            .contains("rule finished rule=missingtag alerts=0"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("ami").len(), 3, "{}", run.stdout);
    // The selected instances were fetched once for ami (JSON) and missingtag (the archive made
    // from that same body).
    let selected = requests_for(&edda, "view/instances;_expand:(");
    assert_eq!(selected.len(), 1, "{selected:?}");
}
