//! Tests of the sso_unprotected rule through the SDK harness: the shared hosted-records and
//! instances fixtures, canned first responses (redirects not followed) for the three external
//! names the config leaves (app, chef and shop.example.com), and the state across runs.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_util::fixtures::{HOSTED_RECORDS as RECORDS, INSTANCES as MACHINES};

use crate::SsoUnprotected;

const SSO: &str = "https://sso.example.net/auth/?redirect_uri=";
const GOD: &str = "https://example.com/api/v2/auth/godauth/?ref=";
const EVIL: &str = "https://chef.example.com.evil.net/";

fn config() -> Value {
    json!({
        "sso_url": SSO,
        "godauth_url": GOD,
        "zone": "example.com.",
        "legit_domains": ["example.com", "github.io", "compute.amazonaws.com"],
        "exception_domains": ["intranet.example.com"],
    })
}

fn redirect(status: u16, location: &str) -> Result<HttpResponse, NetError> {
    Ok(HttpResponse::new(status).with_header("Location", location))
}

fn harness(state: Option<Value>) -> Harness<SsoUnprotected> {
    let h = Harness::<SsoUnprotected>::new()
        .config(config())
        .data(HOSTED_RECORDS, RECORDS)
        .data(INSTANCES_SELECTED, MACHINES)
        .window(1_514_764_800_000, 1_514_768_400_000)
        .http(
            "http://app.example.com",
            redirect(301, "https://app.example.com/"),
        )
        .http(
            "https://app.example.com",
            redirect(302, &format!("{SSO}https%3A%2F%2Fapp.example.com")),
        )
        .http("http://chef.example.com", redirect(301, EVIL))
        .http(
            "https://chef.example.com",
            Ok(HttpResponse::new(200).with_body("hello")),
        )
        .http(
            "http://shop.example.com",
            redirect(302, &format!("{GOD}http://shop.example.com")),
        )
        .http(
            "https://shop.example.com",
            Err(NetError::Transport("connection refused".into())),
        );
    match state {
        Some(state) => h.state(state),
        None => h,
    }
}

fn alert(url: &str, location: &str) -> (String, Value) {
    let message = format!(
        "This domain ({url}) is neither behind SSO nor GODAUTH because redirects to {location}"
    );
    (url.to_owned(), json!(message))
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

fn first_state() -> Value {
    json!({"redirects": {
        "http://app.example.com": "https://app.example.com/",
        "https://app.example.com": format!("{SSO}https://app.example.com"),
        "http://chef.example.com": EVIL,
        "https://chef.example.com": "",
        "http://shop.example.com": format!("{GOD}http://shop.example.com"),
    }})
}

#[test]
fn only_the_redirect_elsewhere_alerts() {
    // app: same host over https, then SSO; chef: elsewhere, then its page served directly;
    // shop: godauth, then no answer (left out of the state).
    let out = harness(None).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            alert("http://chef.example.com", EVIL),
            alert("https://chef.example.com", ""),
        ]
    );
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn a_known_redirect_does_not_alert_again() {
    let out = harness(Some(first_state())).run().expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn a_changed_redirect_alerts_again() {
    let mut state = first_state();
    state["redirects"]["http://chef.example.com"] = json!("https://chef.example.com/");
    let out = harness(Some(state)).run().expect("rule runs");
    assert_eq!(pairs(&out), vec![alert("http://chef.example.com", EVIL)]);
}

#[test]
fn plain_http_on_the_same_host_and_logins_for_other_urls_alert() {
    let other_login = format!("{SSO}https://other.example.com");
    let out = harness(Some(first_state()))
        .http(
            "http://app.example.com",
            redirect(302, "http://app.example.com/login"),
        )
        .http("https://app.example.com", redirect(302, &other_login))
        .run()
        .expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            alert("http://app.example.com", "http://app.example.com/login"),
            alert("https://app.example.com", &other_login),
        ]
    );
}

