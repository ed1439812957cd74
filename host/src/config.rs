//! The validated configuration of a run: the config file (TOML, or the original JSON shape)
//! with paths resolved against the file's directory, defaults filled in, command-line
//! overrides applied, and every value checked before anything runs.

mod accounts;
pub(crate) mod capabilities;
pub(crate) mod check;
mod crawl;
mod outputs;
mod raw;
mod registry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail, ensure};

use crate::contract::Limits;
pub use accounts::{Account, Shard, status_path};
pub use capabilities::{
    CapabilityConfig, ChefSettings, CredentialSource, Grant, NetSettings, S3Settings, SignVersion,
};
pub use crawl::CrawlSettings;
pub use outputs::{
    EsSettings, JsonlSettings, MailSettings, MetricsSettings, OcsfSettings, OutputSettings,
    Pushgateway, Retry, Severity, StdoutFormat, TlsMode, WaitingBounds, WebhookFormat,
    WebhookSettings, WebhookUrl, index_name, secret,
};
pub use raw::{RawConfig, RawLimits};
pub use registry::{RegistryConfig, RegistrySettings, TrustLevel, TrustSettings};

/// Where EDDA data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EddaSource {
    /// A live EDDA; the base URL up to (excluding) `/v2`.
    Http(String),
    /// A directory of snapshot files, one per query (the demo account, offline tests).
    Snapshot(PathBuf),
    /// The SQLite store `reddalert crawl` writes (`store:<path>`).
    Store(PathBuf),
}

/// The outputs alerts can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The original's `Rule:/Subject:/Alert:` blocks.
    Stdout,
    /// One `plugin<TAB>id<TAB>details` line per alert.
    StdoutTabsep,
    /// One JSON object per line.
    StdoutJson,
    /// One digest mail per run (`mail`, or the original's `mail_txt` and `mail_html`).
    Mail,
    /// Documents indexed through Elasticsearch's `_bulk` API.
    Elasticsearch,
    /// JSON lines appended to a file.
    Jsonl,
    /// One JSON document POSTed per run.
    Webhook,
    /// OCSF Detection Findings appended to a file as JSON lines.
    Ocsf,
}

/// Every output name `output` accepts.
const OUTPUT_NAMES: &str = "stdout, stdout_tabsep, stdout_json, mail (mail_txt, mail_html), \
     elasticsearch, jsonl, webhook, ocsf";

impl OutputKind {
    /// Every output, in the order their settings are validated.
    pub const ALL: [OutputKind; 8] = [
        OutputKind::Stdout,
        OutputKind::StdoutTabsep,
        OutputKind::StdoutJson,
        OutputKind::Mail,
        OutputKind::Elasticsearch,
        OutputKind::Jsonl,
        OutputKind::Webhook,
        OutputKind::Ocsf,
    ];

    /// A comma-separated list of output names, as the original's `output` key and `-o` take
    /// it (spaces around names and empty items ignored); at least one must be named.
    pub fn parse_list(text: &str) -> Result<Vec<OutputKind>> {
        let kinds = outputs::raw::OneOrMany::One(text.to_owned())
            .items()
            .iter()
            .map(|name| OutputKind::parse(name))
            .collect::<Result<Vec<_>>>()?;
        ensure!(
            !kinds.is_empty(),
            "no output is named, so every alert would be lost; name at least one of \
             {OUTPUT_NAMES}"
        );
        Ok(kinds)
    }

    fn parse(name: &str) -> Result<OutputKind> {
        Ok(match name {
            "stdout" => OutputKind::Stdout,
            "stdout_tabsep" => OutputKind::StdoutTabsep,
            "stdout_json" => OutputKind::StdoutJson,
            // The original sent one format or the other; ours sends both parts in one mail.
            "mail" | "mail_txt" | "mail_html" => OutputKind::Mail,
            "elasticsearch" => OutputKind::Elasticsearch,
            "jsonl" => OutputKind::Jsonl,
            "webhook" => OutputKind::Webhook,
            "ocsf" => OutputKind::Ocsf,
            other => bail!("unknown output {other:?}; known outputs: {OUTPUT_NAMES}"),
        })
    }

