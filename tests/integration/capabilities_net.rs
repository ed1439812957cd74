//! The HTTP and TCP-probe capabilities through the real binary, with the capcheck test rule
//! reporting every answer as an alert: deny by default (and proof that a refused call never
//! connected), declared-and-granted only, loopback refused unless granted, redirects, body cap,
//! timeouts, headers, host lists, probes, per-run limits, and what `reddalert rules` shows.

use std::time::Duration;

use reddalert_testkit::guests;
use reddalert_testkit::web::{Page, WebServer};
use serde_json::{Value, json};

use crate::support::*;

/// The `[plugin.<rule>]` section holding `calls`, as TOML.
pub fn plugin_section(rule: &str, calls: &Value) -> String {
    toml::to_string(&json!({ "plugin": { rule: calls } })).expect("calls as TOML")
}

/// Runs capcheck-style `modules` with `config` appended and the calls as the rule's section.
pub fn run_calls(modules: &[&str], rule: &str, config: &str, calls: &Value) -> (Env, Run) {
    let extra = format!("{config}\n{}", plugin_section(rule, calls));
    let env = Env::new("dir:no-edda-needed", modules, &extra);
    let run = env.run(&["--since", "0", "--until", "1"]);
    (env, run)
}

/// The details of the alert with this id.
pub fn answer(run: &Run, id: &str) -> Value {
    run.alerts()
        .into_iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("no alert {id}: {}\n{}", run.stdout, run.stderr))["details"]
        .clone()
}

fn site() -> WebServer {
    WebServer::start(vec![
        ("/ok", Page::ok("hello").header("X-Frame-Options", "DENY")),
        ("/redirect", Page::redirect("/ok")),
        ("/big", Page::ok("").body(vec![b'x'; 200 * 1024])),
        ("/slow", Page::ok("late").delay(Duration::from_secs(5))),
        (
            "/pause",
            Page::ok("paused").delay(Duration::from_millis(400)),
        ),
    ])
}

#[test]
fn nothing_is_granted_by_default_and_no_connection_is_made() {
    let web = site();
    let calls = json!({
        "http": [{"url": web.url("/ok"), "follow": true}],
        "http_many": [{"url": web.url("/ok")}, {"url": web.url("/redirect")}],
        "probe": [["127.0.0.1", web.port()]],
        "probe_many": [["127.0.0.1", web.port()]],
        "chef": [{"query": "*:*", "attributes": {"ip": "ipaddress"}}],
        "s3": [{"op": "list_buckets"}, {"op": "bucket_acl", "bucket": "b"}],
    });
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", "", &calls);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for id in [
        "http:0",
        "http_many:0",
        "http_many:1",
        "probe:0",
        "probe_many:0",
        "chef:0",
        "s3:0",
        "s3:1",
    ] {
        assert_eq!(answer(&run, id), json!({"err": "denied"}), "{id}");
    }
    assert_eq!(web.accepted(), 0, "a refused call must not connect");
    assert!(
        run.stderr
            .contains("not granted (set http = true under [grant.capcheck])"),
        "{}",
        run.stderr
    );
}

#[test]
fn undeclared_capabilities_are_refused_even_when_granted() {
    let web = site();
    let grant = "[grant.undeclared]\nhttp = true\ntcp_probe = true\nchef = true\ns3 = true\nallow_private = true\n";
    let calls = json!({
        "http": [{"url": web.url("/ok")}],
        "probe": [["127.0.0.1", web.port()]],
        "s3": [{"op": "list_buckets"}],
    });
    let (_env, run) = run_calls(&[guests::CAPCHECK_UNDECLARED], "undeclared", grant, &calls);
    for id in ["http:0", "probe:0", "s3:0"] {
        assert_eq!(answer(&run, id), json!({"err": "denied"}), "{id}");
    }
    assert_eq!(web.accepted(), 0);
    assert!(
        run.stderr.contains("did not declare http"),
        "{}",
        run.stderr
    );
}

