//! API-level tests of the engine against the `basic` fixtures, from both sources: listings, time windows,
//! single gets and their 404/410 errors, and path and argument errors. Expected values come
//! from the reference's rules and the timeline in `fixtures/edda/basic/README.md`.

use serde_json::{Value, json};

use crate::test_support::{basic, get, ids};

const T0: i64 = 1_514_764_800_000;
const T1: i64 = 1_514_768_400_000;
const T2: i64 = 1_514_772_000_000;
const T4: i64 = 1_514_779_200_000;

#[test]
fn lists_live_ids_in_cache_order() {
    let edda = basic();
    let r = get(&edda, "aws/securityGroups");
    assert_eq!(
        (r.status(), Some(r.content_type())),
        (200, Some("application/json"))
    );
    assert_eq!(r.text(), r#"["sg-0a1b2c3d","sg-0e0f1a2b","sg-0f9e8d7c"]"#);
    for same in [
        "aws/securityGroups/",
        "aws.securityGroups",
        "aws/securityGroups;_expand=true",
    ] {
        assert_eq!(get(&edda, same).body(), r.body(), "{same}");
    }
    assert_eq!(ids(&get(&edda, "view/instances").json()).len(), 3);
    assert_eq!(get(&edda, "aws/buckets").text(), "[]");
}

#[test]
fn expand_returns_sorted_documents() {
    let edda = basic();
    for flag in ["_expand", "_expand=1"] {
        let docs = get(&edda, &format!("aws/securityGroups;{flag}")).json();
        assert_eq!(docs.as_array().map(Vec::len), Some(3));
        assert_eq!(docs[0]["ipPermissions"][0]["fromPort"], 22);
    }
    let text = get(&edda, "aws/securityGroups/sg-0e0f1a2b").text();
    assert!(text.starts_with(r#"{"class":"com.amazonaws.services.ec2.model.SecurityGroup","description":"database tier","groupId""#));
    assert!(text.contains(
        r#"{"Name":"db","class":"com.amazonaws.services.ec2.model.Tag","key":"Name","value":"db"}"#
    ));
}

#[test]
fn time_windows_follow_the_formal_rules() {
    let edda = basic();
    let since = |p: &str| {
        ids(&get(&edda, p).json())
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // Revisions created after T1: web B and C, once each (no de-duplication).
    assert_eq!(
        since(&format!("aws/securityGroups;_since={};_updated", T1 + 1)),
        ["sg-0a1b2c3d", "sg-0a1b2c3d"]
    );
    assert_eq!(
        since(&format!("aws/iamUsers;_since={};_updated", T0 + 1)),
        ["bob", "alice"]
    );
    // Alive at some point of [T1+1, T2-1], stime desc; ties keep insertion order.
    let window = format!("aws/securityGroups;_since={};_until={}", T1 + 1, T2 - 1);
    assert_eq!(
        since(&window),
        ["sg-0f9e8d7c", "sg-0a1b2c3d", "sg-0e0f1a2b"]
    );
    let updated = format!("aws/loadBalancers;_since={T2};_until={T4};_updated");
    assert_eq!(since(&updated), ["api-frontend"]);
    // `_all` implies expand: every revision, newest first.
    let field = |p: &str, key: &str| {
        let docs = get(&edda, p).json();
        let docs = docs.as_array().expect("array").clone();
        docs.iter()
            .map(|d| d[key].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        field("aws/iamUsers;_all", "name"),
        ["bob", "alice", "alice", "carol"]
    );
    assert_eq!(
        field("aws/securityGroups;_all;_limit=2", "groupId"),
        ["sg-0a1b2c3d", "sg-0a1b2c3d"]
    );
    // `_until` alone stays on the live set: web's live revision (C) starts after T1.
    assert_eq!(
        since(&format!("aws/securityGroups;_until={}", T1 - 1)),
        ["sg-0e0f1a2b"]
    );
    let at = get(
        &edda,
        &format!("aws/securityGroups/sg-0a1b2c3d;_at={}", T2 + 5),
    )
    .json();
    assert_eq!(at["ipPermissions"][0]["toPort"], 65535);
    let history = get(
        &edda,
        &format!("aws/securityGroups/sg-0a1b2c3d;_since={T0}"),
    )
    .json();
    let rules: Vec<usize> = (0..3)
        .map(|i| history[i]["ipPermissions"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(rules, [2, 2, 1]);
    assert_eq!(get(&edda, "aws/securityGroups/sg-nope;_all").text(), "[]");
}

#[test]
fn single_gets_and_their_errors() {
    let edda = basic();
    let alice = get(&edda, "aws/iamUsers/alice").json();
    assert_eq!(alice["groups"], json!(["developers", "admins"]));
    let nf = get(&edda, "aws/iamUsers/dave");
    assert_eq!(nf.status(), 404);
    assert_eq!(
        nf.text(),
        r#"{"code":404,"name":"NOT_FOUND","message":"record \"dave\" not found in collection aws.iamUsers"}"#
    );
    let gone = get(&edda, "aws/iamUsers/carol");
    assert_eq!(gone.status(), 410);
    let msg = "record \\\"carol\\\" is no longer valid in collection aws.iamUsers. Use _at, _since or _all arguments to fetch historical records.  Last seen at 1514764800000";
    assert_eq!(
        gone.text(),
        format!(r#"{{"code":410,"name":"GONE","message":"{msg}"}}"#)
    );
    let term = get(&edda, "view/instances/i-0d4e5f60718293041").json();
    assert!(
        term["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("Last seen at 1514772000000"))
    );
    assert_eq!(
        get(&edda, &format!("aws/iamUsers/carol;_at={T1}")).json()["name"],
        "carol"
    );
    assert_eq!(get(&edda, "aws/iamUsers/carol;_at=1").status(), 404);
    let two = get(
        &edda,
        "view/instances/i-0a1b2c3d4e5f60718,i-0c3d4e5f607182930",
    )
    .json();
    assert_eq!(two.as_array().map(Vec::len), Some(2));
}

#[test]
fn path_and_argument_errors() {
    let edda = basic();
    let bad = |p: &str| {
        let r = get(&edda, p);
        (
            r.status(),
            r.json()["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    assert_eq!(
        bad("aws/networkInterfaces"),
        (400, "invalid collection: aws.networkInterfaces".into())
    );
    assert_eq!(bad("aws"), (400, "invalid collection: .aws".into()));
    assert_eq!(
        bad("view/instances;_expand/"),
        (400, "invalid path: view/instances;_expand/".into())
    );
    assert_eq!(
        bad("view/instances::(a,b)"),
        (400, "invalid path: view/instances:".into())
    );
    assert_eq!(
        bad("aws/iamUsers;_diff"),
        (
            400,
            "_diff argument requires use of resource id: /apiaws.iamUsers/<id>".into()
        )
    );
    for p in [
        "aws/iamUsers;_since=2018-01-01T00:00:00Z",
        "aws/iamUsers;_at",
        "aws/iamUsers;_limit=x",
        "aws/nope;_until=1.5",
        "view/instances;_expand:(instanceId=running)",
        "view/instances;_expand:(launchTime=1514764800000)",
    ] {
        let r = get(&edda, p);
        assert_eq!(
            (r.status(), Some(r.content_type())),
            (500, Some("text/html")),
            "{p}"
        );
        assert!(serde_json::from_slice::<Value>(r.body()).is_err());
    }
}
