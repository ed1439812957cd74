//! `reddalert rules`: what is installed and how each rule stands. Per rule: name, version,
//! description, interface, module file, sha256 and pin, the config it runs with (its declared
//! defaults under the config's `plugin.<name>` section), queries and capabilities with their
//! grants, and (from the status file, when there is one) its health and where its next window
//! starts, so a rule that is behind after failures is plain to see. A pulled rule shows its
//! source, manifest digest and the configured keys that signed it. Modules that failed to
//! load or that the trust checks refused, pins that match no module and lock entries without
//! one are listed too, and the stores the config reads, with each collection's last crawl
//! ([`stores`]).

mod stores;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};

use crate::config::{Config, merge_rule_config};
use crate::contract::{Declared, Form, RuleInfo};
use crate::out::outln;
use crate::rules::{Installed, Pin};
use crate::status::Status;
use crate::time::iso_time;

/// Prints the installed rules (and, when the status file exists, where each stands).
pub fn list_rules(config: &Config, statusfile: &Path, json: bool) -> Result<()> {
    let status = read_status(statusfile);
    let engine = crate::rules::engine_for(config)?;
    let installed = Installed::load(&engine, config)?;
    let rules: Vec<Value> = installed
        .rules
        .iter()
        .map(|r| {
            let pin = Pin::check(&config.pins, &r.info.name, &r.module.sha256);
            json!({
                "default_config": r.info.default_config,
                "config": rule_config(config, &r.info),
                "name": r.info.name,
                "version": r.info.version,
                "description": r.info.description,
                "queries": r.info.queries,
                "capabilities": r.info.capabilities,
                "grants": crate::capabilities::describe(&config.capabilities, &r.info.name, &r.info.capabilities),
                "interface": r.module.interface_version,
                "path": r.path,
                "sha256": r.module.sha256,
                "pin": pin.label(),
                "pinned_sha256": config.pins.get(&r.info.name),
                "source": r.provenance.as_ref().map(|p| json!({
                    "reference": p.reference,
                    "manifest_digest": p.manifest_digest,
                    "signers": p.signers,
                })),
                "status": status.as_ref().map(|s| standing(s, &r.info.name, config.store_until)),
            })
        })
        .collect();
    let names = installed.names();
    let unused_pins: BTreeMap<&String, &String> = config
        .pins
        .iter()
        .filter(|(name, _)| !names.contains(name))
        .collect();
    let broken: Vec<Value> = installed
        .broken
        .iter()
        .map(|b| json!({"path": b.path, "sha256": b.sha256, "error": b.error}))
        .collect();
    let stores = stores::describe(config);
    let refused: Vec<Value> = installed
        .refused
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "path": r.path,
                "sha256": r.sha256,
                "reason": r.reason,
                "status": match (&status, &r.name) {
                    (Some(s), Some(name)) => Some(standing(s, name, config.store_until)),
                    _ => None,
                },
            })
        })
        .collect();
    let (hits, misses) = engine.cache_stats();
    tracing::debug!(hits, misses, "compilation cache");
    if json {
        let doc = json!({
            "rules": rules,
            "unloadable": broken,
            "refused": refused,
            "locked_without_module": installed.locked_missing,
            "trust": config.registry.trust.require.name(),
            "pins_without_module": unused_pins,
            "stores": stores,
            "compilation_cache": {"dir": config.cache_dir, "hits": hits, "misses": misses},
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    for r in &installed.rules {
        outln!("{} {}  {}", r.info.name, r.info.version, r.info.description)?;
        outln!(
            "    interface  reddalert:rules/guest@{}",
            r.module.interface_version
        )?;
        outln!("    module     {}", r.path.display())?;
        outln!("    sha256     {}", r.module.sha256)?;
        match Pin::check(&config.pins, &r.info.name, &r.module.sha256) {
            Pin::Unpinned => {
                outln!("    pin        none (unpinned: any module with this name runs)")?
            }
            Pin::Matches => outln!("    pin        matches")?,
            Pin::Mismatch(pinned) => {
                outln!("    pin        MISMATCH: pinned {pinned}; this rule is refused")?
            }
        }
        if let Some(p) = &r.provenance {
            println!("    source     {}", p.reference);
            println!("    manifest   {}", p.manifest_digest);
            match p.signers.as_slice() {
                [] => println!("    signed by  nobody (trust.min_signers is 0)"),
                signers => println!("    signed by  {}", signers.join(", ")),
            }
        }
        outln!("    config     {}", rule_config(config, &r.info))?;
        if let Some(status) = &status {
            outln!(
                "    status     {}",
                standing_text(status, &r.info.name, config.store_until)
            )?;
        }
        for Declared { query: q, form } in &r.info.queries {
            let mode = match (q.window, q.updated_only) {
                (false, _) => "current",
                (true, false) => "window",
                (true, true) => "updated in window",
            };
            let form = match form {
                Form::Json => "",
                Form::Archive => ", as an archive",
            };
            outln!("    query      {} ({mode}{form})", q.path)?;
        }
        for line in crate::capabilities::describe_text(
            &config.capabilities,
            &r.info.name,
            &r.info.capabilities,
        ) {
            outln!("    {line}")?;
        }
    }
    for b in &installed.broken {
        outln!(
            "(unloadable) {}\n    sha256     {}\n    error      {}",
            b.path.display(),
            b.sha256,
            b.error
        )?;
    }
    for r in &installed.refused {
        println!(
            "(refused) {}\n    module     {}\n    sha256     {}\n    reason     {}",
            r.what(),
            r.path.display(),
            r.sha256,
            r.reason
        );
    }
    for name in &installed.locked_missing {
        println!("(locked, not installed) {name}");
    }
    for (name, sha256) in unused_pins {
        outln!("(pinned, not installed) {name}\n    pin        {sha256}")?;
    }
    stores::print(&stores);
    Ok(())
}

/// The config `rule` runs with: its declared defaults, the config's `plugin.<name>` over them.
fn rule_config(config: &Config, info: &RuleInfo) -> Value {
    merge_rule_config(&info.default_config, config.rule_sections.get(&info.name))
}

/// The status file, when there is one that can be read; the listing goes on without it.
fn read_status(path: &Path) -> Option<Status> {
    if !path.exists() {
        return None;
    }
    match Status::load(path) {
        Ok(status) => Some(status),
        Err(err) => {
            tracing::warn!("the listing shows no rule status: {err:#}");
            None
        }
    }
}

/// Whether a rule's window lags the run's: it failed since it last succeeded, so with
/// `store-until` its next run reads again from where that success ended.
fn behind(status: &Status, rule: &str) -> bool {
    status.rules.get(rule).is_some_and(|r| {
        r.consecutive_failures > 0
            || matches!((r.since, status.since), (Some(own), Some(run)) if own < run)
    })
}

fn standing(status: &Status, rule: &str, store_until: bool) -> Value {
    let entry = status.rules.get(rule).cloned().unwrap_or_default();
    let next_since = store_until.then(|| status.since_of(rule));
    json!({
        "last_success": entry.last_success,
        "consecutive_failures": entry.consecutive_failures,
        "last_error": entry.last_error,
        "next_since_ms": next_since,
        "next_since": next_since.map(iso_time),
        "behind": behind(status, rule),
    })
}

fn standing_text(status: &Status, rule: &str, store_until: bool) -> String {
    let entry = status.rules.get(rule).cloned().unwrap_or_default();
    let mut text = match entry.last_success {
        Some(ms) => format!("last success {}", iso_time(ms)),
        None => "never succeeded".to_owned(),
    };
    if entry.consecutive_failures > 0 {
        text.push_str(&format!(
            "; BEHIND: failed {} time(s) since, last error: {}",
            entry.consecutive_failures,
            entry.last_error.as_deref().unwrap_or("unknown")
        ));
    }
    if store_until {
        text.push_str(&format!(
            "; next window from {}",
            iso_time(status.since_of(rule))
        ));
    }
    text
}
