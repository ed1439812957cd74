//! The output sections as written in the config file (TOML tables, or JSON objects in the
//! original's format). Every key is optional here; [`super::settings`] fills in defaults and
//! checks what belongs together.

use serde::Deserialize;

/// `[mail]`: the digest mailed once per run.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    /// SMTP relay host (default `localhost`; the original's `smtp_host`).
    pub host: Option<String>,
    /// SMTP port (default 25, or 465 with `tls = "tls"`).
    pub port: Option<u16>,
    /// Sender (default `reddalert@localhost`; the original's `email_from`).
    pub from: Option<String>,
    /// Recipients, a list or a comma-separated string (default `["root@localhost"]`; the
    /// original's `email_to`).
    pub to: Option<OneOrMany>,
    /// Subject, or its prefix with `subject_summary` (default `[reddalert] Report`; the
    /// original's `email_subject`).
    pub subject: Option<String>,
    /// Append how many alerts of which rules to the subject (default true).
    pub subject_summary: Option<bool>,
    /// `none` (default, as the original), `starttls`, or `tls` (implicit TLS).
    pub tls: Option<TlsMode>,
    /// SMTP AUTH user name; needs `password_env`.
    pub username: Option<String>,
    /// Name of the environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// Allow AUTH on a connection without TLS (a relay on a trusted link only).
    pub allow_plaintext_auth: Option<bool>,
    /// PEM file of extra CA certificates to trust for the relay, relative to the config file.
    pub ca_file: Option<String>,
    /// Send a digest saying "no alerts" when there is nothing to report (default false).
    pub send_empty: Option<bool>,
    /// SMTP timeout, seconds (default 30).
    pub timeout_seconds: Option<f64>,
}

/// How the SMTP connection is protected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP, as the original.
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// `[elasticsearch]`: documents indexed through the `_bulk` API.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElasticsearch {
    /// Base URL, e.g. `https://es.example.com:9200` (default `http://<es_host>:<es_port>`,
    /// the original's keys, themselves defaulting to `localhost` and 9200).
    pub url: Option<String>,
    /// Index name; strftime fields (`reddalert-%Y.%m.%d`) take the alert's date in UTC
    /// (default `reddalert`, the original's).
    pub index: Option<String>,
    /// Basic auth user name; needs `password_env`.
    pub username: Option<String>,
    /// Name of the environment variable holding the basic auth password.
    pub password_env: Option<String>,
    /// Name of the environment variable holding an API key (`Authorization: ApiKey ...`).
    pub api_key_env: Option<String>,
    /// PEM file of extra CA certificates to trust, relative to the config file.
    pub ca_file: Option<String>,
    /// Request timeout, seconds (default 30).
    pub timeout_seconds: Option<f64>,
    /// Retries of items (or requests) answered 429 or 5xx (default 3).
    pub retries: Option<u32>,
    /// Pause before the first retry, doubled after each, milliseconds (default 500).
    pub backoff_ms: Option<u64>,
}

/// `[jsonl]`: alerts appended to a file as JSON lines.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonl {
    /// The file, relative to the config file; created when missing.
    pub path: Option<String>,
}

/// `[ocsf]`: alerts appended to a file as OCSF Detection Findings, one JSON line each.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOcsf {
    /// The file, relative to the config file; created when missing.
    pub path: Option<String>,
    /// Severity by rule name (`informational`, `low`, `medium`, `high`, `critical`), over the
    /// stock rules' defaults.
    #[serde(default)]
    pub severity: std::collections::BTreeMap<String, String>,
}

/// `[webhook]`: one JSON document POSTed per run.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// The URL to POST to.
    pub url: Option<String>,
    /// Or the name of the environment variable holding it (a Slack URL is a secret).
    pub url_env: Option<String>,
    /// `json` (default: the run and its alerts) or `slack` (`{"text": ...}`).
    pub format: Option<WebhookFormat>,
    /// Name of the environment variable holding a bearer token, sent as `Authorization`.
    pub token_env: Option<String>,
    /// POST even when there is nothing to report (default false).
    pub send_empty: Option<bool>,
    /// Request timeout, seconds (default 10).
    pub timeout_seconds: Option<f64>,
    /// Retries after a failure or a 429/5xx answer (default 2).
    pub retries: Option<u32>,
    /// Pause before the first retry, doubled after each, milliseconds (default 1000).
    pub backoff_ms: Option<u64>,
}

/// The webhook's payload.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"source", "run", "count", "alerts": [...]}`.
    #[default]
    Json,
    /// Slack's incoming-webhook payload, `{"text": "..."}` (Mattermost and others accept it).
    Slack,
}

/// A list, or (as the original wrote it) one comma-separated string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            OneOrMany::Many(v) => v.iter().map(|s| s.trim().to_owned()).collect(),
        }
    }
}
