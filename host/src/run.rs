//! One run of the main job, in the order of the data flow: load the rules, then for each
//! account (the config's single one, or each `[[account]]` of this shard, a few at a time)
//! lock and load its status, settle each rule's window, fetch each distinct EDDA query once,
//! evaluate the rules in parallel (each in its own sandbox, each failing alone), then write
//! ahead: save the new states together with the account's alerts, owed to every output, in
//! one atomic save ([`account`]). Only then deliver every account's alerts together (alerts
//! that waited from earlier runs first) and save what each still owes. A run killed anywhere
//! re-delivers exactly the alerts not yet confirmed, with the window they were raised in; a
//! status file that cannot be saved stops its account before any of its alerts goes out.
//! Nothing is saved for an account whose EDDA is unreachable; with several accounts that
//! account fails alone and reads its window again next run. After the run, however it ended,
//! [`publish_metrics`] writes what it did for monitoring.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result, anyhow, ensure};

use crate::alert::{AccountTag, PendingAlert};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::contract::Window;
use crate::outcome::{Failure, FailureKind, Outcome, Shed};
use crate::outputs::{self, Output, RunInfo};
use crate::rules::Installed;
use crate::status;
use crate::time::now_ms;

mod account;
mod evaluate;
mod metrics;

pub use metrics::publish_metrics;

use account::{Evaluated, Shared, Target};

pub fn run(config: &Config, args: &RunArgs) -> Result<Outcome> {
    let targets = targets(config, args)?;
    let started_ms = now_ms();

    // Before any rule runs: a missing secret is a config error, not a failed delivery.
    let mut stdout = std::io::stdout();
    let mut outputs = outputs::build(&config.outputs, &mut stdout)?;

    let engine = crate::rules::engine_for(config)?;
    let installed = Installed::load(&engine, config)?;
    let selected = installed.select(&args.rules)?;
    warn_unused_sections(config, &installed);
    let mut outcome = Outcome::default();
    if args.rules.is_empty() {
        for broken in &installed.broken {
            tracing::error!(module = %broken.path.display(), "rule module failed to load: {}", broken.error);
            crate::report::rule_failed(&broken.path.display().to_string(), &broken.error);
            outcome.failures.push(Failure::new(
                FailureKind::Module,
                broken.path.display().to_string(),
                broken.error.clone(),
            ));
        }
    }
    // A refused module fails alone, named with the reason; one without a lock entry has no
    // rule name, so it is named by its file.
    for refused in installed.refused_in(&args.rules) {
        let what = refused.what();
        tracing::error!(rule = %what, module = %refused.path.display(), "refused: {}; it did not run, its state and window are kept", refused.reason);
        crate::report::rule_failed(&what, &refused.reason);
        if refused.name.is_none() {
            outcome.failures.push(Failure::new(
                FailureKind::Refused,
                what,
                refused.reason.clone(),
            ));
        }
    }
    if selected.is_empty() {
        tracing::warn!(dir = %config.rules_dir.display(), "no rules to run");
    }

    let names: Vec<String> = outputs.iter().map(|o| o.name().to_owned()).collect();
    let shared = Shared {
        engine: &engine,
        installed: &installed,
        selected: &selected,
        args,
        started_ms,
        outputs: &names,
    };
    let mut evaluated = Vec::new();
    match targets.as_slice() {
        // The original's single account: a failure before delivery is fatal (exit 2), as it
        // always was.
        [single] if single.account.is_none() => evaluated.push(account::evaluate(&shared, single)?),
        _ => {
            let workers = targets.len().min(config.parallelism);
            for (target, result) in targets
                .iter()
                .zip(evaluate_accounts(&shared, &targets, workers))
            {
                let name = target.account.as_ref().map_or("", |a| a.name.as_str());
                match result {
                    Ok(done) => evaluated.push(done),
                    Err(err) => {
                        let why = format!("{err:#}");
                        tracing::error!(
                            account = name,
                            "account failed: {why}; its next run reads its window again"
                        );
                        crate::report::rule_failed(&format!("account {name}"), &why);
                        outcome
                            .failures
                            .push(Failure::new(FailureKind::Account, name, why));
                    }
                }
            }
        }
    }
    for done in &mut evaluated {
        outcome.alerts += done.raised.iter().map(|(_, n)| n).sum::<usize>();
        outcome.failures.append(&mut done.failures);
        let account = done.account_name().map(str::to_owned);
        for (rule, alerts) in done.raised.drain(..) {
            outcome.raised.insert((account.clone(), rule), alerts);
        }
        outcome.edda.requests += done.edda.requests;
        outcome.edda.bytes += done.edda.bytes;
        outcome.shed.add(done.shed);
    }
    deliver_all(
        &mut outputs,
        &mut evaluated,
        config,
        started_ms,
        &mut outcome,
    )?;
    drop(outputs);
    tracing::info!(
        alerts = outcome.alerts,
        failed = outcome.failures.len(),
        "run finished"
    );
    Ok(outcome)
}

