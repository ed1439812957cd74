//! One account's share of a run, up to the write-ahead save: lock and load its status file,
//! settle each rule's window, fetch each distinct EDDA query once, evaluate the rules, file
//! their results, and save the new states together with the alerts they raised, owed to
//! every output. A config without accounts is one such share with no account name. What
//! this returns holds the status file's lock until the run has delivered.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::evaluate::{evaluate_all, prefetch};
use crate::alert::{AccountTag, AlertRecord, PendingAlert};
use crate::cli::RunArgs;
use crate::config::{Config, WaitingBounds};
use crate::contract::{RuleOutput, Window};
use crate::edda::EddaClient;
use crate::engine::Engine;
use crate::outcome::{EddaTraffic, Failure, FailureKind, Shed};
use crate::rules::{Installed, InstalledRule};
use crate::status::{self, Status, StatusLock};
use crate::time::now_ms;
use crate::window::{RuleWindow, RunWindows};

/// How long to wait for an overlapping run to finish, as the original did.
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// One account to run: its settings and its status file.
pub(super) struct Target {
    /// None for a config without accounts.
    pub account: Option<AccountTag>,
    pub config: Config,
    pub statusfile: PathBuf,
}

/// What every account's share has in common.
pub(super) struct Shared<'a> {
    pub engine: &'a Engine,
    pub installed: &'a Installed,
    pub selected: &'a [&'a InstalledRule],
    pub args: &'a RunArgs,
    pub started_ms: u64,
    /// The outputs this run delivers to, which every new alert is owed.
    pub outputs: &'a [String],
}

/// An account evaluated and saved ahead of delivery.
pub(super) struct Evaluated {
    pub account: Option<AccountTag>,
    pub statusfile: PathBuf,
    pub status: Status,
    /// Where the earliest window of the rules it ran starts, and where they all end.
    pub since: Option<u64>,
    pub until: u64,
    /// Alerts raised by each rule that succeeded.
    pub raised: Vec<(String, usize)>,
    /// What was asked of the account's EDDA.
    pub edda: EddaTraffic,
    /// Every rule that failed.
    pub failures: Vec<Failure>,
    /// Alerts the bounds on what waits moved or cut before the write-ahead save.
    pub shed: Shed,
    _lock: StatusLock,
}

impl Evaluated {
    pub fn account_name(&self) -> Option<&str> {
        self.account.as_ref().map(|a| a.name.as_str())
    }
}

