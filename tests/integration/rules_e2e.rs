//! Each stock rule end to end: the real binary, the real wasm rule, the fake EDDA serving
//! documents shaped like real ones. Exact alerts, the saved state, and what a second run
//! (window moved on by `store-until`, or state) no longer reports.

use serde_json::{Value, json};

use reddalert_testkit::edda::{Revision, Store, fixtures_dir};
use reddalert_testkit::guests;

use crate::support::*;

const WIDE: &str = "not probed: the permission spans more than 21 ports";
const DENIED: &str =
    "not probed: the host refused (tcp-probe not granted to this rule, or the address not allowed)";
const NO_MACHINE: &str = "not probed: no instance in the group has an IP address";

fn run_window(env: &Env, since: u64, until: u64) -> Run {
    let run = env.run(&["--since", &since.to_string(), "--until", &until.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run
}

/// A second run that starts where the first stopped sees no new change and reports nothing.
fn assert_next_window_is_quiet(
    env: &Env,
    edda: &reddalert_testkit::edda::FakeEdda,
    rule: &str,
    until: u64,
) {
    let run = env.run(&["--until", &(until + 3_600_000).to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.alerts_of(rule).is_empty(),
        "{rule} repeated itself: {}",
        run.stdout
    );
    let last = edda.requests().last().cloned().unwrap_or_default();
    assert!(
        last.contains(&format!("_since={}", until + 1)) || !last.contains("_since"),
        "{last}"
    );
}

#[test]
fn secgroups_reports_each_open_permission_updated_in_the_window() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS],
        "store-until = true\n",
    );
    let run = run_window(&env, T1, T3);
    let web_machines = json!([
        "i-0a1b2c3d4e5f60718 (54.12.34.56): web-v042,web,web-v042",
        "i-0b2c3d4e5f6071829 (54.12.34.57): web-v042,web,web-v042"
    ]);
    // Nothing is granted, so the host refuses the probe without connecting anywhere.
    let web = |from: i64, to: i64, note: &str| {
        json!({"plugin_name": "secgroups", "id": "sg-0a1b2c3d (web)", "details": {
            "awsAccount": "123456789012", "awsRegion": "us-east-1", "fromPort": from, "toPort": to,
            "ipAddresses": ["54.12.34.56", "54.12.34.57"], "ipProtocol": "tcp", "ipRanges": ["0.0.0.0/0"],
            "machines": web_machines, "port_open": null, "port_open_note": note}})
    };
    let legacy = json!({"plugin_name": "secgroups", "id": "sg-0f9e8d7c (legacy-all)", "details": {
        "awsAccount": "123456789012", "awsRegion": null, "fromPort": null, "toPort": null,
        "ipAddresses": [], "ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"], "machines": [],
        "port_open": null, "port_open_note": NO_MACHINE}});
    assert_eq!(
        run.alerts(),
        vec![web(0, 65535, WIDE), web(443, 443, DENIED), legacy]
    );
    assert!(
        env.status_json()["rules"]["secgroups"]
            .get("state")
            .is_none(),
        "secgroups keeps no state"
    );

    // Allowed ports and whitelisted networks silence what they cover.
    env.edit_config(
        "store-until = true",
        "[plugin.secgroups]\nallowed_ports = [443]\nallowed_protocols = [\"icmp\", \"-1\"]",
    );
    let run = run_window(&env, T1, T3);
    let ids: Vec<(Value, Value)> = run
        .alerts()
        .iter()
        .map(|a| (a["id"].clone(), a["details"]["toPort"].clone()))
        .collect();
    assert_eq!(ids, vec![(json!("sg-0a1b2c3d (web)"), json!(65535))]);
}

#[test]
fn secgroups_second_run_with_store_until_is_quiet() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS],
        "store-until = true\n",
    );
    assert_eq!(run_window(&env, T1, T3).alerts().len(), 3);
    // rev C (port 22) was created at T4: the next window [T3, T4+1h] reports it alone.
    let run = env.run(&["--until", &(T4 + 3_600_000).to_string()]);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 2, "{}", run.stdout);
    assert!(alerts.iter().all(|a| a["id"] == "sg-0a1b2c3d (web)"));
    assert_eq!(alerts[0]["details"]["toPort"], 22);
    assert_eq!(alerts[1]["details"]["toPort"], 443);
    assert_next_window_is_quiet(&env, &edda, "secgroups", T4 + 3_600_000);
}