/// The accounts this run covers, by name (None: the config's single account), each with the
/// status file it keeps: `--statusfile`, or one beside it per `[[account]]` in this `--shard`.
fn status_files<'c>(
    config: &'c Config,
    args: &RunArgs,
) -> Vec<(Option<&'c crate::config::Account>, std::path::PathBuf)> {
    if config.accounts.is_empty() {
        return vec![(None, args.statusfile.clone())];
    }
    config
        .accounts
        .iter()
        .filter(|a| args.shard.is_none_or(|s| s.has(&a.name)))
        .map(|a| {
            (
                Some(a),
                crate::config::status_path(&args.statusfile, &a.name),
            )
        })
        .collect()
}

/// The accounts this run covers: the config's single account, or its `[[account]]`s in this
/// `--shard`, each with its own status file beside `--statusfile` and a share of the rule
/// parallelism.
fn targets(config: &Config, args: &RunArgs) -> Result<Vec<Target>> {
    if config.accounts.is_empty() {
        ensure!(
            args.shard.is_none(),
            "--shard splits the config's accounts, and it lists none (`[[account]]`); with one \
             EDDA, run one reddalert"
        );
    } else {
        ensure!(
            args.edda.is_none(),
            "--edda names one EDDA, and the config lists accounts, each with its own `edda`; \
             leave --edda out (or use a config without accounts)"
        );
    }
    let chosen = status_files(config, args);
    if chosen.is_empty() {
        tracing::warn!("no account of the config falls in this shard");
    }
    let workers = chosen.len().clamp(1, config.parallelism);
    let threads = config.parallelism / workers;
    chosen
        .into_iter()
        .map(|(account, path)| {
            Ok(Target {
                account: account.map(|a| AccountTag {
                    name: a.name.clone(),
                    tags: a.tags.clone(),
                }),
                config: match account {
                    Some(a) => config.for_account(a, threads),
                    None => config.clone(),
                },
                statusfile: status::resolve(&path)?,
            })
        })
        .collect()
}

/// Evaluates the accounts `workers` at a time; each fails alone, a panic included, which
/// becomes an error naming the account rather than a missing result.
fn evaluate_accounts(
    shared: &Shared,
    targets: &[Target],
    workers: usize,
) -> Vec<Result<Evaluated>> {
    let name = |target: &Target| {
        target
            .account
            .as_ref()
            .map_or_else(String::new, |a| a.name.clone())
    };
    crate::pool::map(
        targets,
        workers,
        |target| format!("evaluating account {}", name(target)),
        |target| {
            let name = name(target);
            let span = tracing::info_span!("account", name = name.as_str());
            span.in_scope(|| account::evaluate(shared, target))
        },
    )
    .into_iter()
    .map(|r| r.unwrap_or_else(|panicked| Err(anyhow!(panicked))))
    .collect()
}

