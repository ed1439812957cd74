//! The s3acl config, validated up front. `allowed` and `allowed_specific[bucket]` hold grant
//! rules `{"uid": "<canonical id>", "gid": "<group URI>", "op": "<PERMISSION>"}` where `uid`
//! and `gid` are both optional (see [`AllowRule`]). The original knew only `uid`, matched
//! against the grantee's id or `*` when it had none, so `{"uid": "*", "op": "READ"}` also
//! allowed the AllUsers group: a public bucket went unreported. Here a `uid` rule never allows
//! a group grant (issue 10); groups are allowed by `gid`.

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

/// One allowed grant: `op` to the grantees the rule names.
///
/// - `uid` names a user grantee (never a group): the one with that canonical id, or with
///   `*` one without a canonical id (an e-mail grantee), as the original read `*`.
/// - `gid` names a group grantee by its URI (`http://acs.amazonaws.com/groups/global/AllUsers`,
///   …); no wildcard.
/// - With both, either grantee is allowed; with neither, every grantee is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// The user grantee's canonical id, or `*` for one without an id.
    pub uid: Option<String>,
    /// The group grantee's URI.
    pub gid: Option<String>,
    /// The permission.
    pub op: Permission,
}

impl AllowRule {
    /// Whether this rule allows the grant.
    pub fn allows(&self, grant: &Grant) -> bool {
        if self.op != grant.permission {
            return false;
        }
        let grantee = &grant.grantee;
        let is_group = grantee.kind == GranteeType::Group;
        let by_uid = self
            .uid
            .as_deref()
            .is_some_and(|uid| !is_group && grantee.id.as_deref().unwrap_or("*") == uid);
        let by_gid = self
            .gid
            .as_deref()
            .is_some_and(|gid| is_group && grantee.uri.as_deref() == Some(gid));
        by_uid || by_gid || (self.uid.is_none() && self.gid.is_none())
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
            rule_of(item).ok_or_else(|| {
                s.error(
                    key,
                    r#"expected {"uid": "…", "gid": "…", "op": "READ|WRITE|READ_ACP|WRITE_ACP|FULL_CONTROL"} (uid and gid optional, no other key)"#,
                    item,
                )
            })
        })
        .collect()
}

/// A grant rule, or `None` when malformed. Other keys are refused rather than ignored: a
/// misspelt `uid` would leave a rule that allows its permission to everyone.
fn rule_of(item: &Value) -> Option<AllowRule> {
    let map = item.as_object()?;
    if map
        .keys()
        .any(|k| !matches!(k.as_str(), "uid" | "gid" | "op"))
    {
        return None;
    }
    let text = |name: &str| match map.get(name) {
        None => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    };
    Some(AllowRule {
        uid: text("uid")?,
        gid: text("gid")?,
        op: Permission::deserialize(map.get("op")?).ok()?,
    })
}