#[test]
fn elbs_reports_a_listener_on_a_strange_port_once() {
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "store-until = true\n");
    let run = run_window(&env, T2, T4);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 1, "{}", run.stdout);
    assert_eq!(alerts[0]["id"], "api-frontend");
    let details = &alerts[0]["details"];
    assert_eq!(
        details["canonicalHostedZoneName"],
        "api-frontend-1234567890.us-east-1.elb.amazonaws.com"
    );
    assert_eq!(details["numberOfInstances"], 0);
    let ports: Vec<&Value> = details["listenerDescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["listener"]["loadBalancerPort"])
        .collect();
    assert_eq!(ports, vec![&json!(80), &json!(8080)]);
    assert_next_window_is_quiet(&env, &edda, "elbs", T4);
}

#[test]
fn iam_reports_groups_added_and_new_users_through_diffs() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::IAM],
        "store-until = true\n[plugin.iam]\nallowed = [\"^carol$\"]\n",
    );
    let run = run_window(&env, T0 + 1, T4);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 2, "{}", run.stdout);
    assert_eq!(
        alerts[0],
        json!({"plugin_name": "iam", "id": "alice", "details": {
        "groups": ["admins"], "message": "Groups the user has been added to: admins"}})
    );
    assert_eq!(alerts[1]["id"], "bob");
    assert_eq!(alerts[1]["details"]["message"], "New user has been added");
    assert_eq!(
        alerts[1]["details"]["user"]["attributes"]["arn"],
        "arn:aws:iam::123456789012:user/bob"
    );
    // The `_diff`s go in one batch, in any order; the new user's document after them.
    let mut diffs = requests_for(&edda, "aws/iamUsers/");
    assert_eq!(
        diffs.pop().as_deref(),
        Some("aws/iamUsers/bob"),
        "{diffs:?}"
    );
    diffs.sort();
    assert_eq!(
        diffs,
        vec![
            format!("aws/iamUsers/alice;_diff=200;_since={};_until={T4}", T0 + 1),
            format!("aws/iamUsers/bob;_diff=200;_since={};_until={T4}", T0 + 1),
        ]
    );
    assert_next_window_is_quiet(&env, &edda, "iam", T4);
}

#[test]
fn iam_bad_config_fails_the_rule_naming_key_and_value() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::IAM, guests::ELBS],
        "[plugin.iam]\nallowed = [\"(\"]\n",
    );
    let run = env.run(&["--since", &T2.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("iam: allowed[0]: \"(\" is not a valid regex"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1, "the other rule still ran");
}

#[test]
fn secgroups_probes_the_exposed_port_when_granted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let basic = Store::from_dir(&fixtures_dir().join("basic")).unwrap();
    let mut store = Store::new();
    // One instance on loopback in a group that exposes the listening port and a closed one.
    let mut doc = basic.revisions("view.instances")[0].data.clone();
    doc["publicIpAddress"] = Value::Null;
    doc["privateIpAddress"] = "127.0.0.1".into();
    store.insert(
        "view.instances",
        Revision {
            id: "i-0a1b2c3d4e5f60718".into(),
            stime: T0 as i64,
            ltime: None,
            ctime: None,
            data: doc,
        },
    );
    let mut sg = basic.revisions("aws.securityGroups")[0].data.clone();
    let mut perm = sg["ipPermissions"][0].clone();
    let mut perms = Vec::new();
    for port in [open, closed] {
        perm["fromPort"] = port.into();
        perm["toPort"] = port.into();
        perms.push(perm.clone());
    }
    sg["ipPermissions"] = perms.into();
    store.insert(
        "aws.securityGroups",
        Revision {
            id: "sg-0a1b2c3d".into(),
            stime: T2 as i64,
            ltime: None,
            ctime: None,
            data: sg,
        },
    );
    let edda = basic_edda();
    edda.set_store(store);
    let grant = "[grant.secgroups]\ntcp_probe = true\nallow_private = true\n";
    let env = Env::new(&edda.base_url(), &[guests::SECGROUPS], grant);
    let run = run_window(&env, T1, T3);
    let outcome: Vec<(Value, Value)> = run
        .alerts()
        .iter()
        .map(|a| {
            (
                a["details"]["toPort"].clone(),
                a["details"]["port_open"].clone(),
            )
        })
        .collect();
    let mut expected = vec![(json!(open), json!(true)), (json!(closed), json!(false))];
    expected.sort_by_key(|(port, _)| port.as_u64());
    assert_eq!(outcome, expected, "{}", run.stdout);
    drop(listener);
}