pub(super) fn evaluate(shared: &Shared, target: &Target) -> Result<Evaluated> {
    let config = &target.config;
    let args = shared.args;
    let lock = StatusLock::acquire(&target.statusfile, LOCK_WAIT)?;
    status::remove_leftovers(&target.statusfile);
    let mut status = Status::load(&target.statusfile)?;
    if let Some(account) = &target.account {
        // Alerts waiting in an account's file are that account's, whatever an older or
        // copied file says: delivery files them back by name.
        for entry in &mut status.pending {
            if entry.alert.account_name() != Some(account.name.as_str()) {
                entry.alert.account = Some(account.clone());
            }
        }
    }
    let edda = Arc::new(
        EddaClient::open(
            config.edda.clone(),
            config.edda_timeout,
            config.edda_max_response_bytes,
            shared.started_ms,
            config.crawl.max_staleness,
        )?
        .with_cache_limit(config.edda_cache_bytes),
    );
    let mut windows = RunWindows::new(config, args.since, args.until, shared.started_ms)?;
    if let Some(limit) = edda.until_limit() {
        // A store answers as of its last commit: a later `until` could skip a change that
        // commits meanwhile with an earlier time.
        windows = windows.clamp_until(limit);
    }

    // A rule that has read up to this run's `until` already has nothing to read: it is not
    // run, and keeps its state and its start. One whose stored start lies past the run's
    // clock fails, saying how to reset it: it would otherwise read nothing until then.
    let mut selected = Vec::new();
    let mut rule_windows = Vec::new();
    let mut future = Vec::new();
    for rule in shared.selected {
        match windows.of(&status, &rule.info.name) {
            RuleWindow::Read(window) => {
                selected.push(*rule);
                rule_windows.push(window);
            }
            RuleWindow::UpToDate => {
                tracing::info!(rule = %rule.info.name, until = windows.until(), "nothing to read: the rule has read up to this run's until already");
            }
            RuleWindow::Future(why) => future.push((rule.info.name.clone(), why)),
        }
    }
    let prefetched = prefetch(&edda, &selected, &rule_windows)?;
    let results = evaluate_all(
        shared.engine,
        config,
        &status,
        &edda,
        &prefetched,
        &selected,
        &rule_windows,
    );
    tracing::info!(requests = edda.distinct_requests(), "EDDA requests made");

    if config.store_until {
        keep_windows_of_rules_not_run(&mut status, shared.installed, &windows);
        if let Some(since) = windows.ahead() {
            tracing::info!(
                since,
                "--since is after the store's last commit: the rules start there next run"
            );
            for rule in shared.selected {
                status
                    .rules
                    .entry(rule.info.name.clone())
                    .or_default()
                    .since = Some(since);
            }
        }
    }
    let mut failures = Vec::new();
    record_refused(&mut status, shared, target.account.as_ref(), &mut failures);
    for (name, why) in future {
        tracing::warn!(rule = %name, "rule failed: {why}");
        let what = match &target.account {
            Some(account) => format!("{} in account {}", name, account.name),
            None => name.clone(),
        };
        crate::report::rule_failed(&what, &why);
        let entry = status.rules.entry(name).or_default();
        entry.consecutive_failures += 1;
        entry.last_error = Some(why.clone());
        failures.push(Failure::new(FailureKind::Rule, what, why));
    }
    let mut raised = Vec::new();
    let mut shed = Shed::default();
    let (alerts, cut) = record_results(
        &mut status,
        &selected,
        results,
        &rule_windows,
        Recording {
            account: target.account.as_ref(),
            started_ms: shared.started_ms,
            next_since: config.store_until.then_some(windows.next_since()),
            alert_bytes: config.waiting.alert_bytes,
        },
        &mut failures,
        &mut raised,
    );
    shed.cut = cut;
    if config.store_until {
        status.since = Some(windows.next_since());
    }

    // Write ahead: the new states and the alerts they raised are saved together, owed to
    // every output, before any output sees them. The file stays within the bytes what waits
    // may take (the largest go to the dead-letter file first); the count is held after
    // delivery, so that a run raising many alerts still delivers them all.
    status.pending.extend(
        alerts
            .into_iter()
            .map(|a| PendingAlert::owed(a, shared.outputs)),
    );
    let moved = crate::outputs::shed_waiting(
        &mut status.pending,
        &WaitingBounds {
            alerts: usize::MAX,
            ..config.waiting
        },
        &status::dead_letter_path(&target.statusfile),
        &target.statusfile,
    );
    if let Some(failure) = super::shed_failure(&moved, &target.statusfile) {
        failures.push(failure);
    }
    shed.add(moved);
    status.last_run = Some(now_ms());
    let given_up = status.save(&target.statusfile).context(
        "failed to save the status file before delivering: no alert was delivered and no rule \
         state moved on, so the next run raises this run's alerts again",
    )?;
    shed.lost += given_up.len() as u64;
    if !given_up.is_empty() {
        failures.push(Failure::new(
            FailureKind::Dropped,
            target.statusfile.display().to_string(),
            format!(
                "{} waiting alerts were given up: the status volume is full",
                given_up.len()
            ),
        ));
    }
    Ok(Evaluated {
        account: target.account.clone(),
        statusfile: target.statusfile.clone(),
        status,
        since: rule_windows.iter().map(|w| w.since_ms).min(),
        until: windows.until(),
        raised,
        edda: EddaTraffic {
            requests: edda.requests_made(),
            bytes: edda.bytes_received(),
        },
        failures,
        shed,
        _lock: lock,
    })
}

/// With `store-until`, every rule the status knows or that is installed gets a start of its
/// own before the top-level `since` moves on, so one that does not run now (not selected, or
/// failed to load) still reads its whole window when it next runs (from this run's `--since`
/// when it has never had a start).
fn keep_windows_of_rules_not_run(status: &mut Status, installed: &Installed, windows: &RunWindows) {
    let names: BTreeSet<String> = status
        .rules
        .keys()
        .cloned()
        .chain(installed.names())
        .chain(installed.refused.iter().filter_map(|r| r.name.clone()))
        .collect();
    let default = windows.default_since(status);
    for name in names {
        let since = status
            .rules
            .get(&name)
            .and_then(|r| r.since)
            .unwrap_or(default);
        status
            .rules
            .entry(name)
            .or_default()
            .since
            .get_or_insert(since);
    }
}

