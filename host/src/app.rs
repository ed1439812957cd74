//! Dispatch of the command line to the main job or a subcommand, and the outcome of a run as
//! an exit code. The rule-author commands (`new-rule`, `test-rule`, `snapshot`) live in
//! [`crate::authoring`]; `new-rule` needs no config, and `test-rule` reads one only when given.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::Result;
use clap::{CommandFactory as _, FromArgMatches as _};

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use crate::outcome::{Failure, FailureKind, Outcome};

/// What `--version` prints after the name: the version, the commit the binary was built from,
/// the rule interface versions it runs and the target it was built for, so an operator can
/// tell which build runs and which rule modules it takes.
static LONG_VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}\ncommit     {}\ninterface  reddalert:rules@{} (runs rules built for {})\ntarget     {}",
        env!("CARGO_PKG_VERSION"),
        env!("REDDALERT_COMMIT"),
        crate::engine::INTERFACE_VERSION,
        crate::engine::runs_versions(),
        env!("REDDALERT_TARGET"),
    )
});

/// The command line of this process; `--version` says the commit and interface too.
pub fn parse_cli() -> Cli {
    let matches = Cli::command()
        .long_version(LONG_VERSION.as_str())
        .get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

pub fn run(cli: Cli) -> Result<Outcome> {
    let overrides = Overrides {
        edda: cli.run.edda.clone(),
        output: cli.run.output.clone().map(|list| list.0),
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
    // With no config file at all (none given, the default absent), `rules --rules-dir`, `push`
    // and `sign` use the default settings rather than failing.
    let or_defaults = || {
        if cli.common.configfile.is_none() && !configfile.exists() {
            tracing::info!(default = %configfile.display(), "no config file; using the default settings");
            Config::defaults(&overrides)
        } else {
            load(&configfile, None)
        }
    };
    match &cli.command {
        None => {
            let config = load(&configfile, None)?;
            let started_ms = crate::time::now_ms();
            let mut result = crate::run::run(&config, &cli.run);
            // After the run, however it ended: a run that died still says so to monitoring.
            if let Err(err) = crate::run::publish_metrics(&config, &cli.run, started_ms, &result) {
                tracing::error!("{err:#}");
                if let Ok(outcome) = &mut result {
                    outcome.failures.push(Failure::new(
                        FailureKind::Output,
                        "metrics",
                        format!("{err:#}"),
                    ));
                }
            }
            result
        }
        Some(Command::Rules { json }) => {
            crate::listing::list_rules(&or_defaults()?, &cli.run.statusfile, *json)?;
            Ok(Outcome::default())
        }
        Some(Command::Pull(args)) => crate::pull::run(&load(&configfile, None)?, args),
        Some(Command::Push(args)) => {
            crate::authoring::publish::push(&or_defaults()?, args)?;
            Ok(Outcome::default())
        }
        Some(Command::Sign(args)) => {
            crate::authoring::publish::sign(&or_defaults()?, args)?;
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
        Some(Command::ServeEdda(args)) => {
            crate::serve::run(args)?;
            Ok(Outcome::default())
        }
        Some(Command::Crawl(args)) => crate::crawl::run(&load(&configfile, None)?, args),
    }
}
