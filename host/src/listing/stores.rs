//! The stores a config reads (`edda = "store:PATH"`, its own or each account's) in
//! `reddalert rules`: per store its last commit, and per root collection its last crawl
//! (success, attempt, error), so a collection whose rules would fail as stale or never crawled
//! is plain to see before a run.

use std::path::Path;

use edda_engine::sqlite::AsOf;
use serde_json::{Value, json};

use crate::config::{Config, EddaSource};
use crate::time::iso_time;

/// Every store of the config, with the account that reads it (`None`: the config's own).
fn stores(config: &Config) -> Vec<(Option<&str>, &Path)> {
    let own = match &config.edda {
        EddaSource::Store(path) if config.accounts.is_empty() => Some((None, path.as_path())),
        _ => None,
    };
    own.into_iter()
        .chain(config.accounts.iter().filter_map(|a| match &a.edda {
            EddaSource::Store(path) => Some((Some(a.name.as_str()), path.as_path())),
            _ => None,
        }))
        .collect()
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.and_then(|ms| u64::try_from(ms).ok()).map(iso_time)
}

/// The stores as JSON: path, account, last commit and each collection's last crawl, or the
/// error that kept the store from being read.
pub(super) fn describe(config: &Config) -> Vec<Value> {
    let now = crate::time::now_ms() as i64;
    stores(config)
        .into_iter()
        .map(|(account, path)| match AsOf::open(path, now, None) {
            Ok(reader) => json!({
                "account": account,
                "path": path,
                "last_commit_ms": reader.clock_ms(),
                "last_commit": time(reader.clock_ms()),
                "collections": reader.crawls().iter().map(|c| json!({
                    "root": c.root,
                    "last_success_ms": c.last_success_ms,
                    "last_success": time(c.last_success_ms),
                    "last_attempt_ms": c.last_attempt_ms,
                    "last_attempt": time(c.last_attempt_ms),
                    "last_error": c.last_error,
                })).collect::<Vec<_>>(),
            }),
            Err(err) => json!({"account": account, "path": path, "error": err.to_string()}),
        })
        .collect()
}

/// The same as text, one block per store.
pub(super) fn print(stores: &[Value]) {
    for store in stores {
        let account = store["account"]
            .as_str()
            .map(|a| format!(" (account {a})"))
            .unwrap_or_default();
        println!(
            "store {}{account}",
            store["path"].as_str().unwrap_or_default()
        );
        if let Some(err) = store["error"].as_str() {
            println!("    error      {err}");
            continue;
        }
        println!(
            "    last commit {}",
            store["last_commit"]
                .as_str()
                .unwrap_or("none (nothing crawled yet)")
        );
        for c in store["collections"].as_array().into_iter().flatten() {
            let success = c["last_success"].as_str().map_or_else(
                || "never crawled".to_owned(),
                |t| format!("last crawled {t}"),
            );
            let error = match (c["last_error"].as_str(), c["last_attempt"].as_str()) {
                (Some(err), Some(at)) => format!("; FAILED at {at}: {err}"),
                _ => String::new(),
            };
            println!(
                "    {:<22} {success}{error}",
                c["root"].as_str().unwrap_or_default()
            );
        }
    }
}
