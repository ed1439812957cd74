//! Tests of the s3acl rule through the SDK harness with canned S3 answers: buckets with
//! public, group, partner, e-mail and owner-only grants, a nested listing, excluded buckets
//! and keys, failures, the budget, a denied capability and seeded sampling.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::testing::Harness;

use crate::S3Acl;

mod config_errors;

const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

fn owner(permission: &str) -> Value {
    json!({"grantee": {"type": "CanonicalUser", "id": OWNER, "display_name": "ops"}, "permission": permission})
}

fn group(uri: &str, permission: &str) -> Value {
    json!({"grantee": {"type": "Group", "uri": uri}, "permission": permission})
}

fn listing(keys: &[&str], prefixes: &[&str]) -> Result<ObjectListing, NetError> {
    let own = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
    Ok(ObjectListing {
        keys: own(keys),
        common_prefixes: own(prefixes),
    })
}

/// The config that visits everything: every listing is small enough at probability 1.
fn config() -> Value {
    json!({
        "excluded_buckets": ["cached\\w*"],
        "excluded_keys": ["^.*tmp_\\w*.json$"],
        "allowed": [{"uid": OWNER, "op": "FULL_CONTROL"}],
        "allowed_specific": {"logs": [
            {"gid": LOG_DELIVERY, "op": "WRITE"},
            {"gid": LOG_DELIVERY, "op": "READ_ACP"},
        ]},
        "visit_probability": 1.0,
        "seed": 7,
    })
}

fn harness() -> Harness<S3Acl> {
    let buckets = ["assets", "cached-thumbs", "logs", "media", "public-site"];
    let email = json!({"grantee": {"type": "AmazonCustomerByEmail", "email": "partner@example.net"}, "permission": "READ"});
    let partner = json!({"grantee": {"type": "CanonicalUser", "id": "partner456", "display_name": null}, "permission": "WRITE"});
    Harness::<S3Acl>::new()
        .config(config())
        .window(1_514_764_800_000, 1_514_768_400_000)
        .s3_list_buckets(Ok(buckets.iter().map(|b| (*b).to_owned()).collect()))
        .s3_bucket_acl(
            "assets",
            Ok(json!([owner("FULL_CONTROL"), group(ALL_USERS, "READ")])),
        )
        .s3_list_objects(
            "assets",
            "",
            listing(&["index.html", "tmp_1.json"], &["img/"]),
        )
        .s3_list_objects(
            "assets",
            "img/",
            listing(&["img/a.png", "img/b.png", "img/c.png"], &[]),
        )
        .s3_object_acl(
            "assets",
            "index.html",
            Ok(json!([owner("FULL_CONTROL"), group(ALL_USERS, "READ")])),
        )
        .s3_object_acl(
            "assets",
            "img/a.png",
            Ok(json!([owner("FULL_CONTROL"), email])),
        )
        .s3_object_acl("assets", "img/b.png", Ok(json!([owner("FULL_CONTROL")])))
        .s3_object_acl("assets", "img/c.png", Err(NetError::Http(404)))
        .s3_bucket_acl(
            "logs",
            Ok(json!([
                owner("FULL_CONTROL"),
                group(LOG_DELIVERY, "WRITE"),
                group(LOG_DELIVERY, "READ_ACP")
            ])),
        )
        .s3_list_objects("logs", "", Err(NetError::Http(403)))
        .s3_bucket_acl("media", Err(NetError::Timeout))
        .s3_list_objects("media", "", listing(&[], &[]))
        .s3_bucket_acl(
            "public-site",
            Ok(json!([
                owner("FULL_CONTROL"),
                group(AUTHENTICATED, "READ"),
                partner
            ])),
        )
        .s3_list_objects("public-site", "", listing(&[], &[]))
}

fn pairs(out: &Output) -> Vec<(String, Value)> {
    out.alerts
        .iter()
        .map(|a| (a.id.clone(), a.details.clone()))
        .collect()
}

fn alert(id: &str, detail: &str) -> (String, Value) {
    (id.to_owned(), json!(detail))
}

