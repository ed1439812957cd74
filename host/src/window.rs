//! The time window a run, a snapshot or a test of one rule looks at, settled the same way
//! everywhere: explicit `--since`/`--until` win; otherwise the caller's defaults (for a run,
//! the stored `until` when `store-until` is on, and now minus the lag).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, ensure};

use crate::config::Config;
use crate::contract::Window;
use crate::status::Status;
use crate::timearg::parse_time;

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `since`/`until` as given, else the defaults; an empty window is an error.
pub fn resolve(
    since: Option<&str>,
    until: Option<&str>,
    default_since: u64,
    default_until: impl FnOnce() -> u64,
) -> Result<Window> {
    let until = match until {
        Some(t) => parse_time(t).context("invalid --until")?,
        None => default_until(),
    };
    let since = match since {
        Some(t) => parse_time(t).context("invalid --since")?,
        None => default_since,
    };
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
    since: Option<&str>,
    until: Option<&str>,
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
