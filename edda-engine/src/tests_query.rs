//! API-level tests of the engine's output options against the `basic` fixtures, from both sources: `_diff`,
//! field selectors and select arguments (with both matching engines), `_meta`, `_pp`,
//! `_callback`, and merged per-account collections.

use serde_json::json;

use crate::test_support::Fixture;
use crate::test_support::{basic, get, ids};
use crate::{Revision, Store};

const T0: i64 = 1_514_764_800_000;
const T1: i64 = 1_514_768_400_000;
const T2: i64 = 1_514_772_000_000;

#[test]
fn diff_needs_two_revisions() {
    let edda = basic();
    let one = get(&edda, "aws/iamUsers/alice;_diff=200");
    assert_eq!(
        (one.status(), one.json()["message"].as_str()),
        (
            400,
            Some("_diff requires at least 2 documents, only 1 found")
        )
    );
    let r = get(&edda, "aws/iamUsers/alice;_all;_diff=1");
    assert_eq!(
        (r.status(), Some(r.content_type())),
        (200, Some("text/plain"))
    );
    let expected = "--- /edda/api/v2/aws/iamUsers/alice;_pp;_at=1514764800000\n\
                    +++ /edda/api/v2/aws/iamUsers/alice;_pp;_at=1514768400000\n\
                    @@ -20,3 +20,4 @@\n   \"groups\" : [\n-    \"developers\"\n+    \"developers\",\n+    \"admins\"\n   ],\n";
    assert_eq!(r.text(), expected);
    let whole = get(&edda, &format!("aws/iamUsers/alice;_since={T0};_diff")).text();
    assert!(
        whole.contains("@@ -1,27 +1,28 @@\n {\n")
            && whole.contains("\"createDate\" : \"2013-06-19T20:19:43.000Z\"")
    );
    let sg = get(&edda, "aws/securityGroups/sg-0a1b2c3d;_all;_diff=0").text();
    let heads: Vec<&str> = sg.lines().filter(|l| l.starts_with("---")).collect();
    assert_eq!(
        heads,
        [
            format!("--- /edda/api/v2/aws/securityGroups/sg-0a1b2c3d;_pp;_at={T2}"),
            format!("--- /edda/api/v2/aws/securityGroups/sg-0a1b2c3d;_pp;_at={T0}")
        ]
    );
    assert_eq!(get(&edda, "aws/iamUsers/bob;_all;_diff").status(), 400);
    assert_eq!(get(&edda, "aws/iamUsers/dave;_all;_diff").status(), 500);
}

#[test]
fn selectors_and_select_args() {
    let edda = basic();
    let picked = get(&edda, "view/instances;_expand:(instanceId,state:(name))").json();
    assert_eq!(
        picked[0],
        json!({"instanceId": "i-0a1b2c3d4e5f60718", "state": {"name": "running"}})
    );
    assert_eq!(
        ids(&get(&edda, "view/instances:(instanceId)").json()).len(),
        3
    );
    let filtered = get(
        &edda,
        r#"view/instances;_expand:(instanceId,placement:(availabilityZone="us-east-1d"))"#,
    )
    .json();
    assert_eq!(
        filtered,
        json!([{"instanceId": "i-0b2c3d4e5f6071829", "placement": {"availabilityZone": "us-east-1d"}}])
    );
    let tags = get(&edda, "view/instances;_expand:(tags:(key~/^service/))").json();
    assert_eq!(tags[0]["tags"].as_array().map(Vec::len), Some(1));
    // A regex selector on a null value is an NPE in EDDA.
    assert_eq!(
        get(&edda, "view/instances;_expand:(publicIpAddress~/^54/)").status(),
        500
    );
    assert_eq!(get(&edda, "aws/iamUsers/alice:(name=\"bob\")").text(), "");
    let q = |p: &str| {
        ids(&get(&edda, p).json())
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q("view/instances;tags.service_name=web"),
        ["i-0a1b2c3d4e5f60718", "i-0b2c3d4e5f6071829"]
    );
    assert_eq!(
        q(
            "view/instances;tags.aws:autoscaling:groupName=web-v042;placement.availabilityZone=us-east-1d"
        ),
        ["i-0b2c3d4e5f6071829"]
    );
    assert_eq!(q("view/instances;publicIpAddress").len(), 2);
    assert_eq!(q("view/instances;state.code=16").len(), 3);
    // The datastore compares types strictly: "16" is not 16.
    assert_eq!(q("view/instances;_since=0;state.code=16").len(), 0);
    assert_eq!(
        q("view/instances;_since=0;state.name=terminated"),
        ["i-0d4e5f60718293041"]
    );
    assert_eq!(
        q("aws/securityGroups;groupName=web,db"),
        ["sg-0a1b2c3d", "sg-0e0f1a2b"]
    );
    assert_eq!(
        get(&edda, "aws/securityGroups;ipPermissions.ipRanges=0.0.0.0/0").status(),
        400,
        "`/` in a value"
    );
    assert_eq!(
        q("aws/securityGroups;ipPermissions.fromPort=5432"),
        ["sg-0e0f1a2b"]
    );
    assert_eq!(q("aws/iamUsers;groups=admins"), ["alice"]);
}