#[test]
fn grants_that_no_rule_allows_alert_per_bucket_and_key() {
    // cached-thumbs is excluded, assets:tmp_1.json too; logs' delivery grants are allowed
    // there; media's ACL times out; img/b.png is owner-only and img/c.png is gone.
    let out = harness().run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![
            alert("assets", &format!("{ALL_USERS} READ")),
            alert("assets:index.html", &format!("{ALL_USERS} READ")),
            alert("assets:img/a.png", "partner@example.net READ"),
            alert("public-site", &format!("{AUTHENTICATED} READ")),
            alert("public-site", "partner456 WRITE"),
        ]
    );
    assert_eq!(out.state, None);
}

/// The alerts of a run whose `allowed` rules are `rules`.
fn allowing(rules: Value) -> Vec<(String, Value)> {
    let mut config = config();
    config["allowed"] = rules;
    pairs(&harness().config(config).run().expect("rule runs"))
}

#[test]
fn uid_star_never_allows_a_group_grant_issue_10() {
    // `*` stands for a grantee without a canonical id: the e-mail grantee of img/a.png. The
    // public and authenticated-users grants are groups: a uid rule never allows them.
    let alerts = allowing(json!([
        {"uid": OWNER, "op": "FULL_CONTROL"},
        {"uid": "*", "op": "READ"},
    ]));
    assert_eq!(
        alerts,
        vec![
            alert("assets", &format!("{ALL_USERS} READ")),
            alert("assets:index.html", &format!("{ALL_USERS} READ")),
            alert("public-site", &format!("{AUTHENTICATED} READ")),
            alert("public-site", "partner456 WRITE"),
        ]
    );
}

#[test]
fn uid_matches_a_canonical_id_and_gid_a_group_uri_only() {
    let alerts = allowing(json!([
        {"uid": OWNER, "op": "FULL_CONTROL"},
        {"uid": "partner456", "op": "WRITE"},
        {"gid": AUTHENTICATED, "op": "READ"},
        // Neither names a grantee of that kind: no effect.
        {"uid": ALL_USERS, "op": "READ"},
        {"gid": "partner456", "op": "WRITE"},
    ]));
    assert_eq!(
        alerts,
        vec![
            alert("assets", &format!("{ALL_USERS} READ")),
            alert("assets:index.html", &format!("{ALL_USERS} READ")),
            alert("assets:img/a.png", "partner@example.net READ"),
        ]
    );
}

#[test]
fn a_rule_with_uid_and_gid_allows_either_grantee() {
    let alerts = allowing(json!([
        {"uid": OWNER, "op": "FULL_CONTROL"},
        {"uid": "*", "gid": AUTHENTICATED, "op": "READ"},
    ]));
    assert_eq!(
        alerts,
        vec![
            alert("assets", &format!("{ALL_USERS} READ")),
            alert("assets:index.html", &format!("{ALL_USERS} READ")),
            alert("public-site", "partner456 WRITE"),
        ]
    );
}

#[test]
fn a_rule_without_uid_or_gid_allows_its_permission_to_every_grantee() {
    let alerts = allowing(json!([
        {"uid": OWNER, "op": "FULL_CONTROL"},
        {"op": "READ"},
    ]));
    assert_eq!(alerts, vec![alert("public-site", "partner456 WRITE")]);
}

#[test]
fn allowed_specific_applies_to_its_bucket_only() {
    let mut config = config();
    config["allowed_specific"] = json!({"public-site": [{"uid": "partner456", "op": "WRITE"}]});
    let out = harness()
        .config(config)
        .s3_object_acl("assets", "img/b.png", Ok(json!([{"grantee": {"type": "CanonicalUser", "id": "partner456"}, "permission": "WRITE"}])))
        .run()
        .expect("rule runs");
    let ids: Vec<(String, Value)> = pairs(&out);
    assert!(ids.contains(&alert("assets:img/b.png", "partner456 WRITE")));
    assert!(!ids.contains(&alert("public-site", "partner456 WRITE")));
    assert!(ids.contains(&alert("logs", &format!("{LOG_DELIVERY} WRITE"))));
}

