//! The middle of a run: each distinct declared query of each rule's window fetched once, a
//! few at a time, then the rules evaluated in parallel, each in its own sandbox with the data
//! it declared, its merged config, its stored state and its window, and host services that
//! end by its deadline ([`crate::rules::evaluation`]).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::config::Config;
use crate::contract::{Query, RuleOutput, Window};
use crate::edda::{EddaClient, EddaError};
use crate::engine::Engine;
use crate::rules::InstalledRule;
use crate::rules::archives::Archives;
use crate::rules::evaluation::{Evaluator, Reach};
use crate::status::Status;

/// A declared query fetched for one window.
type Request = (Query, Window);
type Fetched = Result<Arc<str>, String>;
pub(super) type Prefetched = HashMap<Request, Fetched>;

/// EDDA requests made at once.
const FETCHERS: usize = 4;

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
            let request = (q.query.clone(), *window);
            if !requests.contains(&request) {
                requests.push(request);
            }
        }
    }
    let fetched = crate::pool::map(
        &requests,
        FETCHERS,
        |(q, _)| format!("fetching {:?}", q.path),
        |(q, w)| edda.fetch(q, *w),
    );
    let mut prefetched = Prefetched::new();
    for (request, result) in requests.into_iter().zip(fetched) {
        let result = match result {
            Ok(Err(err)) if err.is_unreachable() => {
                bail!("{err}; no rule ran and no state was changed")
            }
            Ok(fetched) => fetched.map_err(|err: EddaError| err.to_string()),
            Err(panicked) => Err(panicked),
        };
        prefetched.insert(request, result);
    }
    Ok(prefetched)
}

/// Evaluates the rules, `config.parallelism` at a time, each over its window.
pub(super) fn evaluate_all(
    engine: &Engine,
    config: &Config,
    status: &Status,
    edda: &Arc<EddaClient>,
    prefetched: &Prefetched,
    rules: &[&InstalledRule],
    windows: &[Window],
) -> Vec<Result<RuleOutput, String>> {
    let archives = Archives::default();
    let evaluator = Evaluator {
        engine,
        edda,
        queries_per_rule: config.edda_queries_per_rule,
        reach: Reach::Granted(&config.capabilities),
        archives: &archives,
    };
    let work: Vec<(&InstalledRule, Window)> =
        rules.iter().copied().zip(windows.iter().copied()).collect();
    let outputs = crate::pool::map(
        &work,
        config.parallelism,
        |(rule, _)| format!("evaluating rule {}", rule.info.name),
        |(rule, window)| {
            let name = &rule.info.name;
            let bodies = |q: &Query| match prefetched.get(&(q.clone(), *window)) {
                Some(fetched) => fetched.clone(),
                None => Err("it was not fetched".to_owned()),
            };
            evaluator.evaluate(
                rule,
                *window,
                &[config.rule_sections.get(name)],
                status.rules.get(name).and_then(|s| s.state.clone()),
                &config.limits_for(name),
                &bodies,
            )
        },
    )
    .into_iter()
    .map(|r| r.and_then(|output| output))
    .collect();
    let held = archives.bytes();
    if held > 0 {
        tracing::debug!(bytes = held, "archives made for the rules that asked");
    }
    outputs
}
