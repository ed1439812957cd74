//! `reddalert snapshot`: run the selected rules as a real run would (same config, window,
//! states, sandbox and limits) against a recording EDDA client, then save every response they
//! read as a snapshot file: the declared queries and the data-dependent ones made through the
//! `edda` import (the iam rule's per-user `_diff`), EDDA's HTTP errors included, since a
//! rule may read those as answers. Alerts are not delivered and the status file is never
//! written, so capturing does not disturb the cron job. The files replay through `test-rule
//! --data DIR` or `edda = "dir:DIR"`.

use std::sync::Arc;

use anyhow::{Context as _, Result, bail, ensure};

use super::{MANIFEST, Manifest, show_time};
use crate::cli::SnapshotArgs;
use crate::config::{Config, EddaSource};
use crate::contract::{Query, Window};
use crate::edda::{EddaClient, EddaError, snapshot};
use crate::out::outln;
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::rules::archives::Archives;
use crate::rules::evaluation::{Evaluator, Reach};
use crate::rules::{Installed, InstalledRule};
use crate::status::Status;
use crate::time::now_ms;

pub fn run(config: &Config, args: &SnapshotArgs) -> Result<Outcome> {
    let account_config;
    let config = match (&args.account, config.accounts.is_empty()) {
        (Some(name), _) => {
            let account = config
                .accounts
                .iter()
                .find(|a| &a.name == name)
                .with_context(|| {
                    let names: Vec<&str> =
                        config.accounts.iter().map(|a| a.name.as_str()).collect();
                    format!("no account {name:?} in the config; its accounts: {names:?}")
                })?;
            ensure!(
                args.edda.is_none(),
                "give --account or --edda, not both: the account names its EDDA"
            );
            account_config = config.for_account(account, config.parallelism);
            &account_config
        }
        (None, false) if args.edda.is_none() => bail!(
            "the config lists accounts, each with its own EDDA: name the one to read with \
             --account NAME"
        ),
        (None, _) => config,
    };
    let status = match &args.statusfile {
        Some(path) => Status::load(path)?,
        None => Status::default(),
    };
    let started_ms = now_ms();
    let edda = Arc::new(
        EddaClient::open(
            config.edda.clone(),
            config.edda_timeout,
            config.edda_max_response_bytes,
            started_ms,
            config.crawl.max_staleness,
        )?
        .with_cache_limit(config.edda_cache_bytes)
        .recording(),
    );
    let mut window = crate::window::for_run(config, args.since, args.until, &status, started_ms)?;
    if let Some(limit) = edda.until_limit() {
        // As a run does: a store answers as of its last commit.
        window.until_ms = window.until_ms.min(limit);
        ensure!(
            window.since_ms <= window.until_ms,
            "the window starts ({}) after the store's last commit ({limit}): nothing to capture",
            window.since_ms
        );
    }
    let engine = crate::rules::engine_for(config)?;
    let installed = Installed::load(&engine, config)?;
    let selected = installed.select(&args.rules)?;
    let mut outcome = Outcome::default();
    if args.rules.is_empty() {
        for broken in &installed.broken {
            outcome.failures.push(Failure::new(
                FailureKind::Module,
                broken.path.display().to_string(),
                broken.error.clone(),
            ));
        }
    }

    // The declared queries first, as a run prefetches them: an unreachable EDDA stops here.
    let mut declared: Vec<&Query> = Vec::new();
    for q in selected
        .iter()
        .flat_map(|r| r.info.queries.iter().map(|d| &d.query))
    {
        if !declared.contains(&q) {
            declared.push(q);
        }
    }
    for q in declared {
        if let Err(err) = edda.fetch(q, window)
            && err.is_unreachable()
        {
            bail!("{err}; nothing was saved");
        }
    }
    // The rules run as in a run, so that their run-time queries are made (and recorded);
    // their alerts are dropped, and they reach nothing beyond EDDA.
    let evaluator = Evaluator {
        engine: &engine,
        edda: &edda,
        queries_per_rule: config.edda_queries_per_rule,
        reach: Reach::Nothing,
        archives: &Archives::default(),
    };
    for rule in &selected {
        let name = &rule.info.name;
        let evaluated = evaluator.evaluate(
            rule,
            window,
            &[config.rule_sections.get(name)],
            status.rules.get(name).and_then(|s| s.state.clone()),
            &config.limits_for(name),
            &|q| edda.fetch(q, window).map_err(|err| err.to_string()),
        );
        if let Ok(output) = &evaluated {
            tracing::info!(rule = %name, alerts = output.alerts.len(), "rule evaluated (alerts not delivered)");
        }
        if let Err(why) = evaluated {
            tracing::error!(rule = %rule.info.name, "rule failed: {why}");
            outcome
                .failures
                .push(Failure::new(FailureKind::Rule, rule.info.name.clone(), why));
        }
    }
    save(config, args, &edda, &selected, window)?;
    for failure in &outcome.failures {
        eprintln!("error: {failure}");
    }
    Ok(outcome)
}

/// Writes one file per recorded response and the manifest.
fn save(
    config: &Config,
    args: &SnapshotArgs,
    edda: &EddaClient,
    rules: &[&InstalledRule],
    window: Window,
) -> Result<()> {
    let dir = &args.out;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create the snapshot directory {}", dir.display()))?;
    let mut files = Vec::new();
    for (query, response) in edda.recorded() {
        let path = snapshot::file_path(dir, &query);
        let Some(contents) = snapshot::file_contents(&response) else {
            if let Err(err) = &response {
                eprintln!("not saved: {} ({err})", query.path);
            }
            continue;
        };
        std::fs::write(&path, contents)
            .with_context(|| format!("failed to write {}", path.display()))?;
        let note = match &response {
            Err(EddaError::Status { status, .. }) => format!("  (EDDA error {status})"),
            _ => String::new(),
        };
        outln!("saved {}{note}", path.display())?;
        files.push(snapshot::file_name(&query));
    }
    let manifest = Manifest {
        since_ms: window.since_ms,
        until_ms: window.until_ms,
        edda: match &config.edda {
            EddaSource::Http(url) => url.clone(),
            EddaSource::Snapshot(dir) => format!("dir:{}", dir.display()),
            EddaSource::Store(path) => format!("store:{}", path.display()),
        },
        rules: rules.iter().map(|r| r.info.name.clone()).collect(),
        files,
        taken_ms: now_ms(),
    };
    let path = dir.join(MANIFEST);
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("failed to write {}", path.display()))?;
    outln!(
        "saved {} files for the window {} .. {} to {}",
        manifest.files.len(),
        show_time(window.since_ms),
        show_time(window.until_ms),
        dir.display()
    )?;
    Ok(())
}
