//! The middle of a run: each distinct declared query of each rule's window fetched once, a
//! few at a time, then the rules evaluated in parallel, each in its own sandbox with the data
//! it declared, its merged config, its stored state and its window, and host services that
//! end by its deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail};

use crate::config::Config;
use crate::contract::{Query, RuleInput, RuleOutput, Window};
use crate::edda::{EddaClient, EddaError};
use crate::engine::Engine;
use crate::rules::InstalledRule;
use crate::services::RuleServices;
use crate::status::Status;

/// A declared query fetched for one window.
type Request = (Query, Window);
type Fetched = Result<Arc<str>, EddaError>;
pub(super) type Prefetched = HashMap<Request, Fetched>;

/// Fetches every distinct declared query of every rule's window once, a few at a time. An
/// unreachable EDDA ends the run here, before any state changes; other failures only fail
/// the rules that need them.
pub(super) fn prefetch(
    edda: &Arc<EddaClient>,
    rules: &[&InstalledRule],
    windows: &[Window],
) -> Result<Prefetched> {
    let mut requests: Vec<Request> = Vec::new();
    for (rule, window) in rules.iter().zip(windows) {
        for q in &rule.info.queries {
            let request = (q.clone(), *window);
            if !requests.contains(&request) {
                requests.push(request);
            }
        }
    }
    let next = AtomicUsize::new(0);
    let results: Vec<(Request, Fetched)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..requests.len().min(4))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some((q, w)) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push(((q.clone(), *w), edda.fetch(q, *w)));
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

pub(super) fn evaluate_all(
    engine: &Engine,
    config: &Config,
    status: &Status,
    edda: &Arc<EddaClient>,
    prefetched: &Prefetched,
    rules: &[&InstalledRule],
    windows: &[Window],
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
                        let result = evaluate(
                            engine, config, status, edda, prefetched, rules[i], windows[i],
                        );
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
        match prefetched.get(&(q.clone(), window)) {
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
    let limits = config.limits_for(&info.name);
    let started = std::time::Instant::now();
    let services = Arc::new(
        RuleServices::new(
            &info.name,
            &info.capabilities,
            edda.clone(),
            window,
            config.edda_queries_per_rule,
        )
        .with_capabilities(&config.capabilities)
        .with_deadline(started + limits.timeout),
    );
    let result = engine.evaluate(&rule.module, &limits, services, &input);
    tracing::debug!(rule = %info.name, elapsed_ms = started.elapsed().as_millis() as u64, "evaluated");
    result.map_err(|err| err.to_string())
}
