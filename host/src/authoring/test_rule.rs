//! `reddalert test-rule`: one module, run locally the way a real run would run it: the same
//! engine, sandbox and limits (the defaults, or the rule's limits, config section and pin from
//! `--configfile`), its declared queries read from a snapshot directory and its run-time
//! queries answered from the same directory. It prints the alerts, the new state and what the
//! call consumed (fuel, peak memory, time), and exits 1 when the rule could not run or failed.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail, ensure};
use serde_json::{Value, json};

use super::{Manifest, show_time};
use crate::cli::TestRuleArgs;
use crate::config::{Config, DEFAULT_LIMITS, EddaSource};
use crate::contract::{Limits, RuleInfo, RuleOutput, Window};
use crate::edda::{EddaClient, snapshot};
use crate::engine::{Engine, EngineOptions, Module};
use crate::out::outln;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::rules::archives::Archives;
use crate::rules::evaluation::{Evaluator, Reach};
use crate::rules::{InstalledRule, apply_pin, load_module};
use crate::status::Status;
use crate::time::now_ms;

pub fn run(args: &TestRuleArgs, config: Option<&Config>) -> Result<Outcome> {
    ensure!(
        args.data.is_dir(),
        "the data directory {} does not exist; capture one with `reddalert snapshot --out {}`",
        args.data.display(),
        args.data.display()
    );
    // A run's settings come from its config file, or are a run's defaults without one.
    let info_limits = config.map_or(DEFAULT_LIMITS, |c| c.limits);
    let window = window(args)?;
    let section = args.config.as_deref().map(rule_config).transpose()?;
    let bytes = std::fs::read(&args.module)
        .with_context(|| format!("failed to read the module {}", args.module.display()))?;
    let engine = Engine::new(&EngineOptions {
        cache_dir: config.and_then(|c| c.cache_dir.clone()),
    })?;

    let (module, info) = match load_module(&engine, &bytes, &args.module, &info_limits) {
        Ok(loaded) => loaded,
        Err(why) => return failed(args, None, None, &why),
    };
    // Pinned as a run pins it: a module whose hash is not the pinned one is refused.
    let mut rule = InstalledRule {
        path: args.module.clone(),
        module,
        info,
        provenance: None,
    };
    if let Some(config) = config {
        apply_pin(&mut rule, &config.pins);
    }
    let limits = config.map_or(DEFAULT_LIMITS, |c| c.limits_for(&rule.info.name));
    let edda = Arc::new(
        EddaClient::new(
            EddaSource::Snapshot(args.data.clone()),
            config.map_or(std::time::Duration::from_secs(60), |c| c.edda_timeout),
            config.map_or(1024 << 20, |c| c.edda_max_response_bytes),
        )
        .with_cache_limit(
            config.map_or(crate::config::DEFAULT_EDDA_CACHE_MIB << 20, |c| {
                c.edda_cache_bytes
            }),
        ),
    );
    let state = args
        .state
        .as_deref()
        .map(|p| read_state(p, &rule.info.name))
        .transpose()?
        .flatten();
    // Against recorded data the rule reaches nothing beyond EDDA.
    let evaluator = Evaluator {
        engine: &engine,
        edda: &edda,
        queries_per_rule: config.map_or(10_000, |c| c.edda_queries_per_rule),
        reach: Reach::Nothing,
        archives: &Archives::default(),
    };
    let evaluated = evaluator.evaluate(
        &rule,
        window,
        &[
            config.and_then(|c| c.rule_sections.get(&rule.info.name)),
            section.as_ref(),
        ],
        state,
        &limits,
        &|q| edda.fetch(q, window).map_err(|err| err.to_string()),
    );
    let loaded = Some((&rule.module, &rule.info));
    match evaluated {
        Ok(output) => {
            report(args, &rule.module, &rule.info, window, &limits, &output)?;
            Ok(Outcome {
                alerts: output.alerts.len(),
                ..Outcome::default()
            })
        }
        Err(why) => failed(args, loaded, Some(window), &why),
    }
}

/// `--since`/`--until`, else the snapshot's window, else [0, now].
fn window(args: &TestRuleArgs) -> Result<Window> {
    let captured = Manifest::read(&args.data)?.map(|m| m.window());
    crate::window::resolve(
        args.since,
        args.until,
        captured.map_or(0, |w| w.since_ms),
        || captured.map_or_else(now_ms, |w| w.until_ms),
    )
}

/// `--config`: JSON text, or a JSON or TOML file holding the rule's section.
fn rule_config(arg: &str) -> Result<Value> {
    let value: Value = if arg.trim_start().starts_with('{') {
        serde_json::from_str(arg).context("invalid --config: not a JSON object")?
    } else {
        let text = std::fs::read_to_string(arg)
            .with_context(|| format!("failed to read --config file {arg}"))?;
        if arg.ends_with(".toml") {
            toml::from_str(&text).with_context(|| format!("failed to parse --config file {arg}"))?
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("failed to parse --config file {arg} as JSON"))?
        }
    };
    ensure!(
        value.is_object(),
        "invalid --config: the rule's section must be an object, got {value}"
    );
    Ok(value)
}