#[test]
fn meta_pp_and_callback() {
    let edda = basic();
    let meta = get(&edda, "aws/iamUsers/alice;_meta").text();
    assert!(meta.starts_with(r#"{"ctime":1371673183000,"data":{"accessKeys":"#));
    assert!(meta.ends_with(r#""ftime":1514764800000,"id":"alice","ltime":null,"mtime":1514768400000,"stime":1514768400000,"tags":{}}"#));
    let env = get(
        &edda,
        "aws/iamUsers/alice;_all;_meta:(stime,ltime,data:(groups))",
    )
    .json();
    assert_eq!(
        env[1],
        json!({"data": {"groups": ["developers"]}, "ltime": T1, "stime": T0})
    );
    let pp = get(&edda, "aws/iamUsers;_pp").text();
    assert_eq!(pp, "[\n  \"alice\",\n  \"bob\"\n]");
    let doc = get(
        &edda,
        "aws/iamUsers/bob;_pp:(name,userPolicies,attributes:(createDate))",
    )
    .text();
    assert_eq!(
        doc,
        "{\n  \"attributes\" : {\n    \"createDate\" : \"2018-01-01T01:59:30.000Z\"\n  },\n  \"name\" : \"bob\",\n  \"userPolicies\" : [ ]\n}"
    );
    let cb = get(&edda, "aws/iamUsers;_callback=handle");
    assert_eq!(
        (Some(cb.content_type()), cb.text().as_str()),
        (Some("application/javascript"), r#"handle(["alice","bob"])"#)
    );
}

#[test]
fn per_account_collections_merge_under_the_root() {
    let mut store = Store::new();
    for (acct, id, stime) in [
        ("prod.us-east-1", "sg-p", T0),
        ("test.us-east-1", "sg-t", T1),
    ] {
        let data = json!({"groupId": id});
        store.insert(
            &format!("{acct}.aws.securityGroups"),
            Revision {
                id: id.into(),
                stime,
                ltime: None,
                ctime: None,
                data,
            },
        );
    }
    let edda = Fixture::new(store);
    assert_eq!(
        get(&edda, "aws/securityGroups").text(),
        r#"["sg-t","sg-p"]"#
    );
    assert_eq!(
        get(&edda, "prod.us-east-1/aws/securityGroups").text(),
        r#"["sg-p"]"#
    );
    assert_eq!(
        get(&edda, "prod/us-east-1/aws/securityGroups/sg-p").json()["groupId"],
        "sg-p"
    );
    assert_eq!(get(&edda, "staging/aws/securityGroups").status(), 400);
}