    /// The name alerts waiting for this output are filed under.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Stdout => "stdout",
            OutputKind::StdoutTabsep => "stdout_tabsep",
            OutputKind::StdoutJson => "stdout_json",
            OutputKind::Mail => "mail",
            OutputKind::Elasticsearch => "elasticsearch",
            OutputKind::Jsonl => "jsonl",
            OutputKind::Webhook => "webhook",
            OutputKind::Ocsf => "ocsf",
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub edda: EddaSource,
    /// The outputs of a run, in the order listed, each once, with its settings.
    pub outputs: Vec<OutputSettings>,
    pub store_until: bool,
    pub until_lag: Duration,
    pub rules_dir: PathBuf,
    pub cache_dir: Option<PathBuf>,
    pub parallelism: usize,
    pub edda_timeout: Duration,
    pub edda_max_response_bytes: u64,
    pub edda_queries_per_rule: u64,
    /// Bytes of data-dependent EDDA answers the run's cache keeps for the rules that ask
    /// them again; past it answers are handed over and not kept.
    pub edda_cache_bytes: u64,
    pub limits: Limits,
    pub rule_limits: BTreeMap<String, Limits>,
    pub rule_sections: BTreeMap<String, serde_json::Value>,
    /// Grants, call limits and the Chef and S3 settings of rules' capabilities.
    pub capabilities: CapabilityConfig,
    /// Bounds on alerts kept for outputs that did not accept them, per account.
    pub waiting: WaitingBounds,
    /// Expected sha256 of each rule's module (lowercase hex), by rule name.
    pub pins: BTreeMap<String, String>,
    /// The accounts of a run over several (`[[account]]`); empty for the single account of
    /// `edda`.
    pub accounts: Vec<Account>,
    /// Where each run's Prometheus metrics go, when `[metrics]` is set.
    pub metrics: Option<MetricsSettings>,
    /// Trust, registries and sources of pulled rules, and the lock beside the config file.
    pub registry: RegistryConfig,
    /// How `reddalert crawl` reaches AWS (`[crawl]`); an account's own is in its [`Account`].
    pub crawl: CrawlSettings,
}

/// Settings given on the command line, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub edda: Option<String>,
    pub output: Option<Vec<OutputKind>>,
    pub store_until: bool,
    pub rules_dir: Option<PathBuf>,
}

/// The lock of pulled rules, beside the config file.
pub const LOCK_FILE: &str = "reddalert.lock";

pub const DEFAULT_EDDA: &str = "http://localhost:8080/edda";

/// What the run's EDDA cache keeps of data-dependent answers by default, MiB.
pub const DEFAULT_EDDA_CACHE_MIB: u64 = 256;