fn instance(
    basic: &Store,
    index: usize,
    id: &str,
    image: &str,
    launch: u64,
    tags: &[(&str, &str)],
) -> Revision {
    let mut doc = basic.revisions("view.instances")[index].data.clone();
    doc["instanceId"] = id.into();
    doc["imageId"] = image.into();
    doc["launchTime"] = launch.into();
    doc["tags"] = tags
        .iter()
        .map(|(k, v)| json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": k, "value": v, *k: v}))
        .collect();
    Revision {
        id: id.into(),
        stime: launch as i64,
        ltime: None,
        ctime: None,
        data: doc,
    }
}

/// The basic account plus a new service (`billing`, on a new AMI) and an untagged instance.
fn grown_store() -> Store {
    let basic = Store::from_dir(&fixtures_dir().join("basic")).unwrap();
    let mut store = basic.clone();
    store.insert(
        "view.instances",
        instance(
            &basic,
            0,
            "i-0e5f60718293a4b51",
            "ami-0f00dbeef",
            T3,
            &[("Name", "billing-v001"), ("service_name", "billing")],
        ),
    );
    store.insert(
        "view.instances",
        instance(
            &basic,
            0,
            "i-0f60718293a4b5c62",
            "ami-0abc1234",
            T3 + 60_000,
            &[("Name", "scratch-box")],
        ),
    );
    store
}

#[test]
fn ami_newtag_and_missingtag_report_what_is_new_in_the_window() {
    let edda = basic_edda();
    edda.set_store(grown_store());
    let env = Env::new(
        &edda.base_url(),
        &[guests::AMI, guests::NEWTAG, guests::MISSINGTAG],
        "store-until = true\n",
    );
    let run = run_window(&env, T2, T4);

    let ami = run.alerts_of("ami");
    assert_eq!(ami.len(), 1, "only the new AMI: {}", run.stdout);
    assert_eq!(ami[0]["id"], "ami-0f00dbeef");
    let report = &ami[0]["details"];
    assert_eq!(report["instanceId"], "i-0e5f60718293a4b51");
    assert_eq!(report["service_type"], "billing");
    assert_eq!(report["started"], T3);
    assert_eq!(report["awsRegion"], "us-east-1");
    assert_eq!(report["awsAccount"], "123456789012");
    assert_eq!(
        report["tags"],
        json!({"Name": "billing-v001", "service_name": "billing"})
    );
    assert_eq!(report["elbs"], json!([]));
    assert_eq!(
        report["open_ports"],
        json!([[{"port": 22, "range": "0.0.0.0/0"}, {"port": 443, "range": "0.0.0.0/0"}]])
    );

    let newtag: Vec<(Value, Value)> = run
        .alerts_of("newtag")
        .iter()
        .map(|a| (a["id"].clone(), a["details"]["instanceId"].clone()))
        .collect();
    assert_eq!(
        newtag,
        vec![(json!("billing"), json!("i-0e5f60718293a4b51"))]
    );
    let missing: Vec<(Value, Value)> = run
        .alerts_of("missingtag")
        .iter()
        .map(|a| (a["id"].clone(), a["details"]["instanceId"].clone()))
        .collect();
    assert_eq!(
        missing,
        vec![(json!("scratch-box"), json!("i-0f60718293a4b5c62"))]
    );

    let state = &env.status_json()["rules"]["ami"]["state"];
    assert_eq!(state["first_seen"]["ami-0f00dbeef"], T3);
    assert_eq!(
        state["first_seen"]["ami-0abc1234"], 1_514_505_600_000u64,
        "the earliest launch is kept"
    );

    // Next window: nothing new.
    let run = env.run(&["--until", &(T4 + 3_600_000).to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.alerts().is_empty(), "{}", run.stdout);
}