#[test]
fn relative_redirects_over_https_stay_on_the_host() {
    let out = harness(Some(first_state()))
        .http("https://app.example.com", redirect(302, "/login?next=%2F"))
        .http("http://app.example.com", redirect(302, "/login"))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![alert("http://app.example.com", "/login")]);
}

#[test]
fn urls_beyond_the_budget_or_refused_keep_their_entry() {
    let out = harness(Some(first_state()))
        .http("http://chef.example.com", Err(NetError::LimitExceeded))
        .http("https://chef.example.com", Err(NetError::Denied))
        .http("http://app.example.com", Err(NetError::Timeout))
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    let mut expected = first_state();
    if let Some(redirects) = expected["redirects"].as_object_mut() {
        redirects.remove("http://app.example.com");
    }
    assert_eq!(out.state, Some(expected));
}

#[test]
fn the_originals_initial_list_state_reads_as_empty() {
    let out = harness(Some(json!({"redirects": []})))
        .run()
        .expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            alert("http://chef.example.com", EVIL),
            alert("https://chef.example.com", ""),
        ]
    );
}

#[test]
fn denied_http_skips_the_check_and_keeps_the_state() {
    let out = harness(Some(first_state()))
        .deny(Capability::Http)
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    assert_eq!(out.state, Some(first_state()));
}

#[test]
fn bad_config_values_name_the_rule_and_their_path() {
    let err = |config: Value| {
        let err = harness(None).config(config).run().expect_err("rejected");
        format!("{err:#}")
    };
    assert_eq!(
        err(json!({"godauth_url": null, "zone": 5})),
        "sso_unprotected: zone: invalid type: integer `5`, expected a string"
    );
    assert_eq!(
        err(json!({"sso_url": ["https://sso"]})),
        "sso_unprotected: sso_url: invalid type: sequence, expected a string"
    );
    assert_eq!(
        err(json!({"exception_domains": ["intranet.example.com", ""]})),
        r#"sso_unprotected: exception_domains[1]: "" is not a domain name"#
    );
}

#[test]
fn null_values_read_as_their_default() {
    let mut nulls = json!({});
    for key in [
        "sso_url",
        "godauth_url",
        "zone",
        "legit_domains",
        "exception_domains",
    ] {
        nulls[key] = Value::Null;
    }
    let out = harness(None).config(nulls).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        pairs(&harness(None).config(json!({})).run().expect("rule runs"))
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = config();
    typo["exception_domain"] = json!(["app.example.com"]);
    let mut out = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        out = Some(harness(None).config(typo).run().expect("rule runs"));
    });
    assert_eq!(
        out.map(|out| pairs(&out)),
        Some(pairs(&harness(None).run().expect("rule runs")))
    );
    let warnings: Vec<_> = logged
        .into_iter()
        .filter(|(l, _)| *l == Level::Warn)
        .collect();
    assert_eq!(
        warnings,
        [(
            Level::Warn,
            r#"sso_unprotected: unknown config key "exception_domain" is ignored"#.to_owned()
        )]
    );
}

#[test]
fn info_declares_queries_capability_and_defaults() {
    let info = SsoUnprotected::info();
    assert_eq!(info.name, "sso_unprotected");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.capabilities, vec![Capability::Http]);
    assert_eq!(
        info.queries,
        vec![
            Query::current(HOSTED_RECORDS),
            Query::current(INSTANCES_SELECTED)
        ]
    );
    assert_eq!(info.default_config["sso_url"], "");
    assert_eq!(info.default_config["exception_domains"], json!([]));
}

// Issue 10: the original compiled `sso_url` and `godauth_url` as case-insensitive regexes,
// matched them at the start of the (percent-decoded) Location, and accepted the redirect when
// their first group was the tested host.
const SSO_RE: &str = r"^https://sso\.example\.net/auth/\?redirect_uri=https?://([^/]+)/?";
const GOD_RE: &str = r"^https://example\.com/api/v2/auth/godauth/\?ref=https?://([^/]+)/?";

