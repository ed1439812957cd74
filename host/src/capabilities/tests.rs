use std::net::IpAddr;

use super::*;
use crate::capabilities::policy::is_public;
use crate::config::capabilities::{HostPattern, HostPolicy};
use crate::config::{Config, Overrides};
use crate::config::{CredentialSource, SignVersion};

fn load(name: &str, text: &str) -> anyhow::Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Config::load(&path, &Overrides::default())
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn grants_and_settings_parse_from_toml() {
    let config = load(
        "c.toml",
        r#"
[capabilities]
concurrency = 4
http_timeout_seconds = 1.5
max_tcp_probes = 7

[grant.secgroups]
tcp_probe = true
allow_private = true
max_calls = 50

[grant.route53changed]
http = true
allow_hosts = ["*.example.com", "192.0.2.0/24"]
deny_hosts = ["admin.example.com"]

[chef]
server_url = "https://chef.example.com/organizations/ops/"
client_name = "reddalert"
client_key_file = "chef.pem"
sign_version = "1.3"

[s3]
region = "eu-west-1"
endpoint = "http://127.0.0.1:5000"
access_key_id_env = "MY_KEY"
"#,
    )
    .unwrap();
    let caps = &config.capabilities;
    assert_eq!(caps.net.concurrency, 4);
    assert_eq!(
        caps.net.http_timeout,
        std::time::Duration::from_millis(1500)
    );
    assert_eq!(caps.net.max_calls.tcp_probe, 7);
    assert_eq!(caps.net.http_body_max_bytes, 64 << 10);
    let sg = caps.grant_for("secgroups");
    assert!(sg.tcp_probe && !sg.http && sg.hosts.allow_private);
    assert_eq!(sg.max_calls, Some(50));
    assert!(
        !caps
            .grant_for("nobody")
            .allows(crate::contract::Capability::Http)
    );
    let chef = caps.chef.as_ref().unwrap();
    assert_eq!(
        chef.server_url,
        "https://chef.example.com/organizations/ops"
    );
    assert!(chef.key_file.is_absolute() && chef.key_file.ends_with("chef.pem"));
    assert_eq!(chef.sign_version, SignVersion::V1_3);
    assert_eq!((chef.page_rows, chef.max_pages, chef.retries), (2000, 5, 5));
    assert_eq!(caps.s3.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
    assert!(
        matches!(&caps.s3.credentials, CredentialSource::Env { access_key_id, secret_access_key, .. }
        if access_key_id == "MY_KEY" && secret_access_key == "AWS_SECRET_ACCESS_KEY")
    );
}

#[test]
fn an_s3_section_naming_no_credentials_uses_the_standard_chain() {
    let config = load("c.toml", "[s3]\nregion = \"eu-west-1\"\n").unwrap();
    assert!(matches!(
        config.capabilities.s3.credentials,
        CredentialSource::Chain
    ));
    let named = load("c.toml", "[s3]\nsession_token_env = \"T\"\n").unwrap();
    assert!(matches!(
        &named.capabilities.s3.credentials,
        CredentialSource::Env { access_key_id, session_token, .. }
            if access_key_id == "AWS_ACCESS_KEY_ID" && session_token == "T"
    ));
}

#[test]
fn the_originals_credential_keys_are_read_and_hidden_from_rules() {
    let config = load(
        "c.json",
        r#"{
  "plugin.chef": {"chef_server_url": "https://chef.example.com", "client_name": "r",
                  "client_key_file": "/etc/chef.pem", "excluded_instances": ["x"]},
  "plugin.s3acl": {"user": "AKIDEXAMPLE", "key": "very-secret", "excluded_buckets": []},
  "grant.s3acl": {"s3": true},
  "grant": {"non_chef": {"chef": true}}
}"#,
    )
    .unwrap();
    let chef = config.capabilities.chef.as_ref().unwrap();
    assert_eq!(chef.client_name, "r");
    assert_eq!(chef.sign_version, SignVersion::V1_1);
    assert_eq!(
        config.rule_sections["chef"],
        serde_json::json!({"excluded_instances": ["x"]})
    );
    assert_eq!(
        config.rule_sections["s3acl"],
        serde_json::json!({"excluded_buckets": []})
    );
    assert!(matches!(
        config.capabilities.s3.credentials,
        CredentialSource::Literal { .. }
    ));
    assert!(!format!("{:?}", config.capabilities).contains("very-secret"));
    assert!(config.capabilities.grant_for("s3acl").s3);
    assert!(config.capabilities.grant_for("non_chef").chef);
}

