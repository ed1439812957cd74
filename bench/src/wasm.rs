//! Each stock EDDA rule alone in wasm: `reddalert test-rule --json` on the snapshot files,
//! which runs the module through the same engine, sandbox and limits as a run and reports
//! what the guest call used (fuel, peak linear memory, time inside the call).

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::alerts::Alerts;
use crate::generate::{SINCE_MS, UNTIL_MS};
use crate::measure::{ProcessCost, median, run_child, summarise};

/// One rule's cost in wasm: the guest call's median seconds, the whole process (engine set-up,
/// module from the cache, files read, call), its fuel and peak guest memory, and its alerts.
pub struct WasmRun {
    pub rule: String,
    pub call_seconds: f64,
    pub process: ProcessCost,
    pub fuel: u64,
    pub peak_memory_bytes: u64,
    pub alerts: Alerts,
}

pub struct TestRule<'a> {
    pub host: &'a Path,
    pub config: &'a Path,
    pub snapshot: &'a Path,
    pub work: &'a Path,
}

impl TestRule<'_> {
    pub fn run(&self, module: &Path, runs: usize) -> Result<WasmRun> {
        let stdout = self.work.join("test-rule.out.json");
        let stderr = self.work.join("test-rule.err");
        let mut calls = Vec::new();
        let mut costs = Vec::new();
        let mut last = Value::Null;
        // One run first, not counted: it fills the compilation cache.
        for i in 0..=runs.max(1) {
            let cost = run_child(self.command(module), &stdout, &stderr)?;
            let text = std::fs::read_to_string(&stdout)?;
            last = serde_json::from_str(&text)
                .with_context(|| format!("test-rule printed no JSON for {}", module.display()))?;
            if i > 0 {
                costs.push(cost);
                calls.push(last["usage"]["elapsed_ms"].as_f64().unwrap_or(f64::NAN) / 1000.0);
            }
        }
        let rule = last["rule"].as_str().unwrap_or_default().to_owned();
        let mut alerts = Alerts::default();
        for alert in last["alerts"].as_array().into_iter().flatten() {
            alerts.push(
                alert["plugin_name"].as_str().unwrap_or_default(),
                alert["id"].as_str().unwrap_or_default(),
                &alert["details"],
            );
        }
        Ok(WasmRun {
            rule,
            call_seconds: median(&mut calls),
            process: summarise(&costs),
            fuel: last["usage"]["fuel"].as_u64().unwrap_or(0),
            peak_memory_bytes: last["usage"]["peak_memory_bytes"].as_u64().unwrap_or(0),
            alerts,
        })
    }

    fn command(&self, module: &Path) -> Command {
        let mut cmd = Command::new(self.host);
        cmd.arg("--configfile")
            .arg(self.config)
            .arg("test-rule")
            .arg(module)
            .arg("--data")
            .arg(self.snapshot)
            .args([
                "--since",
                &SINCE_MS.to_string(),
                "--until",
                &UNTIL_MS.to_string(),
            ])
            .arg("--json");
        cmd
    }
}
