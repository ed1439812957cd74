//! The time window a run, a snapshot or a test of one rule looks at, settled the same way
//! everywhere: explicit `--since`/`--until` win; otherwise the caller's defaults (for a run,
//! now minus the lag, and with `store-until` each rule's own stored start: the `until` of its
//! last success, so a rule that failed reads its missed window again).
//!
//! Times are taken on trust nowhere: a stored start later than the run's own clock (plus
//! [`CLOCK_SKEW`]) is an error for that rule, never a quiet skip (a run once given a future
//! `--until` would otherwise silence it until that time), and a run never stores an `until`
//! past its clock: a future `--until` is read as given and stored as now.

use anyhow::{Result, ensure};

use crate::config::Config;
use crate::contract::Window;
use crate::status::Status;

/// `since`/`until` as given, else the defaults; an empty window is an error.
pub fn resolve(
    since: Option<u64>,
    until: Option<u64>,
    default_since: u64,
    default_until: impl FnOnce() -> u64,
) -> Result<Window> {
    let until = until.unwrap_or_else(default_until);
    let since = since.unwrap_or(default_since);
    ensure!(
        since <= until,
        "the window is empty: since ({since}) is after until ({until})"
    );
    Ok(Window {
        since_ms: since,
        until_ms: until,
    })
}

/// A run's window: `--since`, else the last stored `until` when `store-until` is on, else 0;
/// `--until`, else `now` minus the configured lag.
pub fn for_run(
    config: &Config,
    since: Option<u64>,
    until: Option<u64>,
    status: &Status,
    now: u64,
) -> Result<Window> {
    let stored = if config.store_until {
        status.since.unwrap_or(0)
    } else {
        0
    };
    resolve(since, until, stored, || {
        now.saturating_sub(config.until_lag.as_millis() as u64)
    })
}

/// How far a time may lie ahead of the run's own clock and still be taken as now: EDDA's
/// clock and ours may differ by a little.
pub const CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// The windows of one run: one `until` for every rule, and a `since` per rule.
#[derive(Debug, Clone, Copy)]
pub struct RunWindows {
    since: Option<u64>,
    until: u64,
    store_until: bool,
    /// The run's own clock (epoch ms).
    now: u64,
}

/// Where one rule of a run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleWindow {
    /// The window it reads.
    Read(Window),
    /// Its start lies after this run's `until` (a run repeated with the same `--until`): it
    /// has read that far already, and nothing is read.
    UpToDate,
    /// Its stored start lies after the run's clock: a run stored a future `until`. An error
    /// for the rule, which names both times and how to reset the start.
    Future(String),
}

impl RunWindows {
    /// `--since`/`--until` as given (an explicit empty window is an error), `until` defaulting
    /// to now minus the configured lag.
    pub fn new(
        config: &Config,
        since: Option<u64>,
        until: Option<u64>,
        now: u64,
    ) -> Result<RunWindows> {
        let explicit = resolve(since, until, 0, || {
            now.saturating_sub(config.until_lag.as_millis() as u64)
        })?;
        let windows = RunWindows {
            since: since.map(|_| explicit.since_ms),
            until: explicit.until_ms,
            store_until: config.store_until,
            now,
        };
        if windows.store_until && windows.until > now.saturating_add(CLOCK_SKEW_MS) {
            tracing::warn!(
                until = %crate::time::iso_time(windows.until),
                now = %crate::time::iso_time(now),
                "--until is later than this run's clock: the window reads up to it, and the next \
                 one starts at the clock (a run never stores a time past it)"
            );
        }
        Ok(windows)
    }

    /// The same windows ending at `limit` at the latest: the instant a store answers as of.
    pub fn clamp_until(self, limit: u64) -> RunWindows {
        if self.until > limit {
            tracing::info!(
                until = self.until,
                store_clock = limit,
                "until clamped to the store's last commit"
            );
        }
        RunWindows {
            until: self.until.min(limit),
            ..self
        }
    }

    /// The run's `until`, shared by every rule.
    pub fn until(&self) -> u64 {
        self.until
    }

    /// `rule`'s window: `--since`, else (with `store-until`) where its last success left off,
    /// else 0. A stored start past the run's clock is [`RuleWindow::Future`]; one past this
    /// run's `until` only is [`RuleWindow::UpToDate`].
    pub fn of(&self, status: &Status, rule: &str) -> RuleWindow {
        let since = match self.since {
            Some(since) => since,
            None if self.store_until => status.since_of(rule),
            None => 0,
        };
        if self.since.is_none() && since > self.now.saturating_add(CLOCK_SKEW_MS) {
            use crate::time::iso_time;
            return RuleWindow::Future(format!(
                "its stored window start {} is later than this run's clock {}: a run stored a \
                 future `until` (a clock set wrong, or a typo in --until), and nothing was read; \
                 reset it with one run given --since (`--since {} {rule}` reads from the last \
                 hour), or set `rules.{rule}.since` in the status file",
                iso_time(since),
                iso_time(self.now),
                iso_time(self.now.saturating_sub(3_600_000)),
            ));
        }
        if since > self.until {
            return RuleWindow::UpToDate;
        }
        RuleWindow::Read(Window {
            since_ms: since,
            until_ms: self.until,
        })
    }

    /// An explicit `--since` after this run's `until`, which only a store's clamp makes (its
    /// last commit is older than the start asked for): nothing is read, and with
    /// `store-until` every rule run starts there next time, so `--since` starts a new store
    /// quiet whether or not a crawl has committed since.
    pub fn ahead(&self) -> Option<u64> {
        self.since.filter(|since| *since > self.until)
    }

    /// Where a window that ends at this run's `until` is continued: EDDA's `_since` and
    /// `_until` are both inclusive, so the next window starts 1 ms later, or a change made at
    /// that very millisecond would be read (and raised) twice. An `until` past the run's clock
    /// (beyond the skew) is never stored: the next window starts at the clock.
    pub fn next_since(&self) -> u64 {
        if self.until > self.now.saturating_add(CLOCK_SKEW_MS) {
            self.now
        } else {
            self.until.saturating_add(1)
        }
    }

    /// Where a rule that has no start of its own yet starts, when it is not run now: the
    /// run's `--since`, when given, else where the status file says (else 0).
    pub fn default_since(&self, status: &Status) -> u64 {
        status.since.or(self.since).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn windows(since: Option<u64>, until: u64, limit: u64) -> RunWindows {
        let mut config = Config::defaults(&Overrides::default()).unwrap();
        config.store_until = true;
        RunWindows::new(&config, since, Some(until), until)
            .unwrap()
            .clamp_until(limit)
    }

    #[test]
    fn a_since_after_the_stores_last_commit_is_where_the_rules_start_next() {
        // `--since` now, the store's last commit a minute ago: nothing to read yet.
        let ahead = windows(Some(1_000_000), 1_000_500, 940_000);
        assert_eq!(ahead.of(&Status::default(), "iam"), RuleWindow::UpToDate);
        assert_eq!(ahead.ahead(), Some(1_000_000));
        // A since the clamp leaves inside the window, or none given, is read as usual.
        let inside = windows(Some(900_000), 1_000_500, 940_000);
        assert_eq!(inside.ahead(), None);
        assert_eq!(
            inside.of(&Status::default(), "iam"),
            RuleWindow::Read(Window {
                since_ms: 900_000,
                until_ms: 940_000
            })
        );
        assert_eq!(windows(None, 1_000_500, 940_000).ahead(), None);
    }
}
