//! The config file as written: TOML (our format) or the original reddalert's JSON. Both parse
//! into [`RawConfig`]; unknown keys are errors so that a typo never silently changes what a
//! security tool checks.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::outputs::raw::OneOrMany;

/// One config file, before validation. Keys marked "original" keep the original's names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// (original) EDDA base URL, e.g. `http://localhost:8080/edda`, or `dir:<path>` for a
    /// directory of snapshot files.
    pub edda: Option<String>,
    /// (original) Outputs: a list, or a comma-separated string as in the original.
    pub output: Option<OneOrMany>,
    /// (original) Store each run's `until` as the next run's `since`.
    #[serde(rename = "store-until")]
    pub store_until: Option<bool>,
    /// Seconds between now and the default `until` (EDDA's crawl race; default 300).
    pub until_lag_seconds: Option<u64>,
    /// Directory of rule modules (`*.wasm`), relative to this file.
    pub rules_dir: Option<String>,
    /// Directory of wasmtime's compilation cache, relative to this file; `""` disables it.
    pub cache_dir: Option<String>,
    /// Rules evaluated at once (default: the number of CPUs).
    pub parallelism: Option<usize>,
    /// EDDA request timeout in seconds (default 60).
    pub edda_timeout_seconds: Option<u64>,
    /// Largest EDDA response accepted, MiB (default 1024).
    pub edda_max_response_mib: Option<u64>,
    /// Data-dependent EDDA queries a rule may make per run (default 10000).
    pub edda_queries_per_rule: Option<u64>,
    /// Data-dependent EDDA answers the run's cache keeps, MiB (default 256); past it they are
    /// handed to the rule that asked and not kept.
    pub edda_cache_mib: Option<u64>,
    /// Limits of every guest call, with per-rule overrides.
    pub limits: Option<RawLimits>,
    /// (original) Elasticsearch host, for the `elasticsearch` output.
    pub es_host: Option<String>,
    /// (original) Elasticsearch port.
    pub es_port: Option<u16>,
    /// (original) Sender of the mail digest.
    pub email_from: Option<String>,
    /// (original) Recipients of the mail digest.
    pub email_to: Option<OneOrMany>,
    /// (original) Subject of the mail digest.
    pub email_subject: Option<String>,
    /// (original) SMTP relay host.
    pub smtp_host: Option<String>,
    /// The mail digest (`[mail]`); the original's `email_*` and `smtp_host` keys still work.
    pub mail: Option<super::outputs::raw::RawMail>,
    /// The Elasticsearch output (`[elasticsearch]`); `es_host` and `es_port` still work.
    pub elasticsearch: Option<super::outputs::raw::RawElasticsearch>,
    /// The JSON-lines file output (`[jsonl]`).
    pub jsonl: Option<super::outputs::raw::RawJsonl>,
    /// The OCSF findings file output (`[ocsf]`).
    pub ocsf: Option<super::outputs::raw::RawOcsf>,
    /// The webhook output (`[webhook]`).
    pub webhook: Option<super::outputs::raw::RawWebhook>,
    /// Prometheus metrics of each run (`[metrics]`): a textfile, a Pushgateway, or both.
    pub metrics: Option<super::outputs::metrics::RawMetrics>,
    /// Alerts kept per account for outputs that did not accept them (default 10000); past it
    /// the oldest are moved to a dead-letter file beside the status file.
    pub max_waiting_alerts: Option<usize>,
    /// Bytes of the alerts kept per account for outputs, MiB (default 64); past it the
    /// largest are moved to the dead-letter file.
    pub max_waiting_mib: Option<u64>,
    /// Bytes of one alert's id and details, KiB (default 1024); larger details are cut.
    pub max_alert_kib: Option<u64>,
    /// Bytes of an account's dead-letter file, MiB (default 256); past it alerts moved out of
    /// the waiting list are not written.
    pub max_dead_letter_mib: Option<u64>,
    /// (original) Per-rule config sections: `[plugin.<name>]` in TOML, `"plugin.<name>"` in
    /// the original JSON.
    #[serde(default)]
    pub plugin: BTreeMap<String, serde_json::Value>,
    /// Expected sha256 (hex) of each rule's module, by rule name: `[pin] secgroups = "…"` in
    /// TOML, `"pin": {"secgroups": "…"}` in JSON. A module whose hash differs is not run.
    #[serde(default)]
    pub pin: BTreeMap<String, String>,
    /// Defaults of every rule's capability calls (timeouts, caps, per-run call limits).
    pub capabilities: Option<super::capabilities::RawCapabilities>,
    /// What each rule may reach beyond EDDA: `[grant.<rule>]` in TOML, `"grant": {"<rule>": …}`
    /// or `"grant.<rule>"` in JSON. A rule without a grant gets nothing.
    #[serde(default)]
    pub grant: BTreeMap<String, super::capabilities::RawGrant>,
    /// The Chef server of the `chef` capability.
    pub chef: Option<super::capabilities::RawChef>,
    /// The S3 API of the `s3` capability.
    pub s3: Option<super::capabilities::RawS3>,
    /// How `reddalert crawl` reaches AWS: `[crawl]` in TOML, `"crawl": {...}` in JSON.
    pub crawl: Option<super::crawl::RawCrawl>,
    /// The AWS accounts of the run, one EDDA each: `[[account]]` in TOML, `"account": [...]`
    /// in JSON. None: the single account of `edda`.
    #[serde(default)]
    pub account: Vec<super::accounts::RawAccount>,
    /// What a module must show before it is loaded (`[trust]`: a pin, a lock entry, signers).
    pub trust: Option<super::registry::RawTrust>,
    /// How `pull` and `push` reach OCI registries (`[registry]`).
    pub registry: Option<super::registry::RawRegistry>,
    /// Each pulled rule's OCI reference, by rule name: `[source] elbs = "host/repo:tag"`.
    #[serde(default)]
    pub source: BTreeMap<String, String>,
}

