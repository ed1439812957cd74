//! The command line: the original reddalert's flags (`--configfile`, `--statusfile`,
//! `--since`, `--until`, rule names, ...) plus subcommands for operators.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const TIME_HELP: &str = "epoch seconds, epoch milliseconds, or ISO 8601 (2026-11-25, \"2026-11-25 10:00:00\" \
                         in UTC, 2026-11-25T10:00:00+01:00); numbers below 10^11 are seconds";

/// Detects risky changes in an AWS account from EDDA snapshots, with sandboxed WebAssembly rules.
#[derive(Debug, Parser)]
#[command(name = "reddalert", version, subcommand_precedence_over_arg = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Config file: TOML, or the original reddalert's JSON.
    #[arg(
        short = 'c',
        long = "configfile",
        default_value = "etc/configfile.json",
        global = true
    )]
    pub configfile: PathBuf,

    /// Directory of rule modules (*.wasm); overrides the config's rules_dir.
    #[arg(long = "rules-dir", global = true)]
    pub rules_dir: Option<PathBuf>,

    /// More logging on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log only warnings and errors.
    #[arg(short = 'l', long = "silent", global = true)]
    pub silent: bool,
}

/// The main job's options (the original's).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Status file kept between runs (locked while running).
    #[arg(
        short = 'f',
        long = "statusfile",
        default_value = "etc/statusfile.json"
    )]
    pub statusfile: PathBuf,

    /// Start of the window, instead of the last stored run.
    #[arg(short = 's', long = "since", value_name = "TIME", long_help = format!("Start of the window, instead of the last stored run: {TIME_HELP}"))]
    pub since: Option<String>,

    /// End of the window (default: now minus the configured lag, 5 minutes).
    #[arg(short = 'u', long = "until", value_name = "TIME", long_help = format!("End of the window (default: now minus until_lag_seconds, 300): {TIME_HELP}"))]
    pub until: Option<String>,

    /// EDDA base URL (or dir:<snapshot directory>), instead of the config's `edda`.
    #[arg(short = 'e', long = "edda")]
    pub edda: Option<String>,

    /// Comma-separated outputs (stdout, stdout_tabsep, stdout_json), instead of the config's.
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,

    /// Store this run's `until` as the next run's `since` (also config `store-until`).
    #[arg(long = "store-until")]
    pub store_until: bool,

    /// Rules to run (default: every installed rule).
    #[arg(value_name = "RULE")]
    pub rules: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the installed rules: name, version, description, queries, interface, origin, sha256.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}
