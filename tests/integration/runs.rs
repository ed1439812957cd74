//! Whole runs through the binary: alerts from real wasm rules over the fake EDDA, the window
//! as EDDA sees it, state carried between runs, and each query fetched once.

use reddalert_testkit::edda::{Revision, Store, fixtures_dir};
use reddalert_testkit::guests;

use crate::support::*;

#[test]
fn a_run_prints_real_alerts_and_saves_state() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS, guests::AMI],
        "",
    );
    let run = env.run(&["--since", &T1.to_string(), "--until", &T3.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sg = run.alerts_of("secgroups");
    let ids: Vec<&str> = sg.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"sg-0a1b2c3d (web)"), "{ids:?}");
    let wide = sg
        .iter()
        .find(|a| a["id"] == "sg-0a1b2c3d (web)" && a["details"]["toPort"] == 65535);
    assert!(
        wide.is_some(),
        "the 0-65535 opening of rev B is reported: {sg:?}"
    );
    assert!(
        sg.iter().all(|a| a["id"] != "sg-0e0f1a2b (db)"),
        "db was not updated in the window"
    );
    let status = env.status_json();
    assert_eq!(status["rules"]["secgroups"]["consecutive_failures"], 0);
    assert!(
        status["rules"]["secgroups"]["last_success"]
            .as_u64()
            .is_some()
    );
    assert!(status["rules"]["ami"]["state"]["first_seen"]["ami-0abc1234"].is_u64());
}

#[test]
fn each_distinct_query_is_fetched_once_and_windows_reach_edda() {
    let edda = basic_edda();
    // ami, newtag and secgroups all read the instances, with the same field selector.
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::AMI, guests::NEWTAG],
        "",
    );
    let run = env.run(&["--since", "2018-01-01T01:00:00Z", "--until", "1514775600"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        requests_for(&edda, "view/instances"),
        vec![
            "view/instances;_expand:(instanceId,imageId,keyName,launchTime,state,tags,\
             securityGroups,placement,iamInstanceProfile,publicIpAddress,privateIpAddress)"
                .to_string()
        ]
    );
    assert_eq!(
        edda.gzipped_responses(),
        edda.requests().len(),
        "every response came gzip-compressed"
    );
    let sg = requests_for(&edda, "aws/securityGroups");
    let windowed = format!("aws/securityGroups;_expand;_since={T1};_until={T3};_updated");
    assert_eq!(sg.iter().filter(|r| **r == windowed).count(), 1, "{sg:?}");
    // The report of ami and newtag: the current groups, the fields the model reads, once.
    let current = "aws/securityGroups;_expand:(groupId,groupName,ownerId,vpcId,ipPermissions,tags)";
    assert_eq!(sg.iter().filter(|r| *r == current).count(), 1, "{sg:?}");
    assert_eq!(sg.len(), 2, "{sg:?}");
}

#[test]
fn store_until_makes_the_next_run_start_where_this_one_ended() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "store-until = true\nuntil_lag_seconds = 600\n",
    );
    let run = env.run(&["--since", &T0.to_string(), "--until", &T2.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(env.status_json()["since"], T2 + 1);

    let before = now_ms();
    let run = env.run(&[]);
    let after = now_ms();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let last = requests_for(&edda, "aws/loadBalancers").pop().unwrap();
    let until: u64 = last
        .split(";_until=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        last.starts_with(&format!(
            "aws/loadBalancers;_expand;_since={};_until=",
            T2 + 1
        )),
        "{last}"
    );
    assert!(
        until >= before - 600_000 && until <= after - 600_000,
        "until is now minus the lag: {until}"
    );
    assert_eq!(env.status_json()["since"], until + 1);
}

#[test]
fn without_store_until_the_window_starts_at_zero() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    std::fs::write(
        &env.status,
        format!("{{\"reddalert_status\": 1, \"since\": {T2}}}"),
    )
    .unwrap();
    let run = env.run(&["--until", &T3.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        requests_for(&edda, "aws/loadBalancers"),
        vec![format!(
            "aws/loadBalancers;_expand;_since=0;_until={T3};_updated"
        )]
    );
}

#[test]
fn state_suppresses_a_repeat_alert_on_the_next_run() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::AMI], "store-until = true\n");
    let first = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .alerts_of("ami")
            .iter()
            .any(|a| a["id"] == "ami-0abc1234"),
        "{}",
        first.stdout
    );

    // The AMI's old instances are gone; a new one launches from it after the first run.
    let basic = Store::from_dir(&fixtures_dir().join("basic")).unwrap();
    let mut store = Store::new();
    let mut doc = basic.revisions("view.instances")[0].data.clone();
    doc["instanceId"] = "i-0fffffffffffffff1".into();
    doc["launchTime"] = (T4 + 60_000).into();
    store.insert(
        "view.instances",
        Revision {
            id: "i-0fffffffffffffff1".into(),
            stime: (T4 + 60_000) as i64,
            ltime: None,
            ctime: None,
            data: doc,
        },
    );
    edda.set_store(store);

    let second = env.run(&["--until", &(T4 + 120_000).to_string()]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.alerts_of("ami").is_empty(),
        "ami-0abc1234 is already known: {}",
        second.stdout
    );

    // Without the stored state the same data alerts: the state is what suppressed it.
    std::fs::remove_file(&env.status).unwrap();
    let fresh = env.run(&[
        "--since",
        &(T4 + 1).to_string(),
        "--until",
        &(T4 + 120_000).to_string(),
    ]);
    assert!(
        fresh
            .alerts_of("ami")
            .iter()
            .any(|a| a["details"]["instanceId"] == "i-0fffffffffffffff1"),
        "{}",
        fresh.stdout
    );
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
