//! One run of the main job, in the order of the data flow: lock and load the status, load
//! the rules, settle each rule's window, fetch each distinct EDDA query once, evaluate the
//! rules in parallel (each in its own sandbox, each failing alone), then write ahead: save the
//! new states together with this run's alerts, owed to every output, in one atomic save.
//! Only then deliver (alerts that waited from earlier runs first) and save what is still
//! owed. A run killed anywhere re-delivers exactly the alerts not yet confirmed, with the
//! window they were raised in; a status file that cannot be saved stops the run before any
//! alert goes out. Nothing is saved when EDDA is unreachable.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::app::Outcome;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::contract::{RuleOutput, Window};
use crate::edda::EddaClient;
use crate::outputs::{self, AlertRecord, PendingAlert, RunInfo};
use crate::rules::{Installed, InstalledRule};
use crate::status::{self, Status, StatusLock};
use crate::window::{RunWindows, now_ms};

mod evaluate;

use evaluate::{evaluate_all, prefetch};

/// How long to wait for an overlapping run to finish, as the original did.
const LOCK_WAIT: Duration = Duration::from_secs(3);

pub fn run(config: &Config, args: &RunArgs) -> Result<Outcome> {
    let statusfile = status::resolve(&args.statusfile)?;
    let _lock = StatusLock::acquire(&statusfile, LOCK_WAIT)?;
    status::remove_leftovers(&statusfile);
    let mut status = Status::load(&statusfile)?;
    let started_ms = now_ms();
    let windows = RunWindows::new(
        config,
        args.since.as_deref(),
        args.until.as_deref(),
        started_ms,
    )?;

    // Before any rule runs: a missing secret is a config error, not a failed delivery.
    let mut stdout = std::io::stdout();
    let mut outputs = outputs::build(&config.outputs, &config.delivery, &mut stdout)?;

    let engine = crate::app::engine_for(config)?;
    let installed = Installed::load(&engine, config)?;
    let selected = installed.select(&args.rules)?;
    warn_unused_sections(config, &installed);
    let mut outcome = Outcome::default();
    if args.rules.is_empty() {
        for broken in &installed.broken {
            tracing::error!(module = %broken.path.display(), "rule module failed to load: {}", broken.error);
            crate::report::rule_failed(&broken.path.display().to_string(), &broken.error);
            outcome
                .failures
                .push((broken.path.display().to_string(), broken.error.clone()));
        }
    }
    if selected.is_empty() {
        tracing::warn!(dir = %config.rules_dir.display(), "no rules to run");
    }

    // A rule that has read up to this run's `until` already has nothing to read: it is not
    // run, and keeps its state and its start.
    let (selected, rule_windows): (Vec<&InstalledRule>, Vec<Window>) = selected
        .into_iter()
        .filter_map(|rule| match windows.of(&status, &rule.info.name) {
            Some(window) => Some((rule, window)),
            None => {
                tracing::info!(rule = %rule.info.name, until = windows.until(), "nothing to read: the rule has read up to this run's until already");
                None
            }
        })
        .unzip();
    let edda = Arc::new(EddaClient::new(
        config.edda.clone(),
        config.edda_timeout,
        config.edda_max_response_bytes,
    ));
    let prefetched = prefetch(&edda, &selected, &rule_windows)?;
    let results = evaluate_all(
        &engine,
        config,
        &status,
        &edda,
        &prefetched,
        &selected,
        &rule_windows,
    );
    tracing::info!(requests = edda.distinct_requests(), "EDDA requests made");

    if config.store_until {
        keep_windows_of_rules_not_run(&mut status, &installed);
    }
    let alerts = record_results(
        &mut status,
        &selected,
        results,
        &rule_windows,
        started_ms,
        config.store_until.then_some(windows.next_since()),
        &mut outcome,
    );
    if config.store_until {
        status.since = Some(windows.next_since());
    }
    outcome.alerts = alerts.len();

    // Write ahead: the new states and the alerts they raised are saved together, owed to
    // every output, before any output sees them.
    let names: Vec<String> = outputs.iter().map(|o| o.name().to_owned()).collect();
    status
        .pending
        .extend(alerts.into_iter().map(|a| PendingAlert::owed(a, &names)));
    status.last_run = Some(now_ms());
    status.save(&statusfile).context(
        "failed to save the status file before delivering: no alert was delivered and no rule \
         state moved on, so the next run raises this run's alerts again",
    )?;

    let run_info = RunInfo {
        window: run_window(&rule_windows, windows.until()),
        started_ms,
    };
    let owed = std::mem::take(&mut status.pending);
    let had_owed = !owed.is_empty();
    let (pending, report) = outputs::deliver(
        &mut outputs,
        owed,
        &run_info,
        config.delivery.max_waiting_alerts,
    );
    drop(outputs);
    status.pending = pending;
    outcome.failures.extend(report.tell());
    if !report.dropped.is_empty() {
        let path = status::dead_letter_path(&statusfile);
        if let Err(err) = outputs::write_dead_letters(&path, &report.dropped) {
            // Kept over the cap rather than lost: the next run tries again.
            tracing::error!("{err:#}; the alerts past max_waiting_alerts stay in the status file");
            let mut kept = report.dropped;
            kept.append(&mut status.pending);
            status.pending = kept;
        }
    }
    if had_owed {
        status.save(&statusfile).context(
            "failed to save the status file after delivering: the alerts delivered by this run \
             are still listed as owed and will be delivered again (Elasticsearch answers 409)",
        )?;
    }
    tracing::info!(
        alerts = outcome.alerts,
        failed = outcome.failures.len(),
        "run finished"
    );
    Ok(outcome)
}