#[test]
fn bad_capability_settings_name_the_key() {
    for (text, needle) in [
        ("[grant.x]\nhttp = true\nhttps = true\n", "https"),
        ("[grant.x]\nallow_hosts = [\"10.0.0.0/33\"]\n", "grant.x"),
        (
            "[grant.x]\ndeny_hosts = [\"http://a.com\"]\n",
            "not a host pattern",
        ),
        ("[chef]\nserver_url = \"https://c\"\n", "go together"),
        (
            "[chef]\nserver_url = \"c\"\nclient_name = \"a\"\nclient_key_file = \"k\"\n",
            "not an http",
        ),
        (
            "[chef]\nsign_version = \"1.0\"\nserver_url = \"https://c\"\nclient_name = \"a\"\nclient_key_file = \"k\"\n",
            "sign_version",
        ),
        ("[capabilities]\nconcurrency = 0\n", "concurrency"),
        (
            "[capabilities]\nhttp_timeout_seconds = 0\n",
            "http_timeout_seconds",
        ),
        ("[s3]\nendpoint = \"127.0.0.1:5000\"\n", "endpoint"),
    ] {
        let err = format!("{:#}", load("c.toml", text).unwrap_err());
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn non_public_addresses_are_recognised() {
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ] {
        assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
    }
    for ip in [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "64:ff9b::808:808",
    ] {
        assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
    }
}

#[test]
fn host_policy_checks_names_and_every_address() {
    let policy = |allow: &[&str], deny: &[&str], private: bool| HostPolicy {
        allow: allow
            .iter()
            .map(|p| HostPattern::parse(p).unwrap())
            .collect(),
        deny: deny
            .iter()
            .map(|p| HostPattern::parse(p).unwrap())
            .collect(),
        allow_private: private,
    };
    let open = policy(&[], &[], false);
    assert!(open.check("example.com", &ips(&["93.184.216.34"])).is_ok());
    let err = open
        .check("sneaky.example.com", &ips(&["93.184.216.34", "127.0.0.1"]))
        .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    assert!(
        policy(&[], &[], true)
            .check("localhost", &ips(&["127.0.0.1"]))
            .is_ok()
    );

    let listed = policy(
        &["*.example.com", "52.94.236.0/24"],
        &["admin.example.com"],
        false,
    );
    assert!(
        listed
            .check("www.example.com", &ips(&["93.184.216.34"]))
            .is_ok()
    );
    assert!(
        listed
            .check("WWW.Example.COM.", &ips(&["93.184.216.34"]))
            .is_ok()
    );
    assert!(
        listed
            .check("example.com", &ips(&["93.184.216.34"]))
            .is_err(),
        "apex is not a subdomain"
    );
    assert!(
        listed
            .check("evilexample.com", &ips(&["93.184.216.34"]))
            .is_err()
    );
    assert!(
        listed
            .check("admin.example.com", &ips(&["93.184.216.34"]))
            .is_err()
    );
    assert!(listed.check("other.org", &ips(&["52.94.236.7"])).is_ok());
    assert!(
        listed
            .check("other.org", &ips(&["52.94.236.7", "93.184.216.34"]))
            .is_err()
    );
    let deny_net = policy(&[], &["93.184.216.0/24"], false);
    assert!(
        deny_net
            .check("a.org", &ips(&["1.1.1.1", "93.184.216.34"]))
            .is_err()
    );
}

#[test]
fn acls_and_listings_parse_from_s3_xml() {
    let acl = r#"<?xml version="1.0" encoding="utf-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><DisplayName>webfile</DisplayName><ID>75aa</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>75aa</ID><DisplayName>webfile</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"#;
    let policy: s3_xml::AccessControlPolicy = s3_xml::parse(acl.as_bytes()).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&s3_xml::grants_json(policy).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"grantee": {"type": "CanonicalUser", "id": "75aa", "display_name": "webfile"}, "permission": "FULL_CONTROL"},
            {"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "READ"},
        ])
    );
    let list = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken><Contents><Key>top.txt</Key><Size>1</Size></Contents><Name>b</Name><Prefix/><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes></ListBucketResult>"#;
    let page: s3_xml::ListBucketResult = s3_xml::parse(list.as_bytes()).unwrap();
    assert!(page.is_truncated);
    assert_eq!(page.next_continuation_token.as_deref(), Some("tok"));
    assert_eq!(page.contents.len(), 1);
    assert_eq!(
        page.common_prefixes
            .iter()
            .map(|p| p.prefix.as_str())
            .collect::<Vec<_>>(),
        ["a/", "b/"]
    );
    for (xml, region) in [
        (
            r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#,
            "us-east-1",
        ),
        (
            r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">EU</LocationConstraint>"#,
            "eu-west-1",
        ),
        (
            r#"<LocationConstraint>ap-south-1</LocationConstraint>"#,
            "ap-south-1",
        ),
    ] {
        let loc: s3_xml::LocationConstraint = s3_xml::parse(xml.as_bytes()).unwrap();
        assert_eq!(s3_xml::region_of(&loc.region), region);
    }
    let buckets = r#"<ListAllMyBucketsResult><Buckets><Bucket><Name>a</Name></Bucket><Bucket><Name>b</Name></Bucket></Buckets><Owner><ID>x</ID></Owner></ListAllMyBucketsResult>"#;
    let all: s3_xml::ListAllMyBucketsResult = s3_xml::parse(buckets.as_bytes()).unwrap();
    assert_eq!(all.buckets.bucket.len(), 2);
    let empty: s3_xml::ListAllMyBucketsResult =
        s3_xml::parse(b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>").unwrap();
    assert!(empty.buckets.bucket.is_empty());
}

