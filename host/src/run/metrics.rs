//! The run's metrics, gathered after it ended however it ended: the exit code, what failed by
//! kind and what was asked of EDDA come from the run's outcome; each rule's last success, its
//! failures since, where its next window starts, and the alerts still waiting per output, come
//! from the status files as they were left (read, never written), so a run that died early (EDDA down,
//! a status file locked) still publishes the last success of every rule, and a monitor
//! alerting on "no success for 30 minutes" keeps its data.

use std::collections::BTreeMap;

use anyhow::Result;

use super::status_files;
use crate::cli::RunArgs;
use crate::config::Config;
use crate::metrics::{RuleMetrics, RunMetrics, Waiting};
use crate::outcome::{FailureKind, Outcome};
use crate::status::{self, Status};
use crate::time::now_ms;

/// Writes the metrics of a run that started at `started_ms` and ended with `result`, when
/// `[metrics]` is configured. A metrics file or Pushgateway that fails is an error for the
/// caller to report; it never changes what the run did.
pub fn publish_metrics(
    config: &Config,
    args: &RunArgs,
    started_ms: u64,
    result: &Result<Outcome>,
) -> Result<()> {
    let Some(settings) = &config.metrics else {
        return Ok(());
    };
    crate::metrics::publish(settings, &gather(config, args, started_ms, result))
}

fn gather(
    config: &Config,
    args: &RunArgs,
    started_ms: u64,
    result: &Result<Outcome>,
) -> RunMetrics {
    let empty = Outcome::default();
    let (outcome, exit_code) = match result {
        Ok(outcome) if outcome.failures.is_empty() => (outcome, 0),
        Ok(outcome) => (outcome, 1),
        Err(_) => (&empty, 2),
    };
    let mut rules = Vec::new();
    let mut waiting: BTreeMap<String, u64> = config
        .output_kinds()
        .into_iter()
        .map(|kind| (kind.name().to_owned(), 0))
        .collect();
    for (account, path) in status_files(config, args) {
        let account = account.map(|a| a.name.clone());
        let Some(status) = read(&path) else { continue };
        for (name, rule) in &status.rules {
            let key = (account.clone(), name.clone());
            rules.push(RuleMetrics {
                name: name.clone(),
                account: account.clone(),
                last_success_ms: rule.last_success,
                alerts: outcome.raised.get(&key).map_or(0, |&n| n as u64),
                failed: rule.consecutive_failures > 0,
                consecutive_failures: rule.consecutive_failures,
                window_start_ms: config.store_until.then(|| status.since_of(name)),
            });
        }
        for entry in &status.pending {
            for output in &entry.outputs {
                *waiting.entry(output.clone()).or_default() += 1;
            }
        }
    }
    RunMetrics {
        started_ms,
        finished_ms: now_ms(),
        exit_code,
        rules,
        failures: FailureKind::OF_A_RUN
            .into_iter()
            .map(|kind| (kind, outcome.count(kind) as u64))
            .collect(),
        peak_resident_bytes: peak_resident_bytes(),
        shard: args.shard,
        edda_requests: outcome.edda.requests,
        edda_bytes: outcome.edda.bytes,
        waiting: waiting
            .into_iter()
            .map(|(output, alerts)| Waiting { output, alerts })
            .collect(),
        shed: outcome.shed,
    }
}

/// A status file as the run left it; none yet, or one that cannot be read (which the run
/// itself reported), gives no rule metrics.
fn read(path: &std::path::Path) -> Option<Status> {
    let path = status::resolve(path).ok()?;
    if !path.exists() {
        return None;
    }
    match Status::load(&path) {
        Ok(status) => Some(status),
        Err(err) => {
            tracing::warn!("metrics without the rules of {}: {err:#}", path.display());
            None
        }
    }
}

/// The high-water mark of this process's resident memory, from `/proc/self/status` (Linux);
/// `None` elsewhere.
fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kib * 1024)
}
