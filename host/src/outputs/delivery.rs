//! The delivery guarantee. An alert that an output did not take is not lost: it is kept in
//! the status file as a [`PendingAlert`] that names the outputs still owed it, saved with the
//! new rule states, and on the next run it goes first, to those outputs only. The list is
//! capped (`max_waiting_alerts`): past the cap the oldest are dropped and each one is logged
//! in full, so nothing disappears silently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{AlertRecord, Output, RunInfo};

/// An alert that some outputs have not taken yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingAlert {
    /// The alert as it was raised.
    pub alert: AlertRecord,
    /// The outputs still owed it (`mail`, `elasticsearch`, ...).
    pub outputs: Vec<String>,
    /// Runs in which a delivery of it failed.
    #[serde(default)]
    pub attempts: u32,
    /// Why the last delivery failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What happened to a run's deliveries.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// (output, why) for every output that did not take everything it was given.
    pub failures: Vec<(String, String)>,
    /// Alerts from earlier runs delivered everywhere they were owed.
    pub redelivered: usize,
    /// Alerts left waiting for the next run.
    pub waiting: usize,
    /// Alerts dropped because more than `max_waiting_alerts` waited.
    pub dropped: usize,
}

impl DeliveryReport {
    /// Logs what happened and returns what makes the run exit 1: (what, why) for each output
    /// that failed, and for the cap when it dropped alerts. Failures go to Sentry too.
    pub fn tell(&self) -> Vec<(String, String)> {
        if self.redelivered > 0 {
            tracing::info!(
                alerts = self.redelivered,
                "alerts that waited from earlier runs were delivered"
            );
        }
        let mut failures = Vec::new();
        for (output, why) in &self.failures {
            tracing::error!(output, "delivery failed: {why}");
            crate::report::delivery_failed(output, why);
            failures.push((format!("output {output}"), why.clone()));
        }
        if !self.failures.is_empty() || self.dropped > 0 {
            tracing::error!(
                waiting = self.waiting,
                dropped = self.dropped,
                "some deliveries failed: {} alerts wait in the status file and go first next run",
                self.waiting
            );
        }
        if self.dropped > 0 {
            failures.push((
                "max_waiting_alerts".to_owned(),
                format!("{} waiting alerts were dropped", self.dropped),
            ));
        }
        failures
    }
}

/// Delivers the alerts that waited (first) and this run's alerts to every output, and
/// returns what still waits. Every fresh alert is owed to every configured output.
pub fn deliver(
    outputs: &mut [Box<dyn Output + '_>],
    waiting: Vec<PendingAlert>,
    fresh: Vec<AlertRecord>,
    run: &RunInfo,
    cap: usize,
) -> (Vec<PendingAlert>, DeliveryReport) {
    let names: Vec<String> = outputs.iter().map(|o| o.name().to_owned()).collect();
    let earlier = waiting.len();
    let mut entries = waiting;
    entries.extend(fresh.into_iter().map(|alert| PendingAlert {
        alert,
        outputs: names.clone(),
        attempts: 0,
        last_error: None,
    }));
    let mut report = DeliveryReport::default();
    let mut failed_now = vec![false; entries.len()];
    for output in outputs.iter_mut() {
        let name = output.name();
        let owed: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].outputs.iter().any(|o| o == name))
            .collect();
        let batch: Vec<AlertRecord> = owed.iter().map(|&i| entries[i].alert.clone()).collect();
        let refused: Vec<(usize, String)> = match output.send(&batch, run) {
            Ok(refused) => refused
                .into_iter()
                .filter(|(n, _)| *n < owed.len())
                .collect(),
            Err(err) => {
                let why = format!("{err:#}");
                (0..owed.len()).map(|n| (n, why.clone())).collect()
            }
        };
        if let Some((_, first)) = refused.first() {
            report.failures.push((
                name.to_owned(),
                format!(
                    "{} of {} alerts not delivered: {first}",
                    refused.len(),
                    owed.len()
                ),
            ));
        }
        let mut kept = vec![false; owed.len()];
        for (n, why) in refused {
            kept[n] = true;
            let entry = &mut entries[owed[n]];
            entry.last_error = Some(format!("{name}: {why}"));
            failed_now[owed[n]] = true;
        }
        for (n, &i) in owed.iter().enumerate() {
            if !kept[n] {
                entries[i].outputs.retain(|o| o != name);
            }
        }
    }
    warn_unconfigured(&entries, &names);
    let mut left = Vec::new();
    for (i, mut entry) in entries.into_iter().enumerate() {
        if failed_now[i] {
            entry.attempts += 1;
        }
        if !entry.outputs.is_empty() {
            left.push(entry);
        } else if i < earlier {
            report.redelivered += 1;
        }
    }
    report.dropped = enforce_cap(&mut left, cap);
    report.waiting = left.len();
    (left, report)
}

/// Alerts owed to an output this run does not have are kept for a run that has it.
fn warn_unconfigured(entries: &[PendingAlert], names: &[String]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in entries {
        for output in entry.outputs.iter().filter(|o| !names.contains(o)) {
            *counts.entry(output).or_default() += 1;
        }
    }
    for (output, count) in counts {
        tracing::warn!(
            output,
            alerts = count,
            "alerts wait for an output this run does not deliver to; they are kept until a run does"
        );
    }
}

/// Drops the oldest waiting alerts past `cap`, logging each one whole.
fn enforce_cap(left: &mut Vec<PendingAlert>, cap: usize) -> usize {
    if left.len() <= cap {
        return 0;
    }
    let dropped: Vec<PendingAlert> = left.drain(..left.len() - cap).collect();
    tracing::error!(
        dropped = dropped.len(),
        max_waiting_alerts = cap,
        "more alerts wait than max_waiting_alerts allows: the oldest are dropped, each logged below"
    );
    for entry in &dropped {
        let line = serde_json::to_string(entry).unwrap_or_else(|_| format!("{entry:?}"));
        tracing::warn!("dropped waiting alert: {line}");
    }
    dropped.len()
}
