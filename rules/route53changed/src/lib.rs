//! The `route53changed` rule: web pages behind the account's external DNS names that are new
//! or changed since the last run, and those among them that look like a dangling S3 bucket or
//! an expired domain (a subdomain takeover risk). A port of the original reddalert's plugin.
//!
//! The names are the Route 53 `A` and `CNAME` records whose values the account does not own
//! (see [`reddalert_rule_util::dns`]; known IPs are the instances' public IPs), minus
//! `exception_domains`. For each, `http://<name>` and `https://<name>` are fetched in one
//! concurrent batch through the host's `http` capability, following redirects; each page is
//! remembered by a hash (see [`page`]) in the state `{"hashes": {"<url>": {"hash": …,
//! "matches": […]}}}`, the original's shape. A URL that is new or whose hash changed (a
//! failed fetch hashes as `-`) *and* whose body matches one of the [`page::PATTERNS`] alerts,
//! with id the URL and details `{"message", "matches", "hash", "previous_hash", "records"}`.
//! Alerts follow the names' order, `http` before `https`.
//!
//! Config (`plugin.route53changed`): `zone` (`""`, all zones), `legit_domains` (`[]`),
//! `exception_domains` (`[]`), as for `sso_unprotected`.
//!
//! Without the `http` capability the check is skipped (logged) and the state kept. A URL the
//! run's HTTP budget did not cover, or that the host's policy refused, keeps its old entry and
//! does not alert.
//!
//! Differences from the original: the body of an HTTP error page is hashed and searched (the
//! original treated every 4xx/5xx as unreachable, so the S3 "NoSuchBucket" 404 page it looked
//! for could never match); an entry of the older bare-hash shape is compared as a hash (the
//! original compared it to a whole object, so it always alerted once); details are objects
//! instead of Python reprs; the Prezi-specific `bugbounty.prezi.com.` test name is gone.

pub mod page;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::dns::{KnownIps, NameSettings, describe, external_names, urls};
use reddalert_rule_util::web::{Fetched, fetch};

use crate::page::{Matcher, Page, Stored, unreachable};

/// The rule type registered with the host.
pub struct Route53Changed;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// URL → the page as last seen.
    #[serde(default)]
    pub hashes: BTreeMap<String, Stored>,
}

const NAME: &str = "route53changed";

/// `plugin.route53changed`: which names are external (see
/// [`reddalert_rule_util::dns::Names`]); a key set to `null` keeps
/// its default (the SDK's rule).
type Config = NameSettings;

impl Rule for Route53Changed {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: String::new(),
            description: "new or changed pages behind external DNS names, and dangling ones".into(),
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
        let state: State = input
            .state()
            .context("route53changed: the stored state is not {\"hashes\": {\"<url>\": …}}")?;
        let records: Vec<HostedRecord> = input.data.get(HOSTED_RECORDS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let external = external_names(&records, &KnownIps::from_instances(&instances), &names);

        let mut described = BTreeMap::new();
        let mut all = Vec::new();
        for (name, records) in &external {
            let records: Vec<Value> = records.iter().map(|r| describe(r)).collect();
            for url in urls(name) {
                described.insert(url.clone(), records.clone());
                all.push(url);
            }
        }
        let results = match fetch(NAME, all, true) {
            Fetched::Denied => {
                return Ok(Output::unchanged(&input));
            }
            Fetched::Done(results) => results,
        };

        let matcher = Matcher::new()?;
        let mut out = Output::new();
        let mut next = State::default();
        for (url, result) in results {
            let old = state.hashes.get(&url);
            let page = match result {
                Ok(response) => matcher.page(&response.body),
                Err(err @ (NetError::LimitExceeded | NetError::Denied)) => {
                    log(
                        Level::Warn,
                        &format!("route53changed: {url} not checked: {err}"),
                    );
                    if let Some(old) = old {
                        next.hashes.insert(url, old.clone());
                    }
                    continue;
                }
                Err(err) => {
                    log(Level::Debug, &format!("route53changed: {url}: {err}"));
                    unreachable()
                }
            };
            let records = described.get(&url).cloned().unwrap_or_default();
            report(&mut out, &url, old, &page, records);
            next.hashes.insert(url, Stored::Page(page));
        }
        out.with_state(next)
    }
}

/// The alert of one URL, as the original raised it: only when the page is new or changed
/// since the last run *and* its top matches one of the takeover patterns.
fn report(out: &mut Output, url: &str, old: Option<&Stored>, page: &Page, records: Vec<Value>) {
    let previous = old.map(Stored::hash);
    if previous == Some(page.hash.as_str()) || page.matches.is_empty() {
        return;
    }
    let message = format!(
        "location matches the following regexes: {} (S3 bucket removed or domain expired?)",
        page.matches.join(", ")
    );
    out.alert(
        url,
        json!({
            "message": message,
            "matches": page.matches,
            "hash": page.hash,
            "previous_hash": previous,
            "records": records,
        }),
    );
}

reddalert_rule_sdk::register!(Route53Changed);