/// Guest call limits; every field optional so that overrides name only what they change.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Wasm fuel per call (roughly instructions).
    pub fuel: Option<u64>,
    /// Linear memory per call, MiB.
    pub memory_mib: Option<u64>,
    /// Alerts and state a rule may return, MiB.
    pub output_mib: Option<u64>,
    /// Wall-clock deadline per call, seconds (fractions allowed).
    pub timeout_seconds: Option<f64>,
    /// Data-dependent EDDA answers one host call (`fetch` or a whole `fetch-many`) may hand
    /// a rule, MiB (default 256).
    pub edda_call_mib: Option<u64>,
    /// Data-dependent EDDA answers a rule may be handed per run, MiB (default 1024).
    pub edda_run_mib: Option<u64>,
    /// Per-rule overrides: `[limits.rule.<name>]`.
    #[serde(default)]
    pub rule: BTreeMap<String, RawLimits>,
}

/// Parses TOML, keeping toml's line and column in errors.
pub fn parse_toml(text: &str) -> Result<RawConfig, String> {
    toml::from_str(text).map_err(|err| err.to_string())
}

/// Parses the original JSON shape: `"plugin.<name>"` keys become `plugin` sections.
pub fn parse_json(text: &str) -> Result<RawConfig, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|err| format!("line {} column {}: {err}", err.line(), err.column()))?;
    let serde_json::Value::Object(map) = value else {
        return Err("the top level must be a JSON object".into());
    };
    let mut plugins = serde_json::Map::new();
    let mut grants = serde_json::Map::new();
    let mut rest = serde_json::Map::new();
    for (key, value) in map {
        if let Some(rule) = key.strip_prefix("grant.") {
            grants.insert(rule.to_owned(), value);
            continue;
        }
        match key.strip_prefix("plugin.") {
            Some(name) => {
                plugins.insert(name.to_owned(), value);
            }
            None => {
                rest.insert(key, value);
            }
        }
    }
    if rest.contains_key("plugin") {
        return Err(
            "unknown key `plugin` (the JSON format writes sections as \"plugin.<name>\")".into(),
        );
    }
    rest.insert("plugin".into(), serde_json::Value::Object(plugins));
    if !grants.is_empty() {
        // `"grant.<rule>"` keys join a `"grant"` object, if there is one.
        match rest.entry("grant").or_insert_with(|| serde_json::json!({})) {
            serde_json::Value::Object(all) => all.extend(grants),
            _ => return Err("`grant` must be an object of rule name -> grant".into()),
        }
    }
    serde_json::from_value(serde_json::Value::Object(rest)).map_err(|err| err.to_string())
}