/// Delivers what every account owes (alerts that waited from earlier runs first, then this
/// run's) in one batch per output, so a mail or a webhook carries the whole run; files what
/// is still owed back under its account, and saves each account's status that changed.
fn deliver_all(
    outputs: &mut [Box<dyn Output + '_>],
    evaluated: &mut [Evaluated],
    config: &Config,
    started_ms: u64,
    outcome: &mut Outcome,
) -> Result<()> {
    let mut owed: Vec<PendingAlert> = Vec::new();
    let mut had_owed = Vec::with_capacity(evaluated.len());
    for done in evaluated.iter_mut() {
        had_owed.push(!done.status.pending.is_empty());
        owed.append(&mut done.status.pending);
    }
    // Older first across accounts; within one, the order they were saved in.
    owed.sort_by_key(|p| p.alert.raised_ms);
    let until = evaluated
        .iter()
        .map(|e| e.until)
        .max()
        .unwrap_or(started_ms);
    let since = evaluated
        .iter()
        .filter_map(|e| e.since)
        .min()
        .unwrap_or(until);
    let run_info = RunInfo {
        window: Window {
            since_ms: since,
            until_ms: until,
        },
        started_ms,
    };
    let (pending, report) = outputs::deliver(outputs, owed, &run_info);
    outcome.failures.extend(report.tell());
    // Every alert names the account whose file it waited in (stamped when the file was
    // loaded), so it goes back there; without accounts there is one file.
    let names: Vec<Option<String>> = evaluated
        .iter()
        .map(|e| e.account_name().map(str::to_owned))
        .collect();
    let home = |entry: &PendingAlert| {
        names
            .iter()
            .position(|n| n.as_deref() == entry.alert.account_name())
            .unwrap_or(0)
    };
    for entry in pending {
        let i = home(&entry);
        evaluated[i].status.pending.push(entry);
    }
    let mut fatal = None;
    for (done, had_owed) in evaluated.iter_mut().zip(had_owed) {
        // Each account's bounds hold for its own alerts: a noisy account never pushes a
        // quiet one's alerts out.
        let moved = outputs::shed_waiting(
            &mut done.status.pending,
            &config.waiting,
            &status::dead_letter_path(&done.statusfile),
            &done.statusfile,
        );
        if let Some(failure) = shed_failure(&moved, &done.statusfile) {
            outcome.failures.push(failure);
        }
        outcome.shed.add(moved);
        if !had_owed && moved.moved() == 0 {
            continue;
        }
        let saved = done.status.save(&done.statusfile).context(
            "failed to save the status file after delivering: the alerts delivered by this run \
             are still listed as owed and will be delivered again (Elasticsearch answers 409)",
        );
        match (saved, done.account_name()) {
            (Ok(given_up), _) if given_up.is_empty() => {}
            (Ok(given_up), _) => {
                outcome.shed.lost += given_up.len() as u64;
                outcome.failures.push(Failure::new(
                    FailureKind::Dropped,
                    done.statusfile.display().to_string(),
                    format!(
                        "{} waiting alerts were given up: the status volume is full",
                        given_up.len()
                    ),
                ));
            }
            (Err(err), None) => fatal = Some(err),
            (Err(err), Some(name)) => {
                tracing::error!(account = name, "{err:#}");
                outcome
                    .failures
                    .push(Failure::new(FailureKind::Account, name, format!("{err:#}")));
            }
        }
    }
    fatal.map_or(Ok(()), Err)
}

/// The failure that alerts moved out of a waiting list make (the run exits 1), naming the
/// status file they waited in.
fn shed_failure(shed: &Shed, statusfile: &std::path::Path) -> Option<Failure> {
    (shed.moved() > 0).then(|| {
        Failure::new(
            FailureKind::Dropped,
            statusfile.display().to_string(),
            format!(
                "{} waiting alerts were moved to the dead-letter file ({} past \
                 max_waiting_alerts, {} past max_waiting_mib), {} of them not kept",
                shed.moved(),
                shed.over_count,
                shed.over_bytes,
                shed.lost
            ),
        )
    })
}

/// A `plugin.<name>` section that matches no installed rule is most likely a typo.
fn warn_unused_sections(config: &Config, installed: &Installed) {
    let names: BTreeSet<String> = installed.names().into_iter().collect();
    for name in config.rule_sections.keys().filter(|n| !names.contains(*n)) {
        tracing::warn!(section = %format!("plugin.{name}"), "config section matches no installed rule");
    }
}
