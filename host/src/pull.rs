//! `reddalert pull [RULE...] [--locked]`, the only command that reaches a registry for the
//! rules a run executes. Each rule of `[source]` (or each named) is pulled alone: resolved
//! once, its signatures verified before its module is downloaded, its manifest, size, digest
//! and declared name checked, then its module and its lock entry installed together. A rule
//! that fails is named with its reference and the reason, and what was installed for it
//! stays as it was; the others are pulled all the same (exit 1). With `--locked` exactly the
//! locked manifests are fetched, verified with the signatures stored in the lock.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::PullArgs;
use crate::config::Config;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::registry::{Lockfile, Puller, Registry, TrustedKeys};

pub fn run(config: &Config, args: &PullArgs) -> Result<Outcome> {
    let settings = &config.registry;
    let lock = Lockfile::load(&settings.lock_file)?;
    let mut known: BTreeSet<&String> = settings.sources.keys().collect();
    if args.locked {
        known.extend(lock.rules.keys());
    }
    let names: Vec<&String> = if args.rules.is_empty() {
        known.iter().copied().collect()
    } else {
        for name in &args.rules {
            if !known.contains(name) {
                bail!(
                    "no source for the rule {name:?}: add `[source] {name} = \"host/repository:tag\"` \
                     to the config{}",
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (sources: {})",
                            known
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
            }
        }
        args.rules.iter().collect()
    };
    if names.is_empty() {
        bail!("the config has no `[source]`, so there is nothing to pull");
    }
    let keys = TrustedKeys::load(&settings.trust)?;
    let registry = Registry::new(&settings.registry)?;
    let engine = crate::rules::engine_for(config)?;
    let mut outcome = Outcome::default();
    for name in names {
        let locked = lock.rules.get(name);
        let Some(reference) = settings.sources.get(name).or(locked.map(|e| &e.reference)) else {
            continue;
        };
        if args.locked && locked.is_none() {
            fail(
                &mut outcome,
                name,
                reference,
                "it has no lock entry to fetch: pull it without --locked first".into(),
            );
            continue;
        }
        let path = config.rules_dir.join(format!("{name}.wasm"));
        let declared_name = |bytes: &[u8]| -> Result<String> {
            crate::rules::load_module(&engine, bytes, &path, &config.limits)
                .map(|(_, info)| info.name)
                .map_err(|why| anyhow::anyhow!(why))
        };
        let puller = Puller {
            registry: &registry,
            config: settings,
            keys: &keys,
            declared_name: &declared_name,
        };
        let pulled = puller
            .pull(name, reference, locked.filter(|_| args.locked))
            .and_then(|pulled| {
                if let Some(pinned) = config.pins.get(name).filter(|p| **p != pulled.entry.module_sha256) {
                    bail!(
                        "the config pins {name} to sha256 {pinned}, but the module pulled has sha256 {}; \
                         the lock entry is the rule's pin: remove `pin.{name}`",
                        pulled.entry.module_sha256
                    );
                }
                crate::registry::install(&config.rules_dir, &settings.lock_file, name, &pulled)?;
                Ok(pulled)
            });
        match pulled {
            Ok(pulled) => {
                let signers = match pulled.signers.as_slice() {
                    [] => "unsigned (trust.min_signers is 0)".to_owned(),
                    names => format!("signed by {}", names.join(", ")),
                };
                println!(
                    "{name}: {reference} {} {signers}; module {} sha256 {}",
                    pulled.entry.manifest_digest,
                    display(&path),
                    pulled.entry.module_sha256
                );
            }
            Err(err) => fail(&mut outcome, name, reference, format!("{err:#}")),
        }
    }
    Ok(outcome)
}

fn fail(outcome: &mut Outcome, name: &str, reference: &str, why: String) {
    tracing::error!(
        rule = name,
        reference,
        "pull failed: {why}; what was installed for it stays as it was"
    );
    outcome.failures.push(Failure::new(
        FailureKind::Rule,
        format!("{name} ({reference})"),
        why,
    ));
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
