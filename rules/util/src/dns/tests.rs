//! The name-selection decisions, one branch per test, and the selection over the shared
//! hosted-records fixture.

use super::*;
use crate::fixtures::{HOSTED_RECORDS, INSTANCES};
use reddalert_rule_sdk::serde_json;

fn names(config: Value) -> Names {
    let domains = |key: &str| -> Vec<Domain> {
        serde_json::from_value(config.get(key).cloned().unwrap_or(json!([]))).expect("valid")
    };
    let zone = config
        .get("zone")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Names::new(
        zone,
        &domains("legit_domains"),
        &domains("exception_domains"),
    )
}

fn known() -> KnownIps {
    let instances: Vec<Instance> = serde_json::from_str(INSTANCES).expect("fixture");
    KnownIps::from_instances(&instances)
}

#[test]
fn legit_domains_match_on_label_boundaries() {
    let n = names(json!({"legit_domains": ["example.com.", ".github.io"]}));
    assert!(n.is_legit("example.com"));
    assert!(n.is_legit("WWW.Example.com."));
    assert!(n.is_legit("example.github.io"));
    assert!(!n.is_legit("evil-example.com"));
    assert!(!n.is_legit("example.com.evil.net"));
}

#[test]
fn an_empty_domain_does_not_read() {
    for empty in ["", ".", ".."] {
        let err = serde_json::from_value::<Domain>(json!(empty)).expect_err("rejected");
        assert_eq!(err.to_string(), format!("{empty:?} is not a domain name"));
    }
    let domain: Domain = serde_json::from_value(json!(".Example.com.")).expect("a domain");
    assert_eq!(domain.normalized(), "example.com");
    assert_eq!(
        serde_json::to_value(&domain).unwrap(),
        json!(".Example.com.")
    );
}

#[test]
fn ec2_names_of_every_region_give_their_ip() {
    assert_eq!(
        ec2_name_ip("ec2-54-12-34-57.compute-1.amazonaws.com").as_deref(),
        Some("54.12.34.57")
    );
    assert_eq!(
        ec2_name_ip("ec2-198-51-100-7.eu-west-1.compute.amazonaws.com.").as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(ec2_name_ip("ec2-1-2-3.compute-1.amazonaws.com"), None);
    assert_eq!(ec2_name_ip("ec2-1-2-3-400.compute-1.amazonaws.com"), None);
    assert_eq!(ec2_name_ip("www.example.com"), None);
}

#[test]
fn internal_addresses_are_not_routable_ones() {
    for ip in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "fd00::1",
        "fe80::1",
    ] {
        assert!(is_internal_ip(ip), "{ip}");
    }
    for value in [
        "54.12.34.56",
        "203.0.113.10",
        "2600:1f18::1",
        "www.example.com",
        "100.128.0.1",
    ] {
        assert!(!is_internal_ip(value), "{value}");
    }
}

#[test]
fn unknown_values_are_neither_known_ips_nor_legit_nor_ec2_names_of_known_ips() {
    let n = names(json!({"legit_domains": ["example.com"]}));
    let k = known();
    assert!(!is_unknown("54.12.34.56", &k, &n));
    assert!(is_unknown("203.0.113.10", &k, &n));
    assert!(!is_unknown("mx.example.com", &k, &n));
    assert!(!is_unknown(
        "ec2-54-12-34-57.compute-1.amazonaws.com",
        &k,
        &n
    ));
    assert!(is_unknown(
        "ec2-198-51-100-7.eu-west-1.compute.amazonaws.com",
        &k,
        &n
    ));
    assert!(is_unknown("example.github.io", &k, &n));
}

#[test]
fn external_names_of_the_fixture() {
    let records: Vec<HostedRecord> = serde_json::from_str(HOSTED_RECORDS).expect("fixture");
    let select = |config: Value| -> Vec<String> {
        external_names(&records, &known(), &names(config))
            .into_keys()
            .collect()
    };
    // No zone: example.org counts too; aliases, MX, TXT and the wildcard never do.
    assert_eq!(
        select(json!({"legit_domains": ["example.com"]})),
        vec![
            "app.example.com.",
            "chef.example.com.",
            "docs.example.com.",
            "intranet.example.com.",
            "old.example.com.",
            "shop.example.com.",
            "www.example.org.",
        ]
    );
    assert_eq!(
        select(json!({
            "zone": "example.com",
            "legit_domains": ["example.com", "amazonaws.com"],
            "exception_domains": ["docs.example.com", "intranet.example.com."],
        })),
        vec!["app.example.com.", "chef.example.com."]
    );
    // Without legit domains, mail.example.com's CNAME inside the zone is external too.
    assert!(select(json!({})).contains(&"mail.example.com.".to_owned()));
}

#[test]
fn urls_drop_the_trailing_dot() {
    assert_eq!(
        urls("app.example.com."),
        [
            "http://app.example.com".to_owned(),
            "https://app.example.com".to_owned()
        ]
    );
}
