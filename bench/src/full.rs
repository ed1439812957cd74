//! Whole runs of `reddalert` (the six stock EDDA rules, each with its default config), as cron
//! would start them: from the snapshot files (`edda = "dir:…"`), from a SQLite store
//! (`edda = "store:…"`) and from a loopback EDDA,
//! warm (the compilation cache filled by a run before the timed ones) and cold (a new, empty
//! cache each time). Each run starts from no status file, with the window given.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::alerts::Alerts;
use crate::generate::{SINCE_MS, UNTIL_MS};
use crate::measure::{ProcessCost, run_child, summarise};

/// Where a run reads EDDA from.
pub enum Source<'a> {
    Snapshot(&'a Path),
    Loopback(&'a str),
    /// A SQLite store (`edda = "store:…"`).
    Store(&'a Path),
}

/// A config for runs over `rules` from `source`, caching compiled modules in `cache`.
pub fn write_config(path: &Path, source: &Source, rules: &Path, cache: &Path) -> Result<()> {
    let edda = match source {
        Source::Snapshot(dir) => format!("dir:{}", dir.display()),
        Source::Loopback(url) => (*url).to_owned(),
        Source::Store(path) => format!("store:{}", path.display()),
    };
    let text = format!(
        "edda = {edda:?}\noutput = [\"stdout_json\"]\nrules_dir = {rules:?}\ncache_dir = {cache:?}\n\
         # Every iam user changes in the benchmark's window: one query each, and more at scale 3.\n\
         edda_queries_per_rule = 10000000\n\n\
         # The run's own peak memory: the kernel's figure for a child of the benchmark counts\n\
         # the benchmark's memory at the fork.\n\
         [metrics]\ntextfile = {metrics:?}\n",
        rules = rules.display().to_string(),
        cache = cache.display().to_string(),
        metrics = metrics_file(path).display().to_string(),
    );
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

/// Where the run started with the config at `config` leaves its metrics.
fn metrics_file(config: &Path) -> PathBuf {
    config.with_extension("prom")
}

/// `reddalert_last_run_peak_resident_bytes` from a metrics file, in MB.
fn peak_rss_mb(metrics: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(metrics).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("reddalert_last_run_peak_resident_bytes "))?
        .trim()
        .parse::<f64>()
        .ok()
        .map(|bytes| bytes / 1e6)
}

pub struct Runner<'a> {
    pub host: &'a Path,
    pub work: &'a Path,
}

/// The median cost of some runs and the alerts of the last.
pub struct FullRun {
    pub cost: ProcessCost,
    pub alerts: Alerts,
}

impl Runner<'_> {
    /// `runs` timed runs with `config` after one untimed run that warms the cache (filled
    /// already when an earlier warm figure shared it); with `cold`, each run gets a new, empty
    /// cache directory instead (`cache` in the config).
    pub fn run(
        &self,
        config: &Path,
        cache: &Path,
        rules: &[&str],
        runs: usize,
        cold: bool,
    ) -> Result<FullRun> {
        let stdout = self.work.join("run.out.jsonl");
        let stderr = self.work.join("run.err");
        let mut costs = Vec::new();
        let warmup = usize::from(!cold);
        for i in 0..runs.max(1) + warmup {
            if cold {
                let _ = std::fs::remove_dir_all(cache);
            }
            let metrics = metrics_file(config);
            let _ = std::fs::remove_file(&metrics);
            let mut cost = run_child(self.command(config, rules, i), &stdout, &stderr)?;
            cost.peak_rss_mb = peak_rss_mb(&metrics)
                .with_context(|| format!("the run left no peak memory in {}", metrics.display()))?;
            if i >= warmup {
                costs.push(cost);
            }
        }
        Ok(FullRun {
            cost: summarise(&costs),
            alerts: alerts(&stdout)?,
        })
    }

    fn command(&self, config: &Path, rules: &[&str], i: usize) -> Command {
        let status: PathBuf = self.work.join(format!("status-{i}.json"));
        let _ = std::fs::remove_file(&status);
        let mut cmd = Command::new(self.host);
        cmd.arg("--configfile")
            .arg(config)
            .arg("--statusfile")
            .arg(&status)
            .args([
                "--since",
                &SINCE_MS.to_string(),
                "--until",
                &UNTIL_MS.to_string(),
            ])
            .args(rules);
        cmd
    }
}

/// The alerts a run printed as `stdout_json`.
fn alerts(stdout: &Path) -> Result<Alerts> {
    let text = std::fs::read_to_string(stdout)
        .with_context(|| format!("failed to read {}", stdout.display()))?;
    let mut alerts = Alerts::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let alert: Value = serde_json::from_str(line)
            .with_context(|| format!("a run printed a line that is not JSON: {line}"))?;
        alerts.push(
            alert["plugin_name"].as_str().unwrap_or_default(),
            alert["id"].as_str().unwrap_or_default(),
            &alert["details"],
        );
    }
    Ok(alerts)
}
