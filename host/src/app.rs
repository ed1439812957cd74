//! Dispatch of the command line to the main job or a subcommand, and the outcome of a run as
//! an exit code.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use crate::engine::{Engine, EngineOptions};
use crate::rules::Installed;

/// How a run ended, when it was not fatal.
#[derive(Debug, Default)]
pub struct Outcome {
    /// (rule or module, why) for every rule that failed.
    pub failures: Vec<(String, String)>,
    /// Alerts raised.
    pub alerts: usize,
}

impl Outcome {
    pub fn exit_code(&self) -> ExitCode {
        if self.failures.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }
}

pub fn run(cli: Cli) -> Result<Outcome> {
    let overrides = Overrides {
        edda: cli.run.edda.clone(),
        output: cli.run.output.clone(),
        store_until: cli.run.store_until,
        rules_dir: cli.common.rules_dir.clone(),
    };
    let config = Config::load(&cli.common.configfile, &overrides)?;
    match cli.command {
        None => crate::run::run(&config, &cli.run),
        Some(Command::Rules { json }) => {
            list_rules(&config, json)?;
            Ok(Outcome::default())
        }
    }
}

pub(crate) fn engine_for(config: &Config) -> Result<Engine> {
    Engine::new(&EngineOptions {
        cache_dir: config.cache_dir.clone(),
    })
}

fn list_rules(config: &Config, json: bool) -> Result<()> {
    let engine = engine_for(config)?;
    let installed = Installed::load(&engine, &config.rules_dir, config.limits)?;
    let rules: Vec<serde_json::Value> = installed
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.info.name,
                "version": r.info.version,
                "description": r.info.description,
                "queries": r.info.queries,
                "capabilities": r.info.capabilities,
                "interface": r.module.interface_version,
                "path": r.path,
                "sha256": r.module.sha256,
            })
        })
        .collect();
    let broken: Vec<serde_json::Value> = installed
        .broken
        .iter()
        .map(|b| serde_json::json!({"path": b.path, "sha256": b.sha256, "error": b.error}))
        .collect();
    let (hits, misses) = engine.cache_stats();
    tracing::debug!(hits, misses, "compilation cache");
    if json {
        let doc = serde_json::json!({
            "rules": rules,
            "unloadable": broken,
            "compilation_cache": {"dir": config.cache_dir, "hits": hits, "misses": misses},
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    for r in &installed.rules {
        println!("{} {}  {}", r.info.name, r.info.version, r.info.description);
        println!(
            "    interface  reddalert:rules/guest@{}",
            r.module.interface_version
        );
        println!("    module     {}", r.path.display());
        println!("    sha256     {}", r.module.sha256);
        for q in &r.info.queries {
            let mode = match (q.window, q.updated_only) {
                (false, _) => "current",
                (true, false) => "window",
                (true, true) => "updated in window",
            };
            println!("    query      {} ({mode})", q.path);
        }
        if !r.info.capabilities.is_empty() {
            let caps: Vec<String> = r
                .info
                .capabilities
                .iter()
                .map(|c| format!("{c:?}").to_lowercase())
                .collect();
            println!("    capability {}", caps.join(", "));
        }
    }
    for b in &installed.broken {
        println!(
            "(unloadable) {}\n    sha256     {}\n    error      {}",
            b.path.display(),
            b.sha256,
            b.error
        );
    }
    Ok(())
}
