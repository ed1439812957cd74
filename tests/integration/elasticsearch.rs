//! The Elasticsearch output against a fake `_bulk` endpoint: documents carry what they
//! should, a partial 429 is retried for the refused items only, a redelivery is a 409 that
//! counts as delivered, and a server that is down (or refuses an item for good) makes the
//! alerts wait for the next run, which sends only those.

use std::collections::BTreeSet;

use reddalert_testkit::elasticsearch::FakeElasticsearch;
use reddalert_testkit::guests;
use reddalert_testkit::http::closed_port;

use crate::support::*;

fn config(url: &str) -> String {
    format!(
        "[elasticsearch]\nurl = \"{url}\"\nindex = \"reddalert-%Y.%m.%d\"\nretries = 2\nbackoff_ms = 10\ntimeout_seconds = 5\n"
    )
}

#[test]
fn documents_are_created_and_only_refused_items_are_retried() {
    let edda = basic_edda();
    let es = FakeElasticsearch::start();
    es.require_auth("ApiKey a2V5OnNlY3JldA==");
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "{}api_key_env = \"REDDALERT_TEST_ES_KEY\"\n",
            config(&es.url())
        ),
    );
    // The second and fourth documents of the first request are refused for now.
    es.fail_items_next(vec![None, Some(429), None, Some(503)]);
    let a = args(&alerting(), &["-o", "elasticsearch,stdout_json"]);
    let vars = [("REDDALERT_TEST_ES_KEY", "a2V5OnNlY3JldA==")];
    let run = env.run_with_env(&strs(&a), &vars);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let raised = run.alerts().len();
    assert!(raised >= 4, "{}", run.stdout);

    let bulks = es.bulks();
    assert_eq!(bulks.len(), 2, "one request, then one retry");
    assert_eq!(bulks[0].len(), raised);
    assert!(bulks[0].iter().all(|op| op.action == "create"));
    let retried: Vec<&str> = bulks[1].iter().map(|op| op.id.as_str()).collect();
    assert_eq!(
        retried,
        vec![bulks[0][1].id.as_str(), bulks[0][3].id.as_str()]
    );
    let request = &es.requests()[0];
    assert_eq!(request.path, "/_bulk");
    assert_eq!(request.header("content-type"), Some("application/x-ndjson"));

    let docs = es.documents();
    assert_eq!(docs.len(), raised, "every alert indexed once");
    let dated = |idx: &str| {
        idx.strip_prefix("reddalert-").is_some_and(|d| {
            d.len() == 10
                && d.chars().enumerate().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        c == '.'
                    } else {
                        c.is_ascii_digit()
                    }
                })
        })
    };
    for ((idx, _), doc) in &docs {
        assert!(dated(idx), "{idx}");
        assert_eq!(doc["rule_version"], "0.1.0", "{doc}");
        assert_eq!(doc["window"]["since_ms"], T1);
        assert_eq!(doc["window"]["until_ms"], T3);
        assert_eq!(doc["rule"], doc["plugin_name"]);
        assert!(doc["@timestamp"].as_str().unwrap().ends_with('Z'), "{doc}");
        assert!(
            doc["id"].is_string() && doc["details_text"].is_string(),
            "{doc}"
        );
    }
    let sg = docs
        .values()
        .find(|d| d["plugin_name"] == "secgroups" && d["details"]["toPort"] == 65535);
    assert!(sg.is_some(), "object details are kept as objects");

    // The same run again: every create is a 409, which counts as delivered.
    let again = env.run_with_env(&strs(&a), &vars);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(es.documents().len(), raised, "no duplicates");
    assert!(env.status_json().get("pending").is_none());
}

#[test]
fn a_down_server_and_refused_items_wait_and_go_alone_next_run() {
    let edda = basic_edda();
    let down = format!("http://127.0.0.1:{}", closed_port());
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &config(&down),
    );
    let a = args(&alerting(), &["-o", "elasticsearch"]);
    let first = env.run(&strs(&a));
    assert_eq!(first.code, 1, "{}", first.stderr);
    let pending = env.status_json()["pending"].as_array().cloned().unwrap();
    let raised = pending.len();
    assert!(raised >= 2);
    assert!(
        first.stderr.contains(&format!("{raised} alerts wait")),
        "{}",
        first.stderr
    );

    // Up again, but it refuses the first document for good (a mapping error).
    let es = FakeElasticsearch::start();
    env.edit_config(&down, &es.url());
    es.fail_items_next(vec![Some(400)]);
    let q = args(&quiet(), &["-o", "elasticsearch"]);
    let second = env.run(&strs(&q));
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(second.stderr.contains("answered 400"), "{}", second.stderr);
    assert_eq!(es.bulks().len(), 1, "a 400 is not retried within the run");
    assert_eq!(es.bulks()[0].len(), raised);
    let pending = env.status_json()["pending"].as_array().cloned().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["attempts"], 2);

    let third = env.run(&strs(&q));
    assert_eq!(third.code, 0, "{}", third.stderr);
    let bulks = es.bulks();
    assert_eq!(bulks.len(), 2);
    assert_eq!(bulks[1].len(), 1, "only the alert that waited");
    assert_eq!(
        bulks[1][0].id, bulks[0][0].id,
        "with the same _id as before"
    );
    let ids: BTreeSet<_> = es.documents().into_keys().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), raised);
    assert!(env.status_json().get("pending").is_none());
}

#[test]
fn the_original_es_keys_reach_the_server() {
    let edda = basic_edda();
    let es = FakeElasticsearch::start();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        &format!("es_host = \"127.0.0.1\"\nes_port = {}\n", es.port()),
    );
    let a = args(&window(T2, T4), &["-o", "elasticsearch,stdout_json"]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = es.documents();
    assert_eq!(docs.len(), run.alerts().len());
    assert!(
        docs.keys().all(|(index, _)| index == "reddalert"),
        "the original's index"
    );
}
