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

/// A `--since`/`--until` value in epoch milliseconds, refused by clap (exit 2, naming the
/// flag and the accepted forms) when it is none of them.
fn time_arg(text: &str) -> Result<u64, String> {
    crate::time::parse_time(text).map_err(|err| format!("{err:#}"))
}

/// The outputs of `--output`: a comma-separated list of known names, refused by clap (exit 2,
/// listing the known names) when one is unknown or none is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputList(pub Vec<crate::config::OutputKind>);

fn output_arg(text: &str) -> Result<OutputList, String> {
    crate::config::OutputKind::parse_list(text)
        .map(OutputList)
        .map_err(|err| format!("{err:#}"))
}

/// The config file used when `--configfile` is not given.
pub const DEFAULT_CONFIGFILE: &str = "etc/configfile.json";

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Config file: TOML, or the original reddalert's JSON [default: etc/configfile.json;
    /// test-rule reads one only when given].
    #[arg(short = 'c', long = "configfile", global = true)]
    pub configfile: Option<PathBuf>,

    /// Directory of rule modules (*.wasm); overrides the config's rules_dir.
    #[arg(long = "rules-dir", global = true)]
    pub rules_dir: Option<PathBuf>,

    /// More logging on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log only warnings and errors.
    #[arg(short = 'l', long = "silent", global = true)]
    pub silent: bool,

    /// Sentry DSN: rule failures, failed deliveries and fatal errors are reported there.
    #[arg(
        long = "sentry",
        value_name = "DSN",
        env = "SENTRY_DSN",
        hide_env_values = true,
        global = true
    )]
    pub sentry: Option<String>,
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
    #[arg(short = 's', long = "since", value_name = "TIME", value_parser = time_arg, long_help = format!("Start of the window, instead of the last stored run: {TIME_HELP}"))]
    pub since: Option<u64>,

    /// End of the window (default: now minus the configured lag, 5 minutes).
    #[arg(short = 'u', long = "until", value_name = "TIME", value_parser = time_arg, long_help = format!("End of the window (default: now minus until_lag_seconds, 300): {TIME_HELP}"))]
    pub until: Option<u64>,

    /// EDDA base URL (or dir:<snapshot directory>), instead of the config's `edda`.
    #[arg(short = 'e', long = "edda")]
    pub edda: Option<String>,

    /// Comma-separated outputs (stdout, stdout_tabsep, stdout_json, mail, elasticsearch, jsonl,
    /// webhook, ocsf), instead of the config's.
    #[arg(short = 'o', long = "output", value_name = "OUTPUTS", value_parser = output_arg)]
    pub output: Option<OutputList>,

    /// Store this run's `until` as the next run's `since` (also config `store-until`).
    #[arg(long = "store-until")]
    pub store_until: bool,

    /// Run only shard i (from 0) of n of the config's accounts, e.g. 2/4: an account's shard
    /// is a hash of its name, so it stays on its shard when accounts are added or removed.
    #[arg(long = "shard", value_name = "I/N")]
    pub shard: Option<crate::config::Shard>,

    /// Rules to run (default: every installed rule).
    #[arg(value_name = "RULE")]
    pub rules: Vec<String>,
}

impl Common {
    /// The config file to read: `--configfile`, else the default.
    pub fn configfile(&self) -> PathBuf {
        self.configfile
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIGFILE))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the installed rules: name, version, description, queries, interface, origin,
    /// sha256 and pin, source, manifest digest and signers, and the modules that failed to
    /// load or were refused.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Scaffold a rule crate: a working rule, a native unit test, test data and a README.
    NewRule(NewRuleArgs),
    /// Run one rule module locally against snapshot files, in the sandbox and limits of a
    /// real run; print its alerts, its new state and what it consumed. Exit 0 when the rule
    /// ran, 1 when it failed.
    TestRule(TestRuleArgs),
    /// Save the EDDA responses the rules read in a run (declared queries and the ones they
    /// make at run time) as snapshot files, for test-rule and `edda = "dir:<DIR>"`.
    Snapshot(SnapshotArgs),
    /// Serve a store `reddalert crawl` writes, read-only, over EDDA's HTTP API
    /// (`/edda/api/v2/...`), for other EDDA clients.
    ServeEdda(ServeEddaArgs),
    /// Install rules from their OCI registries (`[source]`): verify their signatures, then
    /// write each module and its entry in reddalert.lock. Exit 1 when a rule failed (it stays
    /// as it was installed).
    Pull(PullArgs),
    /// Publish a rule module to an OCI registry as a WebAssembly artifact, signed with --sign.
    Push(PushArgs),
    /// Sign a published module with a key (cosign's key-based format); a second signer signs
    /// beside the first.
    Sign(SignArgs),
    /// Read the account's AWS APIs and record what changed in its store
    /// (`edda = "store:<path>"`), as EDDA's crawler did: the cron job that stands in for an
    /// EDDA server. Exit 0 every collection recorded, 1 some failed (named on stderr), 2
    /// fatal (bad config, no AWS credentials, a store it cannot open or lock).
    Crawl(CrawlArgs),
}

