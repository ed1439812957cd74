//! The S3 capability against moto's server with request authentication on, so every answer
//! below also proves the host's SigV4 signatures: bucket list and locations, listings by prefix
//! and delimiter, bucket ACLs (public-read, authenticated-read, private) and object ACLs, with
//! credentials from named environment variables or from the original's `plugin.s3acl` keys.

use reddalert_testkit::guests;
use reddalert_testkit::moto::{Fixture, Moto};
use serde_json::{Value, json};

use crate::capabilities_net::{answer, plugin_section};
use crate::support::*;

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn fixture() -> Fixture {
    let s = |v: &str| v.to_owned();
    Fixture {
        buckets: vec![
            (s("open-bucket"), s("public-read"), s("us-east-1")),
            (s("staff-bucket"), s("authenticated-read"), s("us-east-1")),
            (s("closed-bucket"), s("private"), s("eu-west-1")),
        ],
        objects: vec![
            (s("closed-bucket"), s("logs/2026/a.log"), s("public-read")),
            (s("closed-bucket"), s("logs/2026/b.log"), s("private")),
            (s("closed-bucket"), s("logs/2025/c.log"), s("private")),
            (s("closed-bucket"), s("index.html"), s("private")),
            (
                s("closed-bucket"),
                s("with space~tilde.txt"),
                s("public-read"),
            ),
        ],
        skip_signature_check: false,
    }
}

