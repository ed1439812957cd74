//! The Chef capability against a fake Chef server that verifies each request's signature with
//! the client's public key: partial search in pages of 2,000 rows, a 5xx retried, both signing
//! versions, a key the server does not know, and the original's `plugin.chef` keys.

use reddalert_testkit::chef::{FakeChef, generate_key};
use reddalert_testkit::guests;
use serde_json::{Value, json};

use crate::capabilities_net::{answer, plugin_section};
use crate::support::*;

fn nodes(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "name": format!("node-{i}"),
                "chef_environment": if i % 2 == 0 { "prod" } else { "dev" },
                "ipaddress": format!("10.0.{}.{}", i / 250, i % 250),
                "cloud": {"public_ipv4": format!("198.51.100.{}", i % 250)},
            })
        })
        .collect()
}

/// An installation whose Chef client key is written to `chef.pem` beside the config.
fn env_with_key(pem: &str, chef_config: &str, calls: &Value) -> Env {
    let extra = format!(
        "[grant.capcheck]\nchef = true\n{chef_config}\n{}",
        plugin_section("capcheck", calls)
    );
    let env = Env::new("dir:none", &[guests::CAPCHECK], &extra);
    std::fs::write(env.path("chef.pem"), pem).unwrap();
    env
}

fn run(env: &Env) -> Run {
    env.run(&["--since", "0", "--until", "1"])
}

#[test]
fn searches_are_signed_paged_and_retried() {
    let (pem, public) = generate_key();
    let chef = FakeChef::start("reddalert", public, nodes(4500));
    let calls = json!({"chef": [
        {"query": "*:*", "attributes": {"name": "name", "ip": "ipaddress", "public_ip": ["cloud", "public_ipv4"]}},
        {"query": "chef_environment:prod", "attributes": {"name": "name"}},
    ]});
    let config = format!(
        "[chef]\nserver_url = \"{}\"\nclient_name = \"reddalert\"\nclient_key_file = \"chef.pem\"\n",
        chef.url()
    );
    let env = env_with_key(&pem, &config, &calls);
    chef.fail_next(1);
    let run = run(&env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(chef.rejected().is_empty(), "{:?}", chef.rejected());

    let rows = answer(&run, "chef:0")["ok"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rows.len(), 4500, "all pages were read");
    assert_eq!(
        rows[2001],
        json!({"name": "node-2001", "ip": "10.0.8.1", "public_ip": "198.51.100.1"})
    );
    let prod = answer(&run, "chef:1")["ok"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(prod.len(), 2250);

    let starts: Vec<String> = chef
        .requests()
        .iter()
        .map(|r| r.path.split("start=").nth(1).unwrap_or("?").to_owned())
        .collect();
    // The first request got the injected 503 and was retried; then 3 + 2 pages of 2,000 rows.
    assert_eq!(
        starts,
        ["0", "0", "2000", "4000", "0", "2000"],
        "{starts:?}"
    );
    assert!(chef.requests()[0].path.contains("rows=2000"));
    assert_eq!(chef.verified(), 6);
    assert!(
        run.stderr.contains("Chef search failed; retrying"),
        "{}",
        run.stderr
    );
}

#[test]
fn version_1_3_signing_and_the_originals_keys_work() {
    let (pem, public) = generate_key();
    let chef = FakeChef::start("legacy-client", public, nodes(3));
    let calls = json!({"chef": [{"query": "*:*", "attributes": {"ip": "ipaddress"}}]});
    // The original's keys, under plugin.chef, with the signing version from [chef].
    let config = format!(
        "[chef]\nsign_version = \"1.3\"\n[plugin.chef]\nchef_server_url = \"{}\"\nclient_name = \"legacy-client\"\nclient_key_file = \"chef.pem\"\n",
        chef.url()
    );
    let env = env_with_key(&pem, &config, &calls);
    let run = run(&env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(chef.rejected().is_empty(), "{:?}", chef.rejected());
    assert_eq!(
        answer(&run, "chef:0"),
        json!({"ok": [{"ip": "10.0.0.0"}, {"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]})
    );
    assert!(
        chef.requests()[0]
            .header("x-ops-sign")
            .is_some_and(|s| s.contains("1.3"))
    );
    assert!(
        !run.stderr.contains("section matches no installed rule"),
        "the credential keys are taken out of plugin.chef: {}",
        run.stderr
    );
}

#[test]
fn a_key_the_server_does_not_know_is_refused_and_not_retried() {
    let (_, public) = generate_key();
    let (other_pem, _) = generate_key();
    let chef = FakeChef::start("reddalert", public, nodes(3));
    let calls = json!({"chef": [{"query": "*:*", "attributes": {"ip": "ipaddress"}}, {"query": "*:*", "attributes": "not json"}]});
    let config = format!(
        "[chef]\nserver_url = \"{}\"\nclient_name = \"reddalert\"\nclient_key_file = \"chef.pem\"\n",
        chef.url()
    );
    let env = env_with_key(&other_pem, &config, &calls);
    let run = run(&env);
    assert_eq!(answer(&run, "chef:0"), json!({"err": {"http": 401}}));
    assert!(
        answer(&run, "chef:1")["err"]["transport"]
            .as_str()
            .is_some_and(|m| m.contains("attributes"))
    );
    assert_eq!(
        chef.requests().len(),
        1,
        "a 401 is not retried; bad attributes never sent"
    );
    assert!(
        chef.rejected()[0].contains("signature"),
        "{:?}",
        chef.rejected()
    );
    assert!(
        run.stderr.contains("the Chef server refused the search"),
        "{}",
        run.stderr
    );
}
