//! The delivery guarantee. Every alert is first saved in the status file as a
//! [`PendingAlert`] that names the outputs owed it, in the same save as the rule states that
//! raised it; an output that takes it is struck off, and one that does not keeps it owed, so
//! on the next run it goes first, to those outputs only. What waits is bounded per account
//! ([`super::bounds`]).

use std::collections::BTreeMap;

use super::{AlertRecord, Output, RunInfo};
use crate::alert::PendingAlert;
use crate::outcome::{Failure, FailureKind};

/// What happened to a run's deliveries.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Every output that did not take everything it was given ([`FailureKind::Output`]).
    pub failures: Vec<Failure>,
    /// Alerts from earlier runs delivered everywhere they were owed.
    pub redelivered: usize,
    /// Alerts left waiting for the next run.
    pub waiting: usize,
}

impl DeliveryReport {
    /// Logs what happened and returns what makes the run exit 1: each output that failed.
    /// Failures go to Sentry too.
    pub fn tell(&self) -> Vec<Failure> {
        if self.redelivered > 0 {
            tracing::info!(
                alerts = self.redelivered,
                "alerts that waited from earlier runs were delivered"
            );
        }
        let mut failures = Vec::new();
        for failure in &self.failures {
            let (output, why) = (&failure.what, &failure.why);
            tracing::error!(output, "delivery failed: {why}");
            crate::report::delivery_failed(output, why);
            failures.push(failure.clone());
        }
        if !self.failures.is_empty() {
            tracing::error!(
                waiting = self.waiting,
                "some deliveries failed: {} alerts wait in the status file and go first next run",
                self.waiting
            );
        }
        failures
    }
}

/// Delivers what is owed (alerts that waited from earlier runs first, then this run's) to
/// each output that is owed it, and returns what still waits.
pub fn deliver(
    outputs: &mut [Box<dyn Output + '_>],
    mut entries: Vec<PendingAlert>,
    run: &RunInfo,
) -> (Vec<PendingAlert>, DeliveryReport) {
    let names: Vec<String> = outputs.iter().map(|o| o.name().to_owned()).collect();
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
            report.failures.push(Failure::new(
                FailureKind::Output,
                name,
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
        } else if entry.alert.raised_ms != run.started_ms {
            report.redelivered += 1;
        }
    }
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