/// (grantee type, id or uri, permission) of each grant.
fn grants(details: &Value) -> Vec<(String, String, String)> {
    let list = details["ok"]
        .as_array()
        .unwrap_or_else(|| panic!("not grants: {details}"));
    list.iter()
        .map(|g| {
            let who = g["grantee"]["uri"]
                .as_str()
                .or(g["grantee"]["id"].as_str())
                .unwrap_or("?");
            let kind = g["grantee"]["type"].as_str().unwrap_or("?");
            (
                kind.to_owned(),
                who.to_owned(),
                g["permission"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

#[test]
fn buckets_listings_and_acls_come_from_signed_requests() {
    let moto = Moto::start(&fixture());
    let calls = json!({"s3": [
        {"op": "list_buckets"},
        {"op": "location", "bucket": "closed-bucket"},
        {"op": "location", "bucket": "open-bucket"},
        {"op": "list", "bucket": "closed-bucket", "prefix": "logs"},
        {"op": "list", "bucket": "closed-bucket", "prefix": ""},
        {"op": "bucket_acl", "bucket": "open-bucket"},
        {"op": "bucket_acl", "bucket": "staff-bucket"},
        {"op": "bucket_acl", "bucket": "closed-bucket"},
        {"op": "object_acl", "bucket": "closed-bucket", "key": "logs/2026/a.log"},
        {"op": "object_acl", "bucket": "closed-bucket", "key": "logs/2026/b.log"},
        {"op": "object_acl", "bucket": "closed-bucket", "key": "with space~tilde.txt"},
        {"op": "bucket_acl", "bucket": "no-such-bucket"},
    ]});
    let config = format!(
        "[grant.capcheck]\ns3 = true\n[s3]\nendpoint = \"{}\"\naccess_key_id_env = \"CAPCHECK_KEY\"\nsecret_access_key_env = \"CAPCHECK_SECRET\"\n{}",
        moto.endpoint(),
        plugin_section("capcheck", &calls)
    );
    let env = Env::new("dir:none", &[guests::CAPCHECK], &config);
    let run = env.run_with_env(
        &["--since", "0", "--until", "1"],
        &[
            ("CAPCHECK_KEY", &moto.access_key_id),
            ("CAPCHECK_SECRET", &moto.secret_access_key),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    let mut buckets: Vec<String> =
        serde_json::from_value(answer(&run, "s3:0")["ok"].clone()).unwrap();
    buckets.sort();
    assert_eq!(buckets, ["closed-bucket", "open-bucket", "staff-bucket"]);
    assert_eq!(answer(&run, "s3:1"), json!({"ok": "eu-west-1"}));
    assert_eq!(answer(&run, "s3:2"), json!({"ok": "us-east-1"}));
    let logs = &answer(&run, "s3:3")["ok"]["keys"];
    assert_eq!(logs.as_array().map(Vec::len), Some(3), "{logs}");
    let all = &answer(&run, "s3:4")["ok"]["keys"];
    assert_eq!(all.as_array().map(Vec::len), Some(5), "{all}");

    let owner_only = |g: &[(String, String, String)]| {
        g.len() == 1 && g[0].0 == "CanonicalUser" && g[0].2 == "FULL_CONTROL"
    };
    let open = grants(&answer(&run, "s3:5"));
    assert!(
        open.contains(&("Group".into(), ALL_USERS.into(), "READ".into())),
        "{open:?}"
    );
    let staff = grants(&answer(&run, "s3:6"));
    assert!(
        staff.contains(&("Group".into(), AUTHENTICATED.into(), "READ".into())),
        "{staff:?}"
    );
    assert!(owner_only(&grants(&answer(&run, "s3:7"))));
    let public_object = grants(&answer(&run, "s3:8"));
    assert!(public_object.contains(&("Group".into(), ALL_USERS.into(), "READ".into())));
    assert!(owner_only(&grants(&answer(&run, "s3:9"))));
    let odd_key = grants(&answer(&run, "s3:10"));
    assert!(
        odd_key.contains(&("Group".into(), ALL_USERS.into(), "READ".into())),
        "{odd_key:?}"
    );
    assert_eq!(answer(&run, "s3:11"), json!({"err": {"http": 404}}));
}

#[test]
fn listings_by_prefix_and_delimiter() {
    let fixture = Fixture {
        skip_signature_check: true,
        ..fixture()
    };
    let moto = Moto::start(&fixture);
    let calls = json!({"s3": [
        {"op": "list", "bucket": "closed-bucket", "prefix": "logs/", "delimiter": "/"},
        {"op": "list", "bucket": "closed-bucket", "prefix": "", "delimiter": "/"},
        {"op": "list", "bucket": "closed-bucket", "prefix": "logs/2026/"},
    ]});
    let config = format!(
        "[grant.capcheck]\ns3 = true\nmax_calls = 2\n[s3]\nendpoint = \"{}\"\n[plugin.s3acl]\nuser = \"k\"\nkey = \"s\"\n{}",
        moto.endpoint(),
        plugin_section("capcheck", &calls)
    );
    let env = Env::new("dir:none", &[guests::CAPCHECK], &config);
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(
        answer(&run, "s3:0"),
        json!({"ok": {"keys": [], "common_prefixes": ["logs/2025/", "logs/2026/"]}})
    );
    let mut top: Vec<String> =
        serde_json::from_value(answer(&run, "s3:1")["ok"]["keys"].clone()).unwrap();
    top.sort();
    assert_eq!(top, ["index.html", "with space~tilde.txt"]);
    assert_eq!(
        answer(&run, "s3:1")["ok"]["common_prefixes"],
        json!(["logs/"])
    );
    assert_eq!(
        answer(&run, "s3:2"),
        json!({"err": "limit-exceeded"}),
        "max_calls = 2"
    );
}

#[test]
fn a_wrong_secret_is_refused_and_the_originals_keys_are_read() {
    let moto = Moto::start(&Fixture::default());
    let calls = json!({"s3": [{"op": "list_buckets"}]});
    let legacy = |secret: &str| {
        format!(
            "[grant.capcheck]\ns3 = true\n[s3]\nendpoint = \"{}\"\n[plugin.s3acl]\nuser = \"{}\"\nkey = \"{secret}\"\n{}",
            moto.endpoint(),
            moto.access_key_id,
            plugin_section("capcheck", &calls)
        )
    };
    let env = Env::new(
        "dir:none",
        &[guests::CAPCHECK],
        &legacy(&moto.secret_access_key),
    );
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(answer(&run, "s3:0"), json!({"ok": []}), "{}", run.stderr);
    assert!(!run.stderr.contains("plugin.s3acl"), "{}", run.stderr);

    let env = Env::new("dir:none", &[guests::CAPCHECK], &legacy("not-the-secret"));
    let run = env.run(&["--since", "0", "--until", "1"]);
    assert_eq!(answer(&run, "s3:0"), json!({"err": {"http": 403}}));
    assert!(
        run.stderr.contains("SignatureDoesNotMatch"),
        "{}",
        run.stderr
    );

    // Without credentials the call fails in the host, naming the variables to set.
    let config = format!(
        "[grant.capcheck]\ns3 = true\n[s3]\nendpoint = \"{}\"\naccess_key_id_env = \"NO_SUCH_VAR_1\"\n{}",
        moto.endpoint(),
        plugin_section("capcheck", &calls)
    );
    let env = Env::new("dir:none", &[guests::CAPCHECK], &config);
    let run = env.run(&["--since", "0", "--until", "1"]);
    let err = answer(&run, "s3:0")["err"]["transport"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(err.contains("NO_SUCH_VAR_1"), "{err}");
}

/// `[s3]` naming no credentials takes them from the standard chain, and the endpoint from
/// `AWS_ENDPOINT_URL`, as the AWS SDKs do: here from the environment, then from a profile of
/// the shared credentials file (with the environment's keys set empty, which counts as unset).
#[test]
fn an_s3_section_naming_no_credentials_uses_the_standard_chain() {
    let s = |v: &str| v.to_owned();
    let moto = Moto::start(&Fixture {
        buckets: vec![(s("chain-bucket"), s("private"), s("us-east-1"))],
        ..Fixture::default()
    });
    let calls = json!({"s3": [{"op": "list_buckets"}]});
    let config = format!(
        "[grant.capcheck]\ns3 = true\n[s3]\nregion = \"us-east-1\"\n{}",
        plugin_section("capcheck", &calls)
    );
    let env = Env::new("dir:none", &[guests::CAPCHECK], &config);
    let home = tempfile::tempdir().unwrap();
    let home_dir = path_str(home.path());
    let endpoint = moto.endpoint();
    let common = [
        ("HOME", home_dir),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_PROFILE", ""),
        ("AWS_SHARED_CREDENTIALS_FILE", ""),
        ("AWS_CONFIG_FILE", ""),
    ];
    let from_env = [
        ("AWS_ACCESS_KEY_ID", moto.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_access_key.as_str()),
    ];
    let run = env.run_with_env(
        &["--since", "0", "--until", "1"],
        &[&common[..], &from_env[..]].concat(),
    );
    assert_eq!(
        answer(&run, "s3:0"),
        json!({"ok": ["chain-bucket"]}),
        "{}",
        run.stderr
    );

    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.access_key_id, moto.secret_access_key
        ),
    )
    .unwrap();
    let unset = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    let run = env.run_with_env(
        &["--since", "0", "--until", "1"],
        &[&common[..], &unset[..]].concat(),
    );
    assert_eq!(
        answer(&run, "s3:0"),
        json!({"ok": ["chain-bucket"]}),
        "{}",
        run.stderr
    );

    // Nothing anywhere: the rule's call fails naming every source the chain tried.
    std::fs::remove_file(home.path().join(".aws/credentials")).unwrap();
    let run = env.run_with_env(
        &["--since", "0", "--until", "1"],
        &[&common[..], &unset[..]].concat(),
    );
    let err = answer(&run, "s3:0")["err"]["transport"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        err.contains("no AWS credentials found") && err.contains("AWS_EC2_METADATA_DISABLED"),
        "{err}"
    );
}