/// Files each refused rule that has a name as failed: its state and the start of its window
/// stay, its failures count up, its last error says why it was refused.
fn record_refused(
    status: &mut Status,
    shared: &Shared,
    account: Option<&AccountTag>,
    failures: &mut Vec<Failure>,
) {
    for refused in shared.installed.refused_in(&shared.args.rules) {
        let Some(name) = &refused.name else { continue };
        let entry = status.rules.entry(name.clone()).or_default();
        entry.consecutive_failures += 1;
        entry.last_error = Some(format!("refused: {}", refused.reason));
        let what = match account {
            Some(account) => format!("{name} in account {}", account.name),
            None => name.clone(),
        };
        failures.push(Failure::new(
            FailureKind::Refused,
            what,
            refused.reason.clone(),
        ));
    }
}

/// What every alert and rule result of one account's share is filed with.
struct Recording<'a> {
    account: Option<&'a AccountTag>,
    started_ms: u64,
    /// With `store-until`, where a rule that succeeded reads from next time.
    next_since: Option<u64>,
    /// The bytes of one alert (`max_alert_kib`).
    alert_bytes: u64,
}

/// Files each rule's result in the status and returns the alerts raised, and how many of them
/// were cut to `max_alert_kib`. A rule that succeeded gets its new state (and, with
/// `store-until`, its next window starts at `next_since`); one that failed keeps its state and
/// the start of its window.
fn record_results(
    status: &mut Status,
    rules: &[&InstalledRule],
    results: Vec<Result<RuleOutput, String>>,
    windows: &[Window],
    at: Recording,
    failures: &mut Vec<Failure>,
    raised: &mut Vec<(String, usize)>,
) -> (Vec<AlertRecord>, u64) {
    let mut alerts = Vec::new();
    let mut cut_in_all = 0;
    for ((rule, result), window) in rules.iter().zip(results).zip(windows) {
        let name = &rule.info.name;
        let entry = status.rules.entry(name.clone()).or_default();
        match result {
            Ok(output) => {
                tracing::info!(rule = %name, alerts = output.alerts.len(), "rule finished");
                raised.push((name.clone(), output.alerts.len()));
                let mut cut = 0;
                alerts.extend(output.alerts.into_iter().map(|f| {
                    let mut record = AlertRecord {
                        rule: name.clone(),
                        id: f.id,
                        details: f.details,
                        rule_version: rule.info.version.clone(),
                        window: *window,
                        raised_ms: at.started_ms,
                        account: at.account.cloned(),
                    };
                    cut += u64::from(record.cut_to(at.alert_bytes));
                    record
                }));
                if cut > 0 {
                    tracing::warn!(
                        rule = %name,
                        alerts = cut,
                        "alerts larger than max_alert_kib ({} KiB) had their details cut to it",
                        at.alert_bytes >> 10
                    );
                    cut_in_all += cut;
                }
                entry.state = output.state;
                entry.version = Some(rule.info.version.clone());
                entry.last_success = Some(at.started_ms);
                entry.consecutive_failures = 0;
                entry.last_error = None;
                if let Some(next) = at.next_since {
                    entry.since = Some(next);
                }
            }
            Err(why) => {
                // Its next window starts where the one it failed on started (the `--since` it
                // was given, on a first run): never earlier, never later.
                if at.next_since.is_some() {
                    entry.since = Some(window.since_ms);
                    tracing::error!(
                        rule = %name,
                        "rule failed: {why}; its next run reads again from {}",
                        crate::time::iso_time(window.since_ms)
                    );
                } else {
                    tracing::error!(rule = %name, "rule failed: {why}");
                }
                let what = match at.account {
                    Some(account) => format!("{} in account {}", name, account.name),
                    None => name.clone(),
                };
                crate::report::rule_failed(&what, &why);
                entry.consecutive_failures += 1;
                entry.last_error = Some(why.clone());
                failures.push(Failure::new(FailureKind::Rule, what, why));
            }
        }
    }
    (alerts, cut_in_all)
}