#[test]
fn loopback_and_private_targets_need_allow_private() {
    let web = site();
    let calls = json!({
        "http": [
            {"url": web.url("/ok")},
            {"url": format!("http://localhost:{}/ok", web.port())},
            {"url": "http://169.254.169.254/latest/meta-data/"},
        ],
        "probe": [["127.0.0.1", web.port()], ["localhost", web.port()]],
    });
    let grant = "[grant.capcheck]\nhttp = true\ntcp_probe = true\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", grant, &calls);
    for id in ["http:0", "http:1", "http:2", "probe:0", "probe:1"] {
        assert_eq!(answer(&run, id), json!({"err": "denied"}), "{id}");
    }
    assert_eq!(web.accepted(), 0);
    assert!(
        run.stderr.contains("non-public address 127.0.0.1"),
        "{}",
        run.stderr
    );
}

#[test]
fn http_get_follows_or_returns_redirects_caps_bodies_and_times_out() {
    let web = site();
    let calls = json!({
        "http": [
            {"url": web.url("/redirect"), "follow": true},
            {"url": web.url("/redirect"), "follow": false},
            {"url": web.url("/big")},
            {"url": web.url("/slow")},
            {"url": web.url("/missing")},
            {"url": "ftp://127.0.0.1/x"},
        ],
        "http_many": (0..12).map(|_| json!({"url": web.url("/pause")})).collect::<Vec<_>>(),
    });
    let config = "[capabilities]\nhttp_timeout_seconds = 1\nhttp_body_max_kib = 1\n\
                  [grant.capcheck]\nhttp = true\nallow_private = true\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", config, &calls);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let followed = &answer(&run, "http:0")["ok"];
    assert_eq!(followed["status"], 200);
    assert_eq!(followed["body"], "hello");
    assert_eq!(followed["final_url"], web.url("/ok"));
    assert_eq!(followed["headers"]["x-frame-options"], "DENY");
    let not_followed = &answer(&run, "http:1")["ok"];
    assert_eq!(not_followed["status"], 302);
    assert_eq!(not_followed["headers"]["location"], "/ok");
    assert_eq!(not_followed["final_url"], web.url("/redirect"));
    assert_eq!(
        answer(&run, "http:2")["ok"]["body_len"],
        1024,
        "cut at http_body_max_kib"
    );
    assert_eq!(answer(&run, "http:3"), json!({"err": "timeout"}));
    assert_eq!(
        answer(&run, "http:4")["ok"]["status"],
        404,
        "an HTTP error is an answer"
    );
    assert!(answer(&run, "http:5")["err"]["transport"].is_string());
    for i in 0..12 {
        assert_eq!(
            answer(&run, &format!("http_many:{i}"))["ok"]["body"],
            "paused"
        );
    }
    // The batch runs on the pool: the site served several of its pages at once.
    assert!(
        web.max_in_flight() >= 2,
        "http-get-many ran one request at a time (at most {} in flight)",
        web.max_in_flight()
    );
}

#[test]
fn host_lists_apply_to_every_redirect_hop() {
    let web = site();
    let elsewhere = WebServer::start(vec![("/", Page::redirect(&web.url("/ok")))]);
    // 127.0.0.2 is loopback too, but not in the allow list below.
    let other_ip = format!("http://127.0.0.2:{}/ok", web.port());
    let to_other_ip = WebServer::start(vec![("/", Page::redirect(&other_ip))]);
    let calls = json!({
        "http": [
            {"url": web.url("/redirect"), "follow": true},
            {"url": to_other_ip.url("/"), "follow": true},
            {"url": elsewhere.url("/"), "follow": true},
        ],
    });
    // Deny wins over allow: everything on 127.0.0.1 is refused.
    let config = "[grant.capcheck]\nhttp = true\nallow_private = true\nallow_hosts = [\"127.0.0.1\"]\n\
                  deny_hosts = [\"127.0.0.0/30\"]\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", config, &calls);
    for id in ["http:0", "http:1", "http:2"] {
        assert_eq!(answer(&run, id), json!({"err": "denied"}), "{id}");
    }
    assert_eq!(
        web.accepted() + elsewhere.accepted() + to_other_ip.accepted(),
        0
    );

    let config =
        "[grant.capcheck]\nhttp = true\nallow_private = true\nallow_hosts = [\"127.0.0.1\"]\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", config, &calls);
    assert_eq!(answer(&run, "http:0")["ok"]["status"], 200);
    assert_eq!(
        answer(&run, "http:1"),
        json!({"err": "denied"}),
        "a redirect to a host not allowed"
    );
    assert_eq!(answer(&run, "http:2")["ok"]["body"], "hello");
    assert!(
        run.stderr
            .contains("127.0.0.2 matches no allow_hosts pattern"),
        "{}",
        run.stderr
    );
}

