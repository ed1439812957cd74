//! Error reporting to Sentry, the original's `--sentry DSN`: a rule that fails, an output
//! that does not take its alerts and a fatal error each become an event, tagged with what
//! failed, so the people who run reddalert hear about a broken run the way they hear about
//! their other services. The sentry crate sends from a background thread over ureq; the
//! guard `main` holds flushes it on exit. Without a DSN every function here does nothing.

use anyhow::{Context as _, Result};
use sentry::Level;

/// Keeps the Sentry client alive; dropping it waits (briefly) for queued events to go out.
pub struct Reporter {
    _guard: Option<sentry::ClientInitGuard>,
}

/// Starts reporting to `dsn`, if given. A DSN that does not parse is an error: an operator
/// who asked for reports should not silently get none.
pub fn init(dsn: Option<&str>) -> Result<Reporter> {
    let Some(dsn) = dsn.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(Reporter { _guard: None });
    };
    let dsn: sentry::types::Dsn = dsn
        .parse()
        .context("invalid --sentry DSN (expected https://<key>@<host>/<project>)")?;
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = Some(concat!("reddalert@", env!("CARGO_PKG_VERSION")).into());
    let guard = sentry::init(options);
    Ok(Reporter {
        _guard: Some(guard),
    })
}

/// A rule (or a module that would not load) failed; the run went on without it.
pub fn rule_failed(rule: &str, why: &str) {
    capture(
        Level::Error,
        &format!("rule {rule} failed: {why}"),
        &[("rule", rule)],
    );
}

/// An output did not take some alerts; they wait for the next run.
pub fn delivery_failed(output: &str, why: &str) {
    capture(
        Level::Warning,
        &format!("delivery to {output} failed: {why}"),
        &[("output", output)],
    );
}

/// The run stopped (exit code 2).
pub fn fatal(err: &anyhow::Error) {
    capture(Level::Fatal, &format!("{err:#}"), &[("kind", "fatal")]);
}

fn capture(level: Level, message: &str, tags: &[(&str, &str)]) {
    sentry::with_scope(
        |scope| {
            for (key, value) in tags {
                scope.set_tag(key, value);
            }
        },
        || sentry::capture_message(message, level),
    );
}
