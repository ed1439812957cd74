//! One run of the main job, in the order of the data flow: lock and load the status, load
//! the rules, settle the window, fetch each distinct EDDA query once, evaluate the rules in
//! parallel (each in its own sandbox, each failing alone), deliver the alerts (those that
//! waited from earlier runs first), then save the new states and whatever alerts still wait,
//! atomically. Nothing is saved when EDDA is unreachable.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::app::Outcome;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::contract::{Query, RuleInput, RuleOutput, Window};
use crate::edda::{EddaClient, EddaError};
use crate::engine::Engine;
use crate::outputs::{self, AlertRecord, RunInfo};
use crate::rules::{Installed, InstalledRule};
use crate::services::RuleServices;
use crate::status::{Status, StatusLock};
use crate::window::{self, now_ms};

/// How long to wait for an overlapping run to finish, as the original did.
const LOCK_WAIT: Duration = Duration::from_secs(3);

type Prefetched = HashMap<Query, Result<Arc<str>, EddaError>>;

pub fn run(config: &Config, args: &RunArgs) -> Result<Outcome> {
    let _lock = StatusLock::acquire(&args.statusfile, LOCK_WAIT)?;
    let mut status = Status::load(&args.statusfile)?;
    let started_ms = now_ms();
    let window = window::for_run(
        config,
        args.since.as_deref(),
        args.until.as_deref(),
        &status,
        started_ms,
    )?;
    tracing::info!(since = window.since_ms, until = window.until_ms, "window");

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

    let edda = Arc::new(EddaClient::new(
        config.edda.clone(),
        config.edda_timeout,
        config.edda_max_response_bytes,
    ));
    let prefetched = prefetch(&edda, &selected, window)?;
    let results = evaluate_all(
        &engine,
        config,
        &status,
        &edda,
        &prefetched,
        &selected,
        window,
    );
    tracing::info!(requests = edda.distinct_requests(), "EDDA requests made");

    let mut alerts = Vec::new();
    for (rule, result) in selected.iter().zip(results) {
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
                    window,
                    raised_ms: started_ms,
                }));
                entry.state = output.state;
                entry.version = Some(rule.info.version.clone());
                entry.last_success = Some(started_ms);
                entry.consecutive_failures = 0;
                entry.last_error = None;
            }
            Err(why) => {
                tracing::error!(rule = %name, "rule failed: {why}");
                crate::report::rule_failed(name, &why);
                entry.consecutive_failures += 1;
                entry.last_error = Some(why.clone());
                outcome.failures.push((name.clone(), why));
            }
        }
    }

    outcome.alerts = alerts.len();
    let run_info = RunInfo { window, started_ms };
    let waiting = std::mem::take(&mut status.pending);
    let (pending, report) = outputs::deliver(
        &mut outputs,
        waiting,
        alerts,
        &run_info,
        config.delivery.max_waiting_alerts,
    );
    drop(outputs);
    status.pending = pending;
    outcome.failures.extend(report.tell());

    if config.store_until {
        status.since = Some(window.until_ms);
    }
    status.last_run = Some(now_ms());
    status.save(&args.statusfile)?;
    tracing::info!(
        alerts = outcome.alerts,
        failed = outcome.failures.len(),
        "run finished"
    );
    Ok(outcome)
}

/// Fetches every distinct declared query once, a few at a time. An unreachable EDDA ends the
/// run here, before any state changes; other failures only fail the rules that need them.
fn prefetch(
    edda: &Arc<EddaClient>,
    rules: &[&InstalledRule],
    window: Window,
) -> Result<Prefetched> {
    let mut queries: Vec<Query> = Vec::new();
    for q in rules.iter().flat_map(|r| &r.info.queries) {
        if !queries.contains(q) {
            queries.push(q.clone());
        }
    }
    let next = AtomicUsize::new(0);
    let results: Vec<(Query, Result<Arc<str>, EddaError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..queries.len().min(4))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(q) = queries.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push((q.clone(), edda.fetch(q, window)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    if let Some((_, Err(err))) = results
        .iter()
        .find(|(_, r)| r.as_ref().is_err_and(EddaError::is_unreachable))
    {
        bail!("{err}; no rule ran and no state was changed");
    }
    Ok(results.into_iter().collect())
}

fn evaluate_all(
    engine: &Engine,
    config: &Config,
    status: &Status,
    edda: &Arc<EddaClient>,
    prefetched: &Prefetched,
    rules: &[&InstalledRule],
    window: Window,
) -> Vec<Result<RuleOutput, String>> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<RuleOutput, String>>> =
        (0..rules.len()).map(|_| None).collect();
    let done: Vec<(usize, Result<RuleOutput, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..config.parallelism.min(rules.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(i) =
                        Some(next.fetch_add(1, Ordering::Relaxed)).filter(|i| *i < rules.len())
                    {
                        let result =
                            evaluate(engine, config, status, edda, prefetched, rules[i], window);
                        done.push((i, result));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for (i, result) in done {
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the rule's worker thread panicked".into())))
        .collect()
}

fn evaluate(
    engine: &Engine,
    config: &Config,
    status: &Status,
    edda: &Arc<EddaClient>,
    prefetched: &Prefetched,
    rule: &InstalledRule,
    window: Window,
) -> Result<RuleOutput, String> {
    let info = &rule.info;
    let mut data = Vec::with_capacity(info.queries.len());
    for q in &info.queries {
        match prefetched.get(q) {
            Some(Ok(body)) => data.push((q.path.clone(), body.clone())),
            Some(Err(err)) => return Err(format!("its query {:?} failed: {err}", q.path)),
            None => return Err(format!("its query {:?} was not fetched", q.path)),
        }
    }
    let input = RuleInput {
        config: crate::config::merge_rule_config(
            &info.default_config,
            config.plugins.get(&info.name),
        ),
        state: status.rules.get(&info.name).and_then(|s| s.state.clone()),
        data,
        window,
    };
    let services = Arc::new(
        RuleServices::new(
            &info.name,
            &info.capabilities,
            edda.clone(),
            window,
            config.edda_queries_per_rule,
        )
        .with_capabilities(&config.capabilities),
    );
    let started = std::time::Instant::now();
    let result = engine.evaluate(
        &rule.module,
        &config.limits_for(&info.name),
        services,
        &input,
    );
    tracing::debug!(rule = %info.name, elapsed_ms = started.elapsed().as_millis() as u64, "evaluated");
    result.map_err(|err| err.to_string())
}

/// A `plugin.<name>` section that matches no installed rule is most likely a typo.
fn warn_unused_sections(config: &Config, installed: &Installed) {
    let names: BTreeMap<String, ()> = installed.names().into_iter().map(|n| (n, ())).collect();
    for name in config.plugins.keys().filter(|n| !names.contains_key(*n)) {
        tracing::warn!(section = %format!("plugin.{name}"), "config section matches no installed rule");
    }
}
