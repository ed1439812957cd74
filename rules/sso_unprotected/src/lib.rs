//! The `sso_unprotected` rule: the account's external web names that redirect somewhere other
//! than the SSO or godauth login page, a port of the original reddalert's plugin.
//!
//! The names are the Route 53 `A` and `CNAME` records whose values the account does not own
//! (see [`reddalert_rule_util::dns`]), minus `exception_domains`. For each, `http://<name>`
//! and `https://<name>` are fetched in one concurrent batch through the host's `http`
//! capability, without following redirects, and their `Location` header (percent-decoded) is
//! kept in the state `{"redirects": {"<url>": "<location>"}}` (the original's shape; empty when
//! there is none). A URL whose location is new or changed alerts, with id the URL and details
//! `"This domain (<url>) is neither behind SSO nor GODAUTH because redirects to <location>"`,
//! unless the location is the SSO or godauth login for that URL, `https://` on the same host
//! (see [`redirect`]), or empty (no redirect: the original's empty-prefix test skipped
//! those). Alerts are ordered by name, `http` before `https`.
//!
//! Config (`plugin.sso_unprotected`):
//! - `sso_url`, `godauth_url` (`""`): login URL prefixes, to which the protected URL is
//!   appended (`https://sso.example.com/auth/?redirect_uri=`); empty means not in use.
//! - `zone` (`""`, all zones), `legit_domains` (`[]`), `exception_domains` (`[]`).
//!
//! Without the `http` capability the check is skipped (logged) and the state kept. A URL that
//! did not answer is left out of the state (as in the original), so it is checked afresh when
//! it answers again; one the run's HTTP budget did not cover, or that the host's policy
//! refused, keeps its old entry.
//!
//! Differences from the original: an empty `sso_url` or `godauth_url` no longer accepts every
//! redirect that starts with the URL itself; "same host over https" compares hosts instead of
//! prefixes (`https://app.example.com.evil.net` is not `app.example.com`) and resolves relative
//! locations; the Prezi-specific skip of `tbd-` hosts is gone.

pub mod redirect;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::config::Section;
use reddalert_rule_util::dns::{KnownIps, Names, external_names, urls};
use reddalert_rule_util::web::{Fetched, fetch};

use crate::redirect::{is_protected, percent_decode};

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
        let login = |key: &str| -> Result<String> {
            let url = section.string(key)?;
            let absolute = url.starts_with("http://") || url.starts_with("https://");
            if !url.is_empty() && !absolute {
                return Err(section.error(key, "expected an http(s) URL prefix", &json!(url)));
            }
            Ok(url)
        };
        let (sso, godauth) = (login("sso_url")?, login("godauth_url")?);
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
            if changed && !location.is_empty() && !is_protected(&url, &location, &[&sso, &godauth])
            {
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
