//! Every config key with a bad value fails the rule with a message naming the rule, the key
//! and the value, before S3 is asked anything.

use super::harness;
use reddalert_rule_sdk::prelude::*;

#[test]
fn bad_config_values_name_the_rule_key_and_value() {
    let err = |section: Value| {
        let err = harness().config(section).run().expect_err("rejected");
        format!("{err:#}")
    };
    let rule = r#"expected {"uid": "…", "gid": "…", "op": "READ|WRITE|READ_ACP|WRITE_ACP|FULL_CONTROL"} (uid and gid optional, no other key)"#;
    assert_eq!(
        err(json!({"visit_probability": -0.5})),
        "s3acl: visit_probability: expected a number of at least 0, got -0.5"
    );
    assert_eq!(
        err(json!({"visit_max": "5"})),
        r#"s3acl: visit_max: expected a non-negative integer, got "5""#
    );
    assert_eq!(
        err(json!({"seed": -3})),
        "s3acl: seed: expected a non-negative integer, got -3"
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": "x", "op": "EXECUTE"}]})),
        format!(r#"s3acl: allowed: {rule}, got {{"op":"EXECUTE","uid":"x"}}"#)
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": "x"}]})),
        format!(r#"s3acl: allowed: {rule}, got {{"uid":"x"}}"#)
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": 5, "op": "READ"}]})),
        format!(r#"s3acl: allowed: {rule}, got {{"op":"READ","uid":5}}"#)
    );
    // A misspelt key would otherwise leave a rule that allows READ to everyone.
    assert_eq!(
        err(json!({"allowed_specific": {"logs": [{"id": "x", "op": "READ"}]}})),
        format!(r#"s3acl: allowed_specific: "logs": {rule}, got {{"id":"x","op":"READ"}}"#)
    );
    assert_eq!(
        err(json!({"allowed": ["READ"]})),
        format!(r#"s3acl: allowed: {rule}, got "READ""#)
    );
    assert_eq!(
        err(json!({"allowed_specific": []})),
        "s3acl: allowed_specific: expected an object of buckets, got []"
    );
    assert_eq!(
        err(json!({"excluded_keys": ["(tmp"]})),
        r#"s3acl: excluded_keys: not a valid regex (unclosed group), got "(tmp""#
    );
}