/// Default limits of one guest call; generous for a 200 MB account, finite for a broken rule.
pub const DEFAULT_LIMITS: Limits = Limits {
    fuel: 50_000_000_000,
    memory_bytes: 2048 << 20,
    output_bytes: 64 << 20,
    timeout: Duration::from_secs(300),
    edda_call_bytes: 256 << 20,
    edda_run_bytes: 1024 << 20,
};

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read config file {}", path.display()))?;
        Config::from_text(path, &text, overrides)
    }

    /// Parses and validates the text of the config file at `path`.
    pub fn from_text(path: &Path, text: &str, overrides: &Overrides) -> Result<Config> {
        let raw = parse(path, text)
            .with_context(|| format!("failed to parse config file {}", path.display()))?;
        Config::from_raw(path, raw, overrides)
            .with_context(|| format!("invalid config file {}", path.display()))
    }

    /// The default settings, as if an empty config file sat in the working directory (for
    /// `reddalert rules --rules-dir DIR` without a config file).
    pub fn defaults(overrides: &Overrides) -> Result<Config> {
        Config::from_raw(
            Path::new("(no config file)"),
            RawConfig::default(),
            overrides,
        )
    }

    fn from_raw(path: &Path, mut raw: RawConfig, overrides: &Overrides) -> Result<Config> {
        // Absolute, so the paths mean the same whatever the working directory (wasmtime's
        // cache insists on it too). A bare file name's directory is the working directory.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let base = std::path::absolute(dir)
            .with_context(|| format!("failed to resolve the directory of {}", path.display()))?;
        let resolve = |p: &str| {
            if Path::new(p).is_absolute() {
                PathBuf::from(p)
            } else {
                base.join(p)
            }
        };
        let edda = overrides
            .edda
            .clone()
            .or_else(|| raw.edda.clone())
            .unwrap_or_else(|| DEFAULT_EDDA.to_owned());
        let edda = parse_edda(&edda, &resolve)?;
        let top_crawl = raw.crawl.clone().unwrap_or_default();
        let env = |name: &str| std::env::var(name).ok();
        let crawl = CrawlSettings::from_raw(&top_crawl, &env).context("invalid key `crawl`")?;
        let accounts = accounts::parse(
            &raw.account,
            raw.edda.is_some(),
            &|e| parse_edda(e, &resolve),
            &|own| CrawlSettings::from_raw(&top_crawl.overridden_by(own), &env),
        )?;
        let capabilities = CapabilityConfig::from_raw(&mut raw, &resolve)?;
        let listed = match (&overrides.output, &raw.output) {
            (Some(cli), _) => cli.clone(),
            (None, Some(file)) => file
                .items()
                .iter()
                .map(|name| OutputKind::parse(name))
                .collect::<Result<Vec<_>>>()
                .context("invalid key `output`")?,
            (None, None) => vec![OutputKind::Stdout],
        };
        ensure!(
            !listed.is_empty(),
            "invalid key `output`: no output is named, so every alert would be lost; name at \
             least one of {OUTPUT_NAMES}"
        );
        let mut kinds = Vec::new();
        for kind in listed {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let outputs = outputs::chosen(&raw, &kinds, &resolve)?;
        let waiting = outputs::waiting_bounds(&raw)?;
        let metrics = outputs::metrics(&raw, &resolve)?;
        let rules_dir = match &overrides.rules_dir {
            Some(dir) => dir.clone(),
            None => resolve(raw.rules_dir.as_deref().unwrap_or("rules")),
        };
        let cache_dir = match raw.cache_dir.as_deref() {
            Some("") => None,
            Some(dir) => Some(resolve(dir)),
            None => default_cache_dir(),
        };
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let parallelism = check::within("parallelism", raw.parallelism, cpus, 1..=256)?;
        let raw_limits = raw.limits.unwrap_or_default();
        let limits = apply_limits(DEFAULT_LIMITS, &raw_limits).context("invalid key `limits`")?;
        let mut rule_limits = BTreeMap::new();
        for (name, over) in &raw_limits.rule {
            ensure!(
                over.rule.is_empty(),
                "invalid key `limits.rule.{name}.rule`: overrides do not nest"
            );
            let l = apply_limits(limits, over)
                .with_context(|| format!("invalid key `limits.rule.{name}`"))?;
            rule_limits.insert(name.clone(), l);
        }
        let registry = registry::parse(
            raw.trust.take(),
            raw.registry.take(),
            std::mem::take(&mut raw.source),
            base.join(LOCK_FILE),
            &resolve,
        )?;
        for (name, section) in &raw.plugin {
            ensure!(
                section.is_object(),
                "invalid key `plugin.{name}`: must be a table/object of rule settings"
            );
        }
        Ok(Config {
            edda,
            outputs,
            store_until: overrides.store_until || raw.store_until.unwrap_or(false),
            until_lag: Duration::from_secs(check::within(
                "until_lag_seconds",
                raw.until_lag_seconds,
                300,
                0..=86_400,
            )?),
            rules_dir,
            cache_dir,
            parallelism,
            edda_timeout: Duration::from_secs(check::within(
                "edda_timeout_seconds",
                raw.edda_timeout_seconds,
                60,
                1..=3600,
            )?),
            edda_max_response_bytes: check::within(
                "edda_max_response_mib",
                raw.edda_max_response_mib,
                1024,
                1..=65_536,
            )? << 20,
            edda_queries_per_rule: check::within(
                "edda_queries_per_rule",
                raw.edda_queries_per_rule,
                10_000,
                0..=10_000_000,
            )?,
            edda_cache_bytes: check::within(
                "edda_cache_mib",
                raw.edda_cache_mib,
                DEFAULT_EDDA_CACHE_MIB,
                0..=65_536,
            )? << 20,
            limits,
            rule_limits,
            capabilities,
            rule_sections: raw.plugin,
            waiting,
            pins: parse_pins(raw.pin)?,
            accounts,
            metrics,
            registry,
            crawl,
        })
    }

    /// The settings of one account's share of the run: its EDDA, its rule sections over the
    /// top-level ones, its crawl settings, and `threads` of the run's rule parallelism.
    pub fn for_account(&self, account: &Account, threads: usize) -> Config {
        Config {
            edda: account.edda.clone(),
            rule_sections: account.sections_over(&self.rule_sections),
            crawl: account.crawl.clone(),
            parallelism: threads.max(1),
            accounts: Vec::new(),
            ..self.clone()
        }
    }

    /// The limits of one rule: its override, else the defaults.
    pub fn limits_for(&self, rule: &str) -> Limits {
        self.rule_limits.get(rule).copied().unwrap_or(self.limits)
    }

    /// The kinds of the run's outputs, in order.
    pub fn output_kinds(&self) -> Vec<OutputKind> {
        self.outputs.iter().map(OutputSettings::kind).collect()
    }
}

