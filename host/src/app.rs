//! Dispatch of the command line to the main job or a subcommand, and the outcome of a run as
//! an exit code. The rule-author commands (`new-rule`, `test-rule`, `snapshot`) live in
//! [`crate::authoring`]; `new-rule` needs no config, and `test-rule` reads one only when given.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use crate::engine::{Engine, EngineOptions};
use crate::rules::{Installed, Pin};

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
    let load = |path: &Path, edda: Option<&String>| {
        let overrides = Overrides {
            edda: edda.or(overrides.edda.as_ref()).cloned(),
            ..overrides.clone()
        };
        Config::load(path, &overrides)
    };
    let configfile = cli.common.configfile();
    match &cli.command {
        None => crate::run::run(&load(&configfile, None)?, &cli.run),
        Some(Command::Rules { json }) => {
            list_rules(&load(&configfile, None)?, *json)?;
            Ok(Outcome::default())
        }
        Some(Command::NewRule(args)) => {
            crate::authoring::scaffold::run(args)?;
            Ok(Outcome::default())
        }
        Some(Command::TestRule(args)) => {
            let config = match &cli.common.configfile {
                Some(path) => Some(load(path, None)?),
                None => None,
            };
            crate::authoring::test_rule::run(args, config.as_ref())
        }
        Some(Command::Snapshot(args)) => {
            crate::authoring::snapshot::run(&load(&configfile, args.edda.as_ref())?, args)
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
    let installed = Installed::load(&engine, config)?;
    let rules: Vec<serde_json::Value> = installed
        .rules
        .iter()
        .map(|r| {
            let pin = Pin::check(&config.pins, &r.info.name, &r.module.sha256);
            serde_json::json!({
                "name": r.info.name,
                "version": r.info.version,
                "description": r.info.description,
                "queries": r.info.queries,
                "capabilities": r.info.capabilities,
                "grants": crate::capabilities::describe(&config.capabilities, &r.info.name, &r.info.capabilities),
                "interface": r.module.interface_version,
                "path": r.path,
                "sha256": r.module.sha256,
                "pin": pin.label(),
                "pinned_sha256": config.pins.get(&r.info.name),
            })
        })
        .collect();
    let names = installed.names();
    let unused_pins: BTreeMap<&String, &String> = config
        .pins
        .iter()
        .filter(|(name, _)| !names.contains(name))
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
            "pins_without_module": unused_pins,
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
        match Pin::check(&config.pins, &r.info.name, &r.module.sha256) {
            Pin::Unpinned => {
                println!("    pin        none (unpinned: any module with this name runs)")
            }
            Pin::Matches => println!("    pin        matches"),
            Pin::Mismatch(pinned) => {
                println!("    pin        MISMATCH: pinned {pinned}; this rule is refused")
            }
        }
        for q in &r.info.queries {
            let mode = match (q.window, q.updated_only) {
                (false, _) => "current",
                (true, false) => "window",
                (true, true) => "updated in window",
            };
            println!("    query      {} ({mode})", q.path);
        }
        for line in crate::capabilities::describe_text(
            &config.capabilities,
            &r.info.name,
            &r.info.capabilities,
        ) {
            println!("    {line}");
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
    for (name, sha256) in unused_pins {
        println!("(pinned, not installed) {name}\n    pin        {sha256}");
    }
    Ok(())
}
