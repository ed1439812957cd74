//! How a command ended when it was not fatal: the alerts raised and what failed along the
//! way, each failure with its kind (a rule, a module that did not load or was refused, an output that did not
//! take its alerts, alerts dropped past the waiting cap, a whole account), so the exit code,
//! the log and the metrics all read the same list.

use std::fmt;
use std::process::ExitCode;

/// What kind of thing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// A rule failed (trap, limit, bad output, a query it needed failed); its window is read
    /// again next run.
    Rule,
    /// A rule module could not be loaded.
    Module,
    /// A rule module was refused by the trust checks (its lock entry, signatures or pin do not
    /// hold); it was not compiled, and its state and window are kept.
    Refused,
    /// An output did not take some alerts; they wait for the next run.
    Output,
    /// Waiting alerts past `max_waiting_alerts` or `max_waiting_mib` were moved to the
    /// dead-letter file (or, past `max_dead_letter_mib`, not kept at all).
    Dropped,
    /// A whole account failed (EDDA unreachable, status file locked or unreadable).
    Account,
    /// A crawl could not read a collection; nothing of it was recorded.
    Collection,
}

impl FailureKind {
    /// Every kind a run can fail with, for its metrics, which list each one (at 0 when
    /// nothing of it failed); `Collection` is the crawl's.
    pub const OF_A_RUN: [FailureKind; 6] = [
        FailureKind::Rule,
        FailureKind::Module,
        FailureKind::Refused,
        FailureKind::Output,
        FailureKind::Dropped,
        FailureKind::Account,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Rule => "rule",
            FailureKind::Module => "module",
            FailureKind::Refused => "refused",
            FailureKind::Output => "output",
            FailureKind::Dropped => "dropped",
            FailureKind::Account => "account",
            FailureKind::Collection => "collection",
        }
    }
}

/// One thing that failed: what (a rule name, a module path, an output, an account) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub what: String,
    pub why: String,
}

impl Failure {
    pub fn new(kind: FailureKind, what: impl Into<String>, why: impl Into<String>) -> Failure {
        Failure {
            kind,
            what: what.into(),
            why: why.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed: {}", self.kind.name(), self.what, self.why)
    }
}

/// How a run ended, when it was not fatal.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Everything that failed.
    pub failures: Vec<Failure>,
    /// Alerts raised.
    pub alerts: usize,
    /// Alerts raised, by account (None without accounts) and rule, for every rule that ran
    /// and succeeded (with 0 when it raised none).
    pub raised: std::collections::BTreeMap<(Option<String>, String), usize>,
    /// What was asked of EDDA.
    pub edda: EddaTraffic,
    /// Alerts the bounds on what waits moved out of the way or cut.
    pub shed: Shed,
}

/// Alerts the bounds on what waits moved out of the way or cut, by bound.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shed {
    /// Past `max_waiting_alerts`: the oldest, moved to the dead-letter file.
    pub over_count: u64,
    /// Past `max_waiting_mib`: the largest, moved to the dead-letter file.
    pub over_bytes: u64,
    /// Of those, not kept anywhere: past `max_dead_letter_mib`, or the file failed.
    pub lost: u64,
    /// Alerts whose details were cut to `max_alert_kib`.
    pub cut: u64,
}

impl Shed {
    /// Alerts moved out of a waiting list.
    pub fn moved(&self) -> u64 {
        self.over_count + self.over_bytes
    }

    pub fn add(&mut self, other: Shed) {
        self.over_count += other.over_count;
        self.over_bytes += other.over_bytes;
        self.lost += other.lost;
        self.cut += other.cut;
    }
}

/// Requests made to EDDA (or snapshot files read) and the bytes of the bodies received.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EddaTraffic {
    pub requests: u64,
    pub bytes: u64,
}

impl Outcome {
    /// 0 when nothing failed, 1 when something did (fatal errors exit 2 elsewhere).
    pub fn exit_code(&self) -> ExitCode {
        if self.failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    /// How many failures of `kind`.
    pub fn count(&self, kind: FailureKind) -> usize {
        self.failures.iter().filter(|f| f.kind == kind).count()
    }
}