/// `--state`: the state itself, or a status file (ours or the original's) holding it.
fn read_state(path: &Path, rule: &str) -> Result<Option<Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read --state file {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse --state file {} as JSON", path.display()))?;
    let is_status = value.as_object().is_some_and(|map| {
        map.contains_key("reddalert_status") || map.keys().any(|k| k.starts_with("plugin."))
    });
    if !is_status {
        return Ok(Some(value));
    }
    match Status::load(path)?
        .rules
        .get(rule)
        .and_then(|r| r.state.clone())
    {
        Some(state) => Ok(Some(state)),
        None => bail!(
            "the status file {} holds no state for rule {rule:?}",
            path.display()
        ),
    }
}

fn report(
    args: &TestRuleArgs,
    module: &Module,
    info: &RuleInfo,
    window: Window,
    limits: &Limits,
    output: &RuleOutput,
) -> Result<()> {
    let usage = &output.usage;
    if args.json {
        let alerts: Vec<Value> = output
            .alerts
            .iter()
            .map(|f| json!({"plugin_name": info.name, "id": f.id, "details": f.details}))
            .collect();
        let mut doc = describe(args, Some((module, info)), Some(window));
        doc["ok"] = true.into();
        doc["alerts"] = alerts.into();
        doc["state"] = output.state.clone().unwrap_or(Value::Null);
        doc["usage"] = json!({
            "fuel": usage.fuel,
            "fuel_limit": limits.fuel,
            "peak_memory_bytes": usage.peak_memory_bytes,
            "memory_limit_bytes": limits.memory_bytes,
            "elapsed_ms": usage.elapsed.as_secs_f64() * 1000.0,
            "timeout_ms": limits.timeout.as_secs_f64() * 1000.0,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    print_header(args, module, info, window)?;
    outln!("alerts ({})", output.alerts.len())?;
    for f in &output.alerts {
        outln!("  {}  {}", f.id, f.details)?;
    }
    match &output.state {
        None => outln!("state  none")?,
        Some(state) => outln!("state  {state}")?,
    }
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    outln!(
        "fuel   {} of {} ({:.3}%)",
        usage.fuel,
        limits.fuel,
        usage.fuel as f64 * 100.0 / limits.fuel as f64
    )?;
    outln!(
        "memory {:.1} MiB peak of {:.0} MiB",
        mib(usage.peak_memory_bytes),
        mib(limits.memory_bytes)
    )?;
    outln!(
        "time   {:.1} ms of {:?}",
        usage.elapsed.as_secs_f64() * 1000.0,
        limits.timeout
    )?;
    Ok(())
}

fn print_header(
    args: &TestRuleArgs,
    module: &Module,
    info: &RuleInfo,
    window: Window,
) -> std::io::Result<()> {
    outln!(
        "rule   {} {} (interface {})",
        info.name,
        info.version,
        module.interface_version
    )?;
    outln!("module {}", args.module.display())?;
    outln!("sha256 {}", module.sha256)?;
    outln!(
        "window {} .. {}",
        show_time(window.since_ms),
        show_time(window.until_ms)
    )?;
    for q in &info.queries {
        outln!(
            "data   {}",
            snapshot::file_path(&args.data, &q.query).display()
        )?;
    }
    Ok(())
}

/// The module, rule and window, as far as they are known, for `--json`.
fn describe(
    args: &TestRuleArgs,
    loaded: Option<(&Module, &RuleInfo)>,
    window: Option<Window>,
) -> Value {
    let mut doc = json!({"module": args.module, "data": args.data});
    if let Some((module, info)) = loaded {
        doc["rule"] = info.name.clone().into();
        doc["version"] = info.version.clone().into();
        doc["interface"] = module.interface_version.clone().into();
        doc["sha256"] = module.sha256.clone().into();
    }
    if let Some(w) = window {
        doc["window"] = json!({"since_ms": w.since_ms, "until_ms": w.until_ms});
    }
    doc
}

/// Reports a rule that could not run or failed, and makes the exit code 1.
fn failed(
    args: &TestRuleArgs,
    loaded: Option<(&Module, &RuleInfo)>,
    window: Option<Window>,
    why: &str,
) -> Result<Outcome> {
    let who = loaded.map_or_else(
        || args.module.display().to_string(),
        |(_, i)| i.name.clone(),
    );
    if args.json {
        let mut doc = describe(args, loaded, window);
        doc["ok"] = false.into();
        doc["error"] = why.into();
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else if let (Some((module, info)), Some(window)) = (loaded, window) {
        print_header(args, module, info, window)?;
    }
    eprintln!("error: rule {who} failed: {why}");
    Ok(Outcome {
        failures: vec![Failure::new(FailureKind::Rule, who, why)],
        ..Outcome::default()
    })
}
