//! The s3acl config, validated up front. `allowed` and `allowed_specific[bucket]` hold grant
//! rules `{"uid": "<canonical id>", "op": "<PERMISSION>"}`, as in the original, where a grant
//! without an id (a group or an e-mail grantee) is matched by `"uid": "*"`; a rule may name a
//! group instead with `{"gid": "<group URI>", "op": …}`.

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::config::Section;
use regex::Regex;

use crate::sample::window_seed;

/// Keys the rule reads.
pub const KEYS: [&str; 7] = [
    "excluded_buckets",
    "excluded_keys",
    "allowed",
    "allowed_specific",
    "visit_probability",
    "visit_max",
    "seed",
];
/// The original's AWS credentials, which the host holds now.
pub const MOVED: [&str; 2] = ["user", "key"];

/// The config keys and their defaults.
pub fn defaults() -> Value {
    json!({
        "excluded_buckets": [],
        "excluded_keys": [],
        "allowed": [],
        "allowed_specific": {},
        "visit_probability": 0.1,
        "visit_max": 5,
        "seed": null,
    })
}

/// One allowed grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// The grantee's canonical id, or `*` for grantees without one.
    pub uid: Option<String>,
    /// The group URI.
    pub gid: Option<String>,
    /// The permission.
    pub op: Permission,
}

impl AllowRule {
    /// Whether this rule allows the grant.
    pub fn allows(&self, grant: &Grant) -> bool {
        let uid = grant.grantee.id.as_deref().unwrap_or("*");
        let by_uid = self.uid.as_deref() == Some(uid);
        let by_gid = self.gid.is_some() && self.gid == grant.grantee.uri;
        self.op == grant.permission && (by_uid || by_gid)
    }
}

/// The validated `plugin.s3acl` section.
#[derive(Debug)]
pub struct Config {
    /// Buckets never visited (regexes anchored at the start).
    pub excluded_buckets: Vec<Regex>,
    /// `bucket:key`s never checked.
    pub excluded_keys: Vec<Regex>,
    /// Grants allowed everywhere.
    pub allowed: Vec<AllowRule>,
    /// Grants allowed on one bucket.
    pub allowed_specific: BTreeMap<String, Vec<AllowRule>>,
    /// The share of a listing to visit.
    pub visit_probability: f64,
    /// The most items to visit per listing at the top level.
    pub visit_max: u64,
    /// The sampling seed of this run.
    pub seed: u64,
}

impl Config {
    /// Validates the merged section; `window` seeds the sample when `seed` is not set.
    pub fn from_value(config: &Value, window: Window) -> Result<Config> {
        let s = Section::new("s3acl", config, &KEYS, &MOVED)?;
        let mut allowed_specific = BTreeMap::new();
        if let Some(value) = s.get("allowed_specific") {
            let Some(map) = value.as_object() else {
                return Err(s.error("allowed_specific", "expected an object of buckets", value));
            };
            for (bucket, rules) in map {
                let key = format!("allowed_specific: {}", json!(bucket));
                allowed_specific.insert(bucket.clone(), rules_of(&s, &key, Some(rules))?);
            }
        }
        let seed = s.integer("seed")?;
        Ok(Config {
            excluded_buckets: s.regexes("excluded_buckets")?,
            excluded_keys: s.regexes("excluded_keys")?,
            allowed: rules_of(&s, "allowed", s.get("allowed"))?,
            allowed_specific,
            visit_probability: s.number("visit_probability", 0.0, 0.1)?,
            visit_max: s.integer("visit_max")?.unwrap_or(5),
            seed: seed.unwrap_or_else(|| window_seed(window.since_ms, window.until_ms)),
        })
    }

    /// Whether the grant is allowed on this bucket.
    pub fn allows(&self, bucket: &str, grant: &Grant) -> bool {
        let specific = self.allowed_specific.get(bucket).into_iter().flatten();
        self.allowed.iter().chain(specific).any(|r| r.allows(grant))
    }
}

fn rules_of(s: &Section<'_>, key: &str, value: Option<&Value>) -> Result<Vec<AllowRule>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let Some(items) = value.as_array() else {
        return Err(s.error(key, "expected a list of grant rules", value));
    };
    items
        .iter()
        .map(|item| {
            let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
            let op = item
                .get("op")
                .and_then(|op| Permission::deserialize(op).ok());
            let (uid, gid) = (text("uid"), text("gid"));
            match op {
                Some(op) if uid.is_some() != gid.is_some() => Ok(AllowRule { uid, gid, op }),
                _ => Err(s.error(
                    key,
                    r#"expected {"uid" or "gid": "…", "op": "READ|WRITE|READ_ACP|WRITE_ACP|FULL_CONTROL"}"#,
                    item,
                )),
            }
        })
        .collect()
}