#[test]
fn default_sampling_visits_one_bucket_chosen_by_the_seed() {
    // Four buckets at probability 0.1: one is visited, the same one for the same seed.
    let visited = |seed: u64| {
        let mut config = config();
        config["visit_probability"] = json!(0.1);
        config["seed"] = json!(seed);
        let out = harness().config(config).run().expect("rule runs");
        pairs(&out)
    };
    // Seeds 3 and 10 draw assets, then one of its two top-level keys and one of img/'s
    // three; seed 1 draws media, whose ACL times out. (The draws are pinned by the seed.)
    let all_users = alert("assets", &format!("{ALL_USERS} READ"));
    assert_eq!(visited(3), visited(3));
    assert_eq!(
        visited(3),
        vec![
            all_users.clone(),
            alert("assets:img/a.png", "partner@example.net READ")
        ]
    );
    assert_eq!(
        visited(10),
        vec![
            all_users,
            alert("assets:index.html", &format!("{ALL_USERS} READ"))
        ]
    );
    assert_eq!(visited(1), vec![]);
}

#[test]
fn deeper_prefixes_get_fewer_visits() {
    // visit_max 2 at probability 1: two of the three top prefixes, then one of the three
    // below each; every leaf has one public key, so exactly two keys are read, whatever the
    // seed draws.
    let mut h = Harness::<S3Acl>::new()
        .config(json!({"visit_probability": 1.0, "visit_max": 2, "seed": 11}))
        .s3_list_buckets(Ok(vec!["deep".into()]))
        .s3_bucket_acl("deep", Ok(json!([])))
        .s3_list_objects("deep", "", listing(&[], &["a/", "b/", "c/"]));
    for top in ["a/", "b/", "c/"] {
        let subs: Vec<String> = (1..=3).map(|i| format!("{top}{i}/")).collect();
        let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
        h = h.s3_list_objects("deep", top, listing(&[], &subs));
        for sub in subs {
            let key = format!("{sub}k");
            h = h
                .s3_list_objects("deep", sub, listing(&[&key], &[]))
                .s3_object_acl("deep", &key, Ok(json!([group(ALL_USERS, "READ")])));
        }
    }
    let out = h.run().expect("rule runs");
    assert_eq!(out.alerts.len(), 2, "{:?}", pairs(&out));
    let tops: Vec<&str> = out
        .alerts
        .iter()
        .map(|a| &a.id["deep:".len()..][..2])
        .collect();
    assert_ne!(tops[0], tops[1], "one leaf under each of two top prefixes");
}

#[test]
fn a_used_up_budget_stops_the_walk() {
    let out = harness()
        .s3_object_acl("assets", "index.html", Err(NetError::LimitExceeded))
        .run()
        .expect("rule runs");
    assert_eq!(
        pairs(&out),
        vec![alert("assets", &format!("{ALL_USERS} READ"))]
    );
}

#[test]
fn denied_s3_skips_the_check() {
    let out = harness().deny(Capability::S3).run().expect("rule runs");
    assert_eq!(out, Output::new());
}

#[test]
fn a_failed_bucket_listing_fails_the_rule() {
    let err = harness()
        .s3_list_buckets(Err(NetError::Transport("connection reset".into())))
        .run()
        .expect_err("fails");
    assert_eq!(
        format!("{err:#}"),
        "s3acl: listing the buckets failed: transport error: connection reset"
    );
}

#[test]
fn the_original_credentials_are_accepted_and_ignored() {
    let mut with_keys = config();
    with_keys["user"] = json!("AKIAIOSFODNN7EXAMPLE");
    with_keys["key"] = json!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let out = harness().config(with_keys).run().expect("rule runs");
    assert_eq!(pairs(&out), pairs(&harness().run().expect("rule runs")));
}

#[test]
fn info_declares_the_capability_and_defaults() {
    let info = S3Acl::info();
    assert_eq!(info.name, "s3acl");
    assert!(
        info.version.is_empty(),
        "register! fills in the crate's version"
    );
    assert_eq!(info.queries, vec![]);
    assert_eq!(info.capabilities, vec![Capability::S3]);
    assert_eq!(info.default_config["visit_probability"], json!(0.1));
    assert_eq!(info.default_config["visit_max"], json!(5));
    assert_eq!(info.default_config["seed"], Value::Null);
    assert_eq!(
        info.default_config,
        json!({
            "excluded_buckets": [], "excluded_keys": [], "allowed": [], "allowed_specific": {},
            "visit_probability": 0.1, "visit_max": 5, "seed": null,
        })
    );
}
