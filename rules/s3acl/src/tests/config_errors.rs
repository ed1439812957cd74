//! Every config key with a bad value fails the rule with a message naming the rule, the key's
//! path and the value, before S3 is asked anything; unknown keys are only warned about.

use super::{config, harness, pairs};
use reddalert_rule_sdk::prelude::*;

#[test]
fn bad_config_values_name_the_rule_key_and_value() {
    let err = |section: Value| {
        let err = harness().config(section).run().expect_err("rejected");
        format!("{err:#}")
    };
    assert_eq!(
        err(json!({"visit_probability": -0.5})),
        "s3acl: visit_probability: expected a number of at least 0, got -0.5"
    );
    assert_eq!(
        err(json!({"visit_max": "5"})),
        r#"s3acl: visit_max: invalid type: string "5", expected u64"#
    );
    assert_eq!(
        err(json!({"seed": -3})),
        "s3acl: seed: invalid value: integer `-3`, expected u64"
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": "x", "op": "EXECUTE"}]})),
        "s3acl: allowed[0].op: unknown variant `EXECUTE`, expected one of `READ`, `WRITE`, \
         `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`"
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": "x"}]})),
        "s3acl: allowed[0]: missing field `op`"
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": 5, "op": "READ"}]})),
        "s3acl: allowed[0].uid: invalid type: integer `5`, expected a string"
    );
    // A misspelt or blanked uid would otherwise leave a rule that allows READ to everyone.
    assert_eq!(
        err(json!({"allowed_specific": {"logs": [{"id": "x", "op": "READ"}]}})),
        "s3acl: allowed_specific.logs[0].id: unknown field `id`, expected one of `uid`, `gid`, `op`"
    );
    assert_eq!(
        err(json!({"allowed": [{"uid": null, "op": "READ"}]})),
        "s3acl: allowed[0].uid: invalid type: null, expected a string"
    );
    assert_eq!(
        err(json!({"allowed": ["READ"]})),
        r#"s3acl: allowed[0]: invalid type: string "READ", expected struct AllowRule"#
    );
    assert_eq!(
        err(json!({"allowed_specific": []})),
        "s3acl: allowed_specific: invalid type: sequence, expected a map"
    );
    assert_eq!(
        err(json!({"excluded_keys": ["(tmp"]})),
        r#"s3acl: excluded_keys[0]: "(tmp" is not a valid regex (unclosed group)"#
    );
}

#[test]
fn null_values_read_as_the_defaults() {
    let nulls = json!({
        "excluded_buckets": null, "excluded_keys": null, "allowed": null,
        "allowed_specific": null, "visit_probability": null, "visit_max": null, "seed": 7,
    });
    let defaults = json!({"seed": 7});
    let out = harness().config(nulls).run().expect("rule runs");
    assert_eq!(
        pairs(&out),
        pairs(&harness().config(defaults).run().expect("rule runs"))
    );
}

#[test]
fn unknown_keys_are_warned_about_not_fatal() {
    let mut typo = None;
    let logged = reddalert_rule_sdk::testing::capture_logs(|| {
        let mut with_typo = config();
        with_typo["excluded_bucket"] = json!(["assets"]);
        typo = Some(harness().config(with_typo).run().expect("rule runs"));
    });
    assert_eq!(typo, Some(harness().run().expect("rule runs")));
    // Warnings about the config only: the run logs its own lines too.
    let warned: Vec<&(Level, String)> = logged
        .iter()
        .filter(|(level, line)| *level == Level::Warn && line.contains("config"))
        .collect();
    assert_eq!(
        warned,
        [&(
            Level::Warn,
            r#"s3acl: unknown config key "excluded_bucket" is ignored"#.to_owned()
        )]
    );
}