#[test]
fn tcp_probes_answer_open_closed_and_stop_at_the_limit() {
    let web = site();
    let closed = reddalert_testkit::http::closed_port();
    let calls = json!({
        "probe": [["127.0.0.1", web.port()], ["127.0.0.1", closed], ["no-such-host.invalid", 80]],
        "probe_many": [["127.0.0.1", web.port()], ["127.0.0.1", closed], ["127.0.0.1", web.port()]],
    });
    let config = "[grant.capcheck]\ntcp_probe = true\nallow_private = true\nmax_calls = 5\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", config, &calls);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(answer(&run, "probe:0"), json!({"ok": true}));
    assert_eq!(answer(&run, "probe:1"), json!({"ok": false}));
    assert!(answer(&run, "probe:2")["err"]["transport"].is_string());
    assert_eq!(answer(&run, "probe_many:0"), json!({"ok": true}));
    assert_eq!(answer(&run, "probe_many:1"), json!({"ok": false}));
    assert_eq!(
        answer(&run, "probe_many:2"),
        json!({"err": "limit-exceeded"})
    );
    assert!(
        run.stderr.contains("per-run call limit reached"),
        "{}",
        run.stderr
    );
}

#[test]
fn rules_lists_requested_and_granted_capabilities() {
    let config =
        "[grant.capcheck]\nhttp = true\nallow_hosts = [\"*.example.com\"]\nmax_calls = 9\n";
    let env = Env::new("dir:none", &[guests::CAPCHECK], config);
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let rule = &doc["rules"][0];
    assert_eq!(
        rule["capabilities"],
        json!(["http", "tcp-probe", "chef", "s3"])
    );
    assert_eq!(rule["grants"]["granted"], json!(["http"]));
    assert_eq!(
        rule["grants"]["not_granted"],
        json!(["tcp-probe", "chef", "s3"])
    );
    assert_eq!(
        rule["grants"]["grant"]["allow_hosts"],
        json!(["*.example.com"])
    );
    assert_eq!(rule["grants"]["grant"]["max_calls"]["http"], 9);
    let text = env.run(&["rules"]);
    assert!(
        text.stdout.contains("capability http (granted), tcp-probe (NOT granted), chef (NOT granted), s3 (NOT granted)"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("allow_hosts *.example.com"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_capability_call_under_way_ends_at_the_rules_deadline() {
    let web = site();
    // The page answers after 5 s and the HTTP timeout would wait a minute; the rule has 1 s.
    let calls = json!({"http": [{"url": web.url("/slow")}]});
    let config = "[capabilities]\nhttp_timeout_seconds = 60\n\
                  [grant.capcheck]\nhttp = true\nallow_private = true\n\
                  [limits.rule.capcheck]\ntimeout_seconds = 1\n";
    let (_env, run) = run_calls(&[guests::CAPCHECK], "capcheck", config, &calls);
    assert!(
        run.stderr
            .contains("capability call cut at the rule's deadline"),
        "{}",
        run.stderr
    );
    // The rule got `timeout` at its deadline; whether it then returned or its deadline trapped
    // it first, no answer of the page reached it.
    if run.code == 0 {
        assert_eq!(answer(&run, "http:0"), json!({"err": "timeout"}));
    } else {
        assert!(
            run.stderr.contains("exceeded its deadline of 1s"),
            "{}",
            run.stderr
        );
    }
}
