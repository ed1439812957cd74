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
//! - `zone` (`""`, all zones), `legit_domains` (`[]`), `exception_domains` (`[]`).
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
use reddalert_rule_util::config::Section;
use reddalert_rule_util::dns::{KnownIps, Names, external_names, urls};
use reddalert_rule_util::web::{Fetched, fetch};

use crate::redirect::{Login, is_protected, percent_decode};

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

const NAME: &str = "sso_unprotected";
const KEYS: [&str; 5] = [
    "sso_url",
    "godauth_url",
    "zone",
    "legit_domains",
    "exception_domains",
];

impl Rule for SsoUnprotected {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "external web names that redirect elsewhere than the SSO login".into(),
            queries: vec![Query::current(HOSTED_RECORDS), Query::current(INSTANCES)],
            capabilities: vec![Capability::Http],
            default_config: json!({
                "sso_url": "",
                "godauth_url": "",
                "zone": "",
                "legit_domains": [],
                "exception_domains": [],
            }),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let section = Section::new(NAME, &input.config, &KEYS, &[])?;
        let names = Names::from_section(&section)?;
        let login = |key: &str| -> Result<Option<Login>> {
            let pattern = section.string(key)?;
            Login::new(&pattern).map_err(|reason| {
                let what = format!("not a valid regex ({reason})");
                section.error(key, &what, &json!(pattern))
            })
        };
        let (sso, godauth) = (login("sso_url")?, login("godauth_url")?);
        let logins: Vec<&Login> = sso.iter().chain(godauth.iter()).collect();
        let state: State = input
            .state()
            .context("sso_unprotected: the stored state is not {\"redirects\": {\"<url>\": …}}")?;
        let records: Vec<HostedRecord> = input.data.get(HOSTED_RECORDS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES)?;
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
