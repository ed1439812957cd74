//! non_chef end to end: instances from the fake EDDA, nodes from a fake Chef server that
//! verifies every request's signature, the host holding the client key. An unmanaged public
//! instance launched in the (3-hour shifted) window alerts once; Chef-managed hosts are
//! reported as `chef_managed` events.

use reddalert_testkit::chef::{FakeChef, generate_key};
use reddalert_testkit::guests;
use serde_json::{Value, json};

use crate::support::*;

fn nodes() -> Vec<Value> {
    vec![
        json!({"name": "web-1", "fqdn": "web-1.example.com", "machinename": "web-1", "platform": "ubuntu",
               "os": "linux", "os_version": "5.15", "ipaddress": "10.0.1.23",
               "cloud": {"provider": "ec2", "public_ipv4": "54.12.34.56"}}),
        json!({"name": "colo-db", "fqdn": "colo-db.example.com", "machinename": "colo-db", "platform": "debian",
               "os": "linux", "os_version": "6.1", "ipaddress": "198.51.100.7",
               "network": {"interfaces": {"eth0": {"addresses": {"198.51.100.7": {"family": "inet", "netmask": "255.255.255.0"}}}}}}),
    ]
}

#[test]
fn non_chef_reports_unmanaged_instances_once_and_chef_managed_events() {
    let (pem, public) = generate_key();
    let chef = FakeChef::start("reddalert", public, nodes());
    let edda = basic_edda();
    let config = format!(
        "store-until = true\n[grant.non_chef]\nchef = true\n[chef]\nserver_url = \"{}\"\nclient_name = \"reddalert\"\nclient_key_file = \"chef.pem\"\n",
        chef.url()
    );
    let env = Env::new(&edda.base_url(), &[guests::NON_CHEF], &config);
    std::fs::write(env.path("chef.pem"), pem).unwrap();

    let run = env.run(&["--since", &T3.to_string(), "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        chef.verified() >= 1 && chef.rejected().is_empty(),
        "{:?}",
        chef.rejected()
    );
    let alerts = run.alerts();
    let unmanaged: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["details"].get("event").is_none())
        .collect();
    assert_eq!(unmanaged.len(), 1, "{}", run.stdout);
    assert_eq!(unmanaged[0]["id"], "ops-web");
    assert_eq!(unmanaged[0]["details"]["instanceId"], "i-0b2c3d4e5f6071829");
    let events: Vec<(Value, Value)> = alerts
        .iter()
        .filter(|a| a["details"]["event"] == "chef_managed")
        .map(|a| (a["id"].clone(), a["details"]["chef_node_name"].clone()))
        .collect();
    assert_eq!(events.len(), 2, "{}", run.stdout);
    assert!(events.iter().any(|(_, node)| node == "web-1"), "{events:?}");
    assert!(
        events.iter().any(|(_, node)| node == "colo-db"),
        "{events:?}"
    );
    let state = &env.status_json()["rules"]["non_chef"]["state"];
    assert!(
        state["first_seen"]["i-0b2c3d4e5f6071829"].is_u64(),
        "{state}"
    );

    // Next run: the unmanaged instance was reported already.
    let again = env.run(&["--until", &(T4 + 60_000).to_string()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .alerts()
            .iter()
            .all(|a| a["details"].get("event").is_some()),
        "{}",
        again.stdout
    );
}

fn record(name: &str, kind: &str, values: &[&str]) -> reddalert_testkit::edda::Revision {
    let records: Vec<Value> = values
        .iter()
        .map(
            |v| json!({"class": "com.amazonaws.services.route53.model.ResourceRecord", "value": v}),
        )
        .collect();
    let data = json!({
        "TTL": 300, "aliasTarget": null, "class": "com.amazonaws.services.route53.model.ResourceRecordSet",
        "failover": null, "geoLocation": null, "healthCheckId": null, "multiValueAnswer": null,
        "name": name, "region": null, "resourceRecords": records, "setIdentifier": null,
        "trafficPolicyInstanceId": null, "type": kind, "weight": null,
        "zone": {"id": "/hostedzone/Z1D633PJN98FT9", "name": "example.com."}
    });
    reddalert_testkit::edda::Revision {
        id: name.into(),
        stime: T0 as i64,
        ltime: None,
        ctime: None,
        data,
    }
}

#[test]
fn route53unknown_reports_records_pointing_outside_the_account_once() {
    let (pem, public) = generate_key();
    let chef = FakeChef::start("reddalert", public, nodes());
    let basic = reddalert_testkit::edda::Store::from_dir(
        &reddalert_testkit::edda::fixtures_dir().join("basic"),
    )
    .unwrap();
    let mut store = basic.clone();
    store.insert(
        "aws.hostedRecords",
        record("www.example.com.", "A", &["54.12.34.56"]),
    );
    store.insert(
        "aws.hostedRecords",
        record("colo.example.com.", "A", &["198.51.100.7"]),
    );
    store.insert(
        "aws.hostedRecords",
        record("old.example.com.", "A", &["203.0.113.99"]),
    );
    store.insert(
        "aws.hostedRecords",
        record("docs.example.com.", "CNAME", &["example.github.io"]),
    );
    store.insert(
        "aws.hostedRecords",
        record(
            "blog.example.com.",
            "CNAME",
            &["blog.example.com.hosting.example.net"],
        ),
    );
    let edda = basic_edda();
    edda.set_store(store);
    let config = format!(
        "[grant.route53unknown]\nchef = true\n[chef]\nserver_url = \"{}\"\nclient_name = \"reddalert\"\nclient_key_file = \"chef.pem\"\n[plugin.route53unknown]\nlegit_domains = [\"github.io\"]\n",
        chef.url()
    );
    let env = Env::new(&edda.base_url(), &[guests::ROUTE53UNKNOWN], &config);
    std::fs::write(env.path("chef.pem"), pem).unwrap();

    let run = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pairs: Vec<(Value, Value)> = run
        .alerts()
        .iter()
        .map(|a| (a["id"].clone(), a["details"].clone()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (
                json!("blog.example.com."),
                json!("blog.example.com.hosting.example.net")
            ),
            (json!("old.example.com."), json!("203.0.113.99")),
        ],
        "an instance's IP, a Chef node's IP and a legit domain are ours"
    );
    let again = env.run(&["--since", "0", "--until", &T4.to_string()]);
    assert!(
        again.alerts().is_empty(),
        "each pair alerts once: {}",
        again.stdout
    );
}
