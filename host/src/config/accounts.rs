//! The AWS accounts one run covers. Large companies run one EDDA per account (and region); a
//! config lists them as `[[account]]` tables, each with a name, its EDDA, optional tags that
//! every alert of the account carries, and `plugin` sections whose keys replace those of the
//! top-level sections for that account only. A config without accounts is the original's
//! single account. `--shard i/n` picks the accounts one machine runs, by a hash of the name,
//! so an account stays on its shard whatever accounts are added or removed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context as _, Result, bail, ensure};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::EddaSource;
use super::crawl::{CrawlSettings, RawCrawl};

/// One `[[account]]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// Names the account in alerts, logs and its status file: `[a-z0-9][a-z0-9_-]{0,63}`.
    pub name: Option<String>,
    /// The account's EDDA base URL, or `dir:<snapshot directory>`.
    pub edda: Option<String>,
    /// Carried by every alert of the account (`env = "prod"`, `team = "payments"`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `[account.plugin.<rule>]`: keys that replace the top-level `plugin.<rule>` keys.
    #[serde(default)]
    pub plugin: BTreeMap<String, serde_json::Value>,
    /// `[account.crawl]`: keys that replace the top-level `[crawl]` keys for this account.
    pub crawl: Option<RawCrawl>,
}

/// A validated account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub name: String,
    pub edda: EddaSource,
    pub tags: BTreeMap<String, String>,
    /// The account's own rule settings, merged over the top-level sections.
    pub rule_sections: BTreeMap<String, serde_json::Value>,
    /// How its crawl reaches AWS: `[crawl]` with its `[account.crawl]` over it.
    pub crawl: CrawlSettings,
}

/// Validates the `[[account]]` tables: names unique and plain, each with its EDDA, and no
/// top-level `edda` beside them (which of the two would a rule read?).
pub(super) fn parse(
    raw: &[RawAccount],
    top_level_edda: bool,
    parse_edda: &dyn Fn(&str) -> Result<EddaSource>,
    crawl: &dyn Fn(&RawCrawl) -> Result<CrawlSettings>,
) -> Result<Vec<Account>> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    ensure!(
        !top_level_edda,
        "invalid key `edda`: the config lists accounts, and each `[[account]]` names its own \
         `edda`; remove the top-level one"
    );
    let mut accounts: Vec<Account> = Vec::new();
    for (n, account) in raw.iter().enumerate() {
        let at = format!("account[{n}]");
        let name = account
            .name
            .clone()
            .with_context(|| format!("invalid key `{at}.name`: required"))?;
        ensure!(
            crate::contract::is_rule_name(&name),
            "invalid key `{at}.name`: {name:?} is not a plain name ([a-z0-9][a-z0-9_-]{{0,63}}); \
             it names the account's status file"
        );
        ensure!(
            accounts.iter().all(|a| a.name != name),
            "invalid key `{at}.name`: two accounts are named {name:?}"
        );
        let edda = account
            .edda
            .as_deref()
            .with_context(|| format!("invalid key `{at}.edda`: required, the account's EDDA"))?;
        let edda = parse_edda(edda).with_context(|| format!("invalid account {name:?}"))?;
        for (rule, section) in &account.plugin {
            let Some(keys) = section.as_object() else {
                bail!("invalid key `{at}.plugin.{rule}`: must be a table/object of rule settings");
            };
            if let Some(key) = keys
                .keys()
                .find(|k| super::capabilities::CHEF_KEYS.contains(&k.as_str()))
            {
                bail!(
                    "invalid key `{at}.plugin.{rule}.{key}`: every account asks the one Chef \
                     server of `[chef]`"
                );
            }
        }
        let crawl = crawl(account.crawl.as_ref().unwrap_or(&RawCrawl::default()))
            .with_context(|| format!("invalid key `{at}.crawl`"))?;
        accounts.push(Account {
            name,
            edda,
            tags: account.tags.clone(),
            rule_sections: account.plugin.clone(),
            crawl,
        });
    }
    Ok(accounts)
}

impl Account {
    /// The rule sections this account's rules see: its own keys over the top-level ones.
    pub fn sections_over(
        &self,
        top: &BTreeMap<String, serde_json::Value>,
    ) -> BTreeMap<String, serde_json::Value> {
        let mut merged = top.clone();
        for (rule, own) in &self.rule_sections {
            let section = merged
                .entry(rule.clone())
                .or_insert_with(|| serde_json::json!({}));
            if let (Some(section), Some(own)) = (section.as_object_mut(), own.as_object()) {
                section.extend(own.clone());
            }
        }
        merged
    }
}

/// `--shard i/n`: this machine runs shard `i` (from 0) of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || {
            format!(
                "{text:?} is not a shard: expected i/n with 0 <= i < n, e.g. 0/3 (a Kubernetes \
                 indexed Job passes $JOB_COMPLETION_INDEX as i)"
            )
        };
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let index: u32 = i.trim().parse().map_err(|_| usage())?;
        let count: u32 = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the account named `name` belongs to this shard: the first 8 bytes of the
    /// name's sha256, modulo `n`.
    pub fn has(&self, name: &str) -> bool {
        let hash = Sha256::digest(name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

/// The status file of one account: `status.json` becomes `status.<account>.json` beside it.
pub fn status_path(statusfile: &std::path::Path, account: &str) -> PathBuf {
    let stem = statusfile
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match statusfile.extension() {
        Some(ext) => format!("{stem}.{account}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{account}"),
    };
    statusfile.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_parsed_and_checked() {
        assert_eq!("1/3".parse(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "1", "-1/2", "a/b", "1/2/3", ""] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("expected i/n"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_account_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..200).map(|n| format!("account-{n}")).collect();
        for count in 1..=7 {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            let mut sizes = vec![0; count as usize];
            for name in &names {
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.has(name)).collect();
                assert_eq!(owners.len(), 1, "{name} in {count} shards");
                sizes[owners[0].index as usize] += 1;
            }
            // A hash spreads 200 names: no shard of up to 7 is empty.
            assert!(sizes.iter().all(|&s| s > 0), "{count}: {sizes:?}");
        }
    }

    #[test]
    fn an_accounts_status_file_sits_beside_the_given_one() {
        assert_eq!(
            status_path(std::path::Path::new("/var/lib/r/status.json"), "prod"),
            PathBuf::from("/var/lib/r/status.prod.json")
        );
        assert_eq!(
            status_path(std::path::Path::new("status"), "prod"),
            PathBuf::from("status.prod")
        );
    }

    #[test]
    fn an_accounts_sections_replace_top_level_keys() {
        let account = Account {
            name: "prod".into(),
            edda: EddaSource::Http("http://e".into()),
            tags: BTreeMap::new(),
            rule_sections: BTreeMap::from([(
                "secgroups".to_owned(),
                serde_json::json!({"allowed_ports": [443]}),
            )]),
            crawl: CrawlSettings::default(),
        };
        let top = BTreeMap::from([(
            "secgroups".to_owned(),
            serde_json::json!({"allowed_ports": [22], "allowed_protocols": ["icmp"]}),
        )]);
        assert_eq!(
            account.sections_over(&top)["secgroups"],
            serde_json::json!({"allowed_ports": [443], "allowed_protocols": ["icmp"]})
        );
    }
}