/// The span of the run's windows, for the outputs' headings.
fn run_window(rule_windows: &[Window], until: u64) -> Window {
    let since = rule_windows
        .iter()
        .map(|w| w.since_ms)
        .min()
        .unwrap_or(until);
    Window {
        since_ms: since,
        until_ms: until,
    }
}

/// With `store-until`, every rule the status knows or that is installed gets a start of its
/// own before the top-level `since` moves on, so one that does not run now (not selected, or
/// failed to load) still reads its whole window when it next runs.
fn keep_windows_of_rules_not_run(status: &mut Status, installed: &Installed) {
    let names: BTreeSet<String> = status
        .rules
        .keys()
        .cloned()
        .chain(installed.names())
        .collect();
    for name in names {
        let since = status.since_of(&name);
        status
            .rules
            .entry(name)
            .or_default()
            .since
            .get_or_insert(since);
    }
}

/// Files each rule's result in the status and returns the alerts raised. A rule that
/// succeeded gets its new state (and, with `store-until`, its next window starts at
/// `next_since`); one that failed keeps its state and the start of its window.
fn record_results(
    status: &mut Status,
    rules: &[&InstalledRule],
    results: Vec<Result<RuleOutput, String>>,
    windows: &[Window],
    started_ms: u64,
    next_since: Option<u64>,
    outcome: &mut Outcome,
) -> Vec<AlertRecord> {
    let mut alerts = Vec::new();
    for ((rule, result), window) in rules.iter().zip(results).zip(windows) {
        let name = &rule.info.name;
        let entry = status.rules.entry(name.clone()).or_default();
        match result {
            Ok(output) => {
                tracing::info!(rule = %name, alerts = output.findings.len(), "rule finished");
                alerts.extend(output.findings.into_iter().map(|f| AlertRecord {
                    plugin_name: name.clone(),
                    id: f.id,
                    details: f.details,
                    rule_version: rule.info.version.clone(),
                    window: *window,
                    raised_ms: started_ms,
                }));
                entry.state = output.state;
                entry.version = Some(rule.info.version.clone());
                entry.last_success = Some(started_ms);
                entry.consecutive_failures = 0;
                entry.last_error = None;
                if let Some(next) = next_since {
                    entry.since = Some(next);
                }
            }
            Err(why) => {
                match (next_since, entry.since) {
                    (Some(_), Some(since)) => tracing::error!(
                        rule = %name,
                        "rule failed: {why}; its next run reads again from {}",
                        outputs::iso_time(since)
                    ),
                    _ => tracing::error!(rule = %name, "rule failed: {why}"),
                }
                crate::report::rule_failed(name, &why);
                entry.consecutive_failures += 1;
                entry.last_error = Some(why.clone());
                outcome.failures.push((name.clone(), why));
            }
        }
    }
    alerts
}

/// A `plugin.<name>` section that matches no installed rule is most likely a typo.
fn warn_unused_sections(config: &Config, installed: &Installed) {
    let names: BTreeSet<String> = installed.names().into_iter().collect();
    for name in config.plugins.keys().filter(|n| !names.contains(*n)) {
        tracing::warn!(section = %format!("plugin.{name}"), "config section matches no installed rule");
    }
}