fn with_logins(sso: &str, godauth: &str) -> Value {
    let mut config = config();
    config["sso_url"] = json!(sso);
    config["godauth_url"] = json!(godauth);
    config
}

#[test]
fn regex_logins_accept_login_redirects_for_the_tested_host() {
    let other_login = "https://sso.example.net/auth/?redirect_uri=https://other.example.com";
    let out = harness(Some(first_state()))
        .config(with_logins(SSO_RE, GOD_RE))
        .http(
            "https://app.example.com",
            redirect(
                302,
                "https://sso.example.net/auth/?redirect_uri=https://app.example.com/dashboard",
            ),
        )
        .http("http://app.example.com", redirect(302, other_login))
        .http(
            "http://shop.example.com",
            redirect(
                302,
                "https://EXAMPLE.com/api/v2/auth/godauth/?ref=http%3A%2F%2Fshop.example.com",
            ),
        )
        .run()
        .expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![alert("http://app.example.com", other_login)]
    );
}

#[test]
fn regex_logins_without_a_group_take_the_tested_url_after_their_match() {
    // Without `^`, with escaped dots, and without a group for the host: the tested URL must
    // follow the match, as it followed the original's earlier plain `sso_url` prefix.
    let sso = r"https://sso\.example\.net/auth/\?redirect_uri=";
    let god = r"^https://example\.com/api/v2/auth/godauth/\?ref=";
    let out = harness(Some(first_state()))
        .config(with_logins(sso, god))
        .http(
            "https://app.example.com",
            redirect(302, &format!("{SSO}https://app.example.com/x")),
        )
        .http(
            "http://app.example.com",
            redirect(302, &format!("{GOD}http://app.example.com.evil.net")),
        )
        .http(
            "http://shop.example.com",
            redirect(302, &format!("{GOD}http://shop.example.com?next=/")),
        )
        .run()
        .expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![alert(
            "http://app.example.com",
            &format!("{GOD}http://app.example.com.evil.net")
        )]
    );
}

#[test]
fn a_bad_login_regex_is_a_config_error_naming_the_key() {
    let err = harness(None)
        .config(with_logins("^https://sso.example.net/(auth", GOD_RE))
        .run()
        .expect_err("rejected");
    assert_eq!(
        format!("{err:#}"),
        r#"sso_unprotected: sso_url: "^https://sso.example.net/(auth" is not a valid regex (unclosed group)"#
    );
}

#[test]
fn answers_of_400_and_above_are_not_redirects() {
    // As the original, they are left out of the state: checked afresh when they answer again.
    let out = harness(Some(first_state()))
        .http(
            "http://chef.example.com",
            redirect(400, "https://evil.net/"),
        )
        .http(
            "https://chef.example.com",
            redirect(503, "https://evil.net/"),
        )
        .run()
        .expect("rule runs");
    assert_eq!(pairs(&out), vec![]);
    let mut expected = first_state();
    if let Some(redirects) = expected["redirects"].as_object_mut() {
        redirects.remove("http://chef.example.com");
        redirects.remove("https://chef.example.com");
    }
    assert_eq!(out.state, Some(expected));
}

#[test]
fn a_page_served_directly_alerts_when_new_or_changed() {
    // The original kept an empty location for it and reported it like any other redirect.
    let direct = alert("https://chef.example.com", "");
    let first = harness(None).run().expect("rule runs");
    assert!(pairs(&first).contains(&direct), "{:?}", pairs(&first));

    let known = harness(Some(first_state())).run().expect("rule runs");
    assert_eq!(pairs(&known), vec![]);

    let mut state = first_state();
    state["redirects"]["https://chef.example.com"] = json!("https://chef.example.com/login");
    let changed = harness(Some(state)).run().expect("rule runs");
    assert_eq!(pairs(&changed), vec![direct]);
}