#[test]
fn undeclared_or_ungranted_calls_are_denied_and_budgets_hold() {
    let config = load("c.toml", "[grant.r]\ntcp_probe = true\nmax_calls = 2\n").unwrap();
    use crate::contract::{Capability, NetError};
    let undeclared = RuleCapabilities::new(&config.capabilities, "r", &[]);
    assert_eq!(undeclared.tcp_probe("127.0.0.1", 1), Err(NetError::Denied));
    let ungranted = RuleCapabilities::new(&config.capabilities, "r", &[Capability::Http]);
    assert_eq!(
        ungranted
            .http_get("http://127.0.0.1:1/", false)
            .unwrap_err(),
        NetError::Denied
    );
    // Loopback is refused (no allow_private) before any budget question... but counted.
    let granted = RuleCapabilities::new(&config.capabilities, "r", &[Capability::TcpProbe]);
    let targets: Vec<(String, u16)> = (0..3).map(|_| ("127.0.0.1".to_owned(), 9)).collect();
    let results = granted.tcp_probe_many(&targets);
    assert_eq!(
        results,
        vec![
            Err(NetError::Denied),
            Err(NetError::Denied),
            Err(NetError::LimitExceeded)
        ]
    );
    assert_eq!(
        granted.tcp_probe("127.0.0.1", 9),
        Err(NetError::LimitExceeded)
    );
}
