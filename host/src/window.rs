//! The time window a run, a snapshot or a test of one rule looks at, settled the same way
//! everywhere: explicit `--since`/`--until` win; otherwise the caller's defaults (for a run,
//! now minus the lag, and with `store-until` each rule's own stored start: the `until` of its
//! last success, so a rule that failed reads its missed window again).

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

/// The windows of one run: one `until` for every rule, and a `since` per rule.
#[derive(Debug, Clone, Copy)]
pub struct RunWindows {
    since: Option<u64>,
    until: u64,
    store_until: bool,
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
        Ok(RunWindows {
            since: since.map(|_| explicit.since_ms),
            until: explicit.until_ms,
            store_until: config.store_until,
        })
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
    /// else 0. `None` when that start lies after this run's `until`: the rule has read that far
    /// already (a run repeated with the same `--until`, or a clock set back), so there is
    /// nothing to read yet.
    pub fn of(&self, status: &Status, rule: &str) -> Option<Window> {
        let since = match self.since {
            Some(since) => since,
            None if self.store_until => status.since_of(rule),
            None => 0,
        };
        (since <= self.until).then_some(Window {
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
    /// that very millisecond would be read (and raised) twice.
    pub fn next_since(&self) -> u64 {
        self.until + 1
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
        assert_eq!(ahead.of(&Status::default(), "iam"), None);
        assert_eq!(ahead.ahead(), Some(1_000_000));
        // A since the clamp leaves inside the window, or none given, is read as usual.
        let inside = windows(Some(900_000), 1_000_500, 940_000);
        assert_eq!(inside.ahead(), None);
        assert_eq!(
            inside
                .of(&Status::default(), "iam")
                .map(|w| (w.since_ms, w.until_ms)),
            Some((900_000, 940_000))
        );
        assert_eq!(windows(None, 1_000_500, 940_000).ahead(), None);
    }
}