/// `reddalert crawl`.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Crawl only shard i (from 0) of n of the config's accounts, as the run's `--shard`.
    #[arg(long = "shard", value_name = "I/N")]
    pub shard: Option<crate::config::Shard>,
}

/// `reddalert serve-edda`.
#[derive(Debug, Args)]
pub struct ServeEddaArgs {
    /// The store file (`edda = "store:<path>"` in a config).
    #[arg(long, value_name = "PATH")]
    pub store: PathBuf,

    /// Address to listen on; loopback unless another is given.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// Requests answered at once; more wait for a free thread.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,

    /// Answer a collection last crawled longer ago than this with a 503 (0: never).
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub max_staleness_minutes: u64,
}

/// `reddalert pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Rules to pull (default: every `[source]`).
    #[arg(value_name = "RULE")]
    pub rules: Vec<String>,

    /// Fetch exactly the manifests reddalert.lock names (a mirror, an air gap), verified with
    /// the signatures stored there.
    #[arg(long)]
    pub locked: bool,
}

/// `reddalert push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The rule module (.wasm).
    #[arg(value_name = "RULE.wasm")]
    pub module: PathBuf,

    /// Where to publish it: host/repository:tag.
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Sign it with this key (PEM PKCS#8 ECDSA P-256).
    #[arg(long, value_name = "KEY.pem")]
    pub sign: Option<PathBuf>,
}

/// `reddalert sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The published module: host/repository:tag or host/repository@sha256:....
    #[arg(value_name = "REF")]
    pub reference: String,

    /// The signing key (PEM PKCS#8 ECDSA P-256).
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
}

/// `reddalert new-rule`.
#[derive(Debug, Args)]
pub struct NewRuleArgs {
    /// The rule's name: lowercase letters, digits, '-' and '_', starting with a letter.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Directory of the new crate (default: ./<NAME>); must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// The reddalert-rule-sdk crate to depend on (default: rules/sdk of the source tree this
    /// reddalert was built from).
    #[arg(long, value_name = "DIR", env = "REDDALERT_SDK_PATH")]
    pub sdk_path: Option<PathBuf>,
}

/// `reddalert test-rule`.
#[derive(Debug, Args)]
pub struct TestRuleArgs {
    /// The rule module (.wasm).
    #[arg(value_name = "MODULE")]
    pub module: PathBuf,

    /// Directory of snapshot files, one per query (see `reddalert snapshot`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,

    /// The rule's config section, as JSON text or a JSON/TOML file; merged over the rule's
    /// defaults (and over its `plugin.<name>` section when --configfile is given).
    #[arg(long, value_name = "JSON|FILE")]
    pub config: Option<String>,

    /// The state of a previous run: a JSON file, or a reddalert status file.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Start of the window (default: the snapshot's, else 0).
    #[arg(short = 's', long, value_name = "TIME", value_parser = time_arg, long_help = format!("Start of the window (default: the snapshot's, else 0): {TIME_HELP}"))]
    pub since: Option<u64>,

    /// End of the window (default: the snapshot's, else now).
    #[arg(short = 'u', long, value_name = "TIME", value_parser = time_arg, long_help = format!("End of the window (default: the snapshot's, else now): {TIME_HELP}"))]
    pub until: Option<u64>,

    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `reddalert snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Directory to write the snapshot files to (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Start of the window (default: as a run would pick it).
    #[arg(short = 's', long, value_name = "TIME", value_parser = time_arg, long_help = format!("Start of the window (default: as a run would pick it): {TIME_HELP}"))]
    pub since: Option<u64>,

    /// End of the window (default: now minus the configured lag).
    #[arg(short = 'u', long, value_name = "TIME", value_parser = time_arg, long_help = format!("End of the window (default: now minus until_lag_seconds): {TIME_HELP}"))]
    pub until: Option<u64>,

    /// Status file to read the rules' states (and the stored `since`) from; never written.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub statusfile: Option<PathBuf>,

    /// EDDA base URL, instead of the config's `edda`.
    #[arg(short = 'e', long)]
    pub edda: Option<String>,

    /// The account (`[[account]]` of the config) whose EDDA and rule settings to use.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Rules whose reads to save (default: every installed rule).
    #[arg(value_name = "RULE")]
    pub rules: Vec<String>,
}
