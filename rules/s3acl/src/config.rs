//! The s3acl config, validated up front. `allowed` and `allowed_specific[bucket]` hold grant
//! rules `{"uid": "<canonical id>", "gid": "<group URI>", "op": "<PERMISSION>"}` where `uid`
//! and `gid` are both optional (see [`AllowRule`]). The original knew only `uid`, matched
//! against the grantee's id or `*` when it had none, so `{"uid": "*", "op": "READ"}` also
//! allowed the AllUsers group: a public bucket went unreported. Here a `uid` rule never allows
//! a group grant (issue 10); groups are allowed by `gid`.

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde::Deserializer;
use reddalert_rule_util::pattern::Pattern;

use crate::sample::window_seed;

const VISIT_PROBABILITY: f64 = 0.1;
const VISIT_MAX: u64 = 5;

/// One allowed grant: `op` to the grantees the rule names.
///
/// - `uid` names a user grantee (never a group): the one with that canonical id, or with
///   `*` one without a canonical id (an e-mail grantee), as the original read `*`.
/// - `gid` names a group grantee by its URI (`http://acs.amazonaws.com/groups/global/AllUsers`,
///   …); no wildcard.
/// - With both, either grantee is allowed; with neither, every grantee is.
///
/// Other keys are refused rather than ignored, and so is a `null` `uid` or `gid`: a misspelt
/// or blanked `uid` would leave a rule that allows its permission to everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// The user grantee's canonical id, or `*` for one without an id.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub uid: Option<String>,
    /// The group grantee's URI.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
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

/// The `plugin.s3acl` section. A key set to `null` keeps its default
/// (the SDK's rule).
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Buckets never visited.
    pub excluded_buckets: Vec<Pattern>,
    /// `bucket:key`s never checked.
    pub excluded_keys: Vec<Pattern>,
    /// Grants allowed everywhere.
    pub allowed: Vec<AllowRule>,
    /// Grants allowed on one bucket.
    pub allowed_specific: BTreeMap<String, Vec<AllowRule>>,
    /// The share of a listing to visit, at least 0.
    pub visit_probability: f64,
    /// The most items to visit per listing at the top level.
    pub visit_max: u64,
    /// The sampling seed; none: derived from the run's window.
    pub seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            excluded_buckets: Vec::new(),
            excluded_keys: Vec::new(),
            allowed: Vec::new(),
            allowed_specific: BTreeMap::new(),
            visit_probability: VISIT_PROBABILITY,
            visit_max: VISIT_MAX,
            seed: None,
        }
    }
}

impl Settings for Config {
    fn validate(&self) -> Result<()> {
        let p = self.visit_probability;
        if !(p.is_finite() && p >= 0.0) {
            bail!("visit_probability: expected a number of at least 0, got {p}");
        }
        Ok(())
    }
}

impl Config {
    /// The sampling seed of a run over `window`: `seed`, or one drawn from the window.
    pub fn seed(&self, window: Window) -> u64 {
        (self.seed).unwrap_or_else(|| window_seed(window.since_ms, window.until_ms))
    }

    /// Whether the grant is allowed on this bucket.
    pub fn allows(&self, bucket: &str, grant: &Grant) -> bool {
        let specific = self.allowed_specific.get(bucket).into_iter().flatten();
        self.allowed.iter().chain(specific).any(|r| r.allows(grant))
    }
}

/// A string, present: not `null`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}
