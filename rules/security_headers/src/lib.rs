//! The `security_headers` rule: pages behind the account's external web names that answer
//! 2xx without an `X-Frame-Options` header (clickjacking), once per URL, a port of the
//! original reddalert's plugin.
//!
//! The names are the Route 53 `A` and `CNAME` records whose values the account does not own
//! (see [`reddalert_rule_util::dns`]), minus `exception_domains`. For each, `http://<name>`
//! and `https://<name>` are fetched in one concurrent batch through the host's `http`
//! capability, without following redirects (a redirect is not a page that can be framed). A
//! 2xx response whose `X-Frame-Options` is missing or empty alerts, with id the URL and
//! details `"This webpage (<url>) does not have X-Frame-Options header"`, and the URL joins
//! the state `{"already_checked": ["<url>", …]}` (the original's shape), so it never alerts
//! again. Alerts are ordered by name, `http` before `https`.
//!
//! Config (`plugin.security_headers`): `zone` (`""`, all zones), `legit_domains` (`[]`),
//! `exception_domains` (`[]`), as for `sso_unprotected`.
//!
//! Without the `http` capability the check is skipped (logged) and the state kept; URLs that
//! do not answer are simply not checked this run.

#[cfg(test)]
mod tests;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::dns::{KnownIps, NameSettings, external_names, urls};
use reddalert_rule_util::web::{Fetched, fetch};

/// The rule type registered with the host.
pub struct SecurityHeaders;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// URLs already reported, in the order they were.
    #[serde(default)]
    pub already_checked: Vec<String>,
}

const NAME: &str = "security_headers";

/// `plugin.security_headers`: which names are external (see
/// [`reddalert_rule_util::dns::Names`]); a key set to `null` keeps
/// its default (the SDK's rule).
type Config = NameSettings;

impl Rule for SecurityHeaders {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: String::new(),
            description: "external web pages served without an X-Frame-Options header".into(),
            queries: vec![
                Query::current(HOSTED_RECORDS),
                Query::current(INSTANCES_SELECTED),
            ],
            capabilities: vec![Capability::Http],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let names = input.config::<Config>()?.names();
        let mut state: State = input.state().context(
            "security_headers: the stored state is not {\"already_checked\": [\"<url>\"]}",
        )?;
        let records: Vec<HostedRecord> = input.data.get(HOSTED_RECORDS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let external = external_names(&records, &KnownIps::from_instances(&instances), &names);
        let all = external
            .keys()
            .flat_map(|name| urls(name))
            .filter(|url| !state.already_checked.contains(url))
            .collect();
        let results = match fetch(NAME, all, false) {
            Fetched::Denied => {
                return Ok(Output::unchanged(&input));
            }
            Fetched::Done(results) => results,
        };

        let mut out = Output::new();
        for (url, result) in results {
            let response = match result {
                Ok(response) => response,
                Err(err) => {
                    log(Level::Debug, &format!("security_headers: {url}: {err}"));
                    continue;
                }
            };
            let framed = response
                .header("x-frame-options")
                .is_some_and(|v| !v.trim().is_empty());
            if response.is_success() && !framed {
                let message = format!("This webpage ({url}) does not have X-Frame-Options header");
                out.alert(url.as_str(), message);
                state.already_checked.push(url);
            }
        }
        out.with_state(state)
    }
}

reddalert_rule_sdk::register!(SecurityHeaders);
