//! The `sso_unprotected` rule: the account's external web names that redirect somewhere other
//! than the SSO or godauth login page, or serve their page directly, a port of the original
//! reddalert's plugin.
//!
//! The names are the Route 53 `A` and `CNAME` records whose values the account does not own
//! (see [`reddalert_rule_util::dns`]), minus `exception_domains`. For each, `http://<name>`
//! and `https://<name>` are fetched in one concurrent batch through the host's `http`
//! capability, without following redirects. An answer below 400 keeps its `Location` header
//! (percent-decoded; empty when there is none, as for a page served directly) in the state
//! `{"redirects": {"<url>": "<location>"}}` (the original's shape). A URL whose location is new
//! or changed alerts, with id the URL and details `"This domain (<url>) is neither behind SSO
//! nor GODAUTH because redirects to <location>"` (the original's text, also for an empty
//! location), unless the location is the SSO or godauth login for that host or `https://` on
//! the same host (see [`redirect`]).
//!
//! Config (`plugin.sso_unprotected`):
//! - `sso_url`, `godauth_url` (`""`): regexes matched case-insensitively at the start of the
//!   location, whose first group is the protected host
//!   (`^https://sso\.example\.com/auth/\?redirect_uri=https?://([^/]+)`); without a group, a
//!   login prefix followed by the protected URL; empty means not in use.
//! - `zone` (`""`, all zones), `legit_domains` (`[]`), `exception_domains` (`[]`); an empty
//!   domain (`""`, `"."`) is an error, as it would make every name legit or excepted.
//!
//! A key left out or `null` keeps its default; another key is warned about and ignored.
//!
//! Without the `http` capability the check is skipped (logged) and the state kept. A URL that
//! did not answer, or answered 400 or above, is left out of the state (as in the original), so
//! it is checked afresh when it answers again; one the run's HTTP budget did not cover, or that
//! the host's policy refused, keeps its old entry.
//!
//! Differences from the original: an empty `sso_url` or `godauth_url` is not in use (the
//! original's empty regex matched every location, then had no group to compare); a login's
//! host is compared ignoring ASCII case; "same host over https" compares hosts instead of
//! prefixes (`https://app.example.com.evil.net` is not `app.example.com`) and resolves relative
//! locations.

pub mod redirect;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::dns::{Domain, KnownIps, Names, external_names, urls};
use reddalert_rule_util::web::{Fetched, fetch};

use crate::redirect::{Login, LoginSetting, is_protected, percent_decode};

/// The rule type registered with the host.
pub struct SsoUnprotected;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// URL → its `Location` header on the last run.
    #[serde(default, deserialize_with = "redirects")]
    pub redirects: BTreeMap<String, String>,
}

/// The original initialised `redirects` as a list before its first run: read that as empty.
fn redirects<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Array(_)) | None => Ok(BTreeMap::new()),
        Some(map) => reddalert_rule_sdk::serde_json::from_value(map).map_err(D::Error::custom),
    }
}

/// `plugin.sso_unprotected`; a key set to `null` keeps its default (the SDK's rule).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    /// The SSO login regex.
    sso_url: LoginSetting,
    /// The godauth login regex.
    godauth_url: LoginSetting,
    /// The hosted zone whose records are read (`example.com.`); empty reads every zone.
    zone: String,
    /// Domains whose names are ours wherever they point.
    legit_domains: Vec<Domain>,
    /// Names never fetched.
    exception_domains: Vec<Domain>,
}

impl Settings for Config {}

impl Config {
    fn names(&self) -> Names {
        Names::new(&self.zone, &self.legit_domains, &self.exception_domains)
    }
}

const NAME: &str = "sso_unprotected";

impl Rule for SsoUnprotected {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: String::new(),
            description: "external web names that redirect elsewhere than the SSO login".into(),
            queries: vec![
                Query::current(HOSTED_RECORDS),
                Query::current(INSTANCES_SELECTED),
            ],
            capabilities: vec![Capability::Http],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let config: Config = input.config()?;
        let names = config.names();
        let logins: Vec<&Login> = [&config.sso_url.0, &config.godauth_url.0]
            .into_iter()
            .flatten()
            .collect();
        let state: State = input
            .state()
            .context("sso_unprotected: the stored state is not {\"redirects\": {\"<url>\": …}}")?;
        let records: Vec<HostedRecord> = input.data.get(HOSTED_RECORDS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let external = external_names(&records, &KnownIps::from_instances(&instances), &names);
        let all = external.keys().flat_map(|name| urls(name)).collect();
        let results = match fetch(NAME, all, false) {
            Fetched::Denied => {
                return Ok(Output::unchanged(&input));
            }
            Fetched::Done(results) => results,
        };

        let mut out = Output::new();
        let mut next = State::default();
        for (url, result) in results {
            let old = state.redirects.get(&url);
            let location = match result {
                // The original kept only answers below 400: an error page is no redirect.
                Ok(response) if response.status >= 400 => {
                    let status = response.status;
                    log(
                        Level::Debug,
                        &format!("sso_unprotected: {url}: answered {status}, not checked"),
                    );
                    continue;
                }
                Ok(response) => percent_decode(response.header("location").unwrap_or_default()),
                Err(err @ (NetError::LimitExceeded | NetError::Denied)) => {
                    log(
                        Level::Warn,
                        &format!("sso_unprotected: {url} not checked: {err}"),
                    );
                    if let Some(old) = old {
                        next.redirects.insert(url, old.clone());
                    }
                    continue;
                }
                Err(err) => {
                    log(Level::Debug, &format!("sso_unprotected: {url}: {err}"));
                    continue;
                }
            };
            let changed = old != Some(&location);
            if changed && !is_protected(&url, &location, &logins) {
                let message = format!(
                    "This domain ({url}) is neither behind SSO nor GODAUTH because redirects to {location}"
                );
                out.alert(url.as_str(), message);
            }
            next.redirects.insert(url, location);
        }
        out.with_state(next)
    }
}

reddalert_rule_sdk::register!(SsoUnprotected);