/// A rule's config as it sees it: top-level keys of its `plugin.<name>` section replace the
/// defaults it declares.
pub fn merge_rule_config(
    defaults: &serde_json::Value,
    section: Option<&serde_json::Value>,
) -> serde_json::Value {
    let mut merged = defaults.as_object().cloned().unwrap_or_default();
    if let Some(serde_json::Value::Object(section)) = section {
        merged.extend(section.clone());
    }
    serde_json::Value::Object(merged)
}

/// TOML unless the file is `.json` or starts with `{` (the original's format).
fn parse(path: &Path, text: &str) -> Result<RawConfig> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if is_json {
        raw::parse_json(text)
    } else {
        raw::parse_toml(text)
    }
    .map_err(|msg| anyhow!(msg))
}

/// Pins are sha256 digests as `sha256sum` and `reddalert rules` print them.
fn parse_pins(pins: BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (rule, hash) in pins {
        let hash = hash.trim().to_ascii_lowercase();
        ensure!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "invalid key `pin.{rule}`: expected a sha256 of 64 hex digits (as `reddalert rules` prints it), got {hash:?}"
        );
        out.insert(rule, hash);
    }
    Ok(out)
}

fn parse_edda(value: &str, resolve: &dyn Fn(&str) -> PathBuf) -> Result<EddaSource> {
    if let Some(dir) = value.strip_prefix("dir:") {
        return Ok(EddaSource::Snapshot(resolve(dir)));
    }
    if let Some(store) = value.strip_prefix("store:") {
        ensure!(
            !store.is_empty(),
            "invalid key `edda`: `store:` needs the path of the store file (store:<path>)"
        );
        return Ok(EddaSource::Store(resolve(store)));
    }
    ensure!(
        value.starts_with("http://") || value.starts_with("https://"),
        "invalid key `edda`: {value:?} is neither an http(s) URL, `dir:<snapshot directory>` \
         nor `store:<store file>`"
    );
    Ok(EddaSource::Http(value.trim_end_matches('/').to_owned()))
}

/// The most fuel a call may be given (about an hour of CPU); more could not be told from
/// "unlimited" and risks the counter's arithmetic.
const MAX_FUEL: u64 = 1 << 50;
/// A day: no rule should run longer, and larger values overflow deadline arithmetic.
const MAX_RULE_SECONDS: f64 = 86_400.0;

fn apply_limits(mut limits: Limits, raw: &RawLimits) -> Result<Limits> {
    limits.fuel = check::within("fuel", raw.fuel, limits.fuel, 1..=MAX_FUEL)?;
    // wasm32's ceiling is 4 GiB of linear memory; output above it could not be built.
    let mib = |bytes: usize| (bytes >> 20) as u64;
    limits.memory_bytes = (check::within(
        "memory_mib",
        raw.memory_mib,
        mib(limits.memory_bytes),
        1..=4096,
    )? as usize)
        << 20;
    limits.output_bytes = (check::within(
        "output_mib",
        raw.output_mib,
        mib(limits.output_bytes),
        1..=4096,
    )? as usize)
        << 20;
    limits.timeout = check::seconds(
        "timeout_seconds",
        raw.timeout_seconds,
        limits.timeout.as_secs_f64(),
        MAX_RULE_SECONDS,
    )?;
    limits.edda_call_bytes = check::within(
        "edda_call_mib",
        raw.edda_call_mib,
        limits.edda_call_bytes >> 20,
        1..=4096,
    )? << 20;
    limits.edda_run_bytes = check::within(
        "edda_run_mib",
        raw.edda_run_mib,
        limits.edda_run_bytes >> 20,
        1..=65_536,
    )? << 20;
    Ok(limits)
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("reddalert"))
}

#[cfg(test)]
mod tests;
