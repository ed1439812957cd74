//! Settings of the outputs (stdout, mail, Elasticsearch, a JSON-lines file, a webhook, a file
//! of OCSF findings) and of the delivery guarantee, parsed once at load into one
//! [`OutputSettings`] per listed output. Outputs that reach other systems have a section of
//! their own (`[mail]`, `[elasticsearch]`, `[jsonl]`, `[webhook]`, `[ocsf]`); the original's
//! flat keys (`email_from`, `smtp_host`, `es_host`, ...) keep working and fill in the same
//! settings, and giving both spellings of one setting is an error rather than a silent choice.
//! Secrets are never in the file: it names the environment variables that hold them, read when
//! the run starts.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};

use super::OutputKind;
use super::raw::RawConfig;

pub(super) mod metrics;
mod ocsf;
pub(super) mod raw;

pub use metrics::{MetricsSettings, Pushgateway};
pub use ocsf::{OcsfSettings, Severity};
use raw::RawWebhook;
pub use raw::{TlsMode, WebhookFormat};

/// The original's defaults.
const DEFAULT_FROM: &str = "reddalert@localhost";
const DEFAULT_TO: &str = "root@localhost";
const DEFAULT_SUBJECT: &str = "[reddalert] Report";
const DEFAULT_SMTP_HOST: &str = "localhost";
const DEFAULT_ES_HOST: &str = "localhost";
const DEFAULT_ES_PORT: u16 = 9200;
const DEFAULT_INDEX: &str = "reddalert";
/// Waiting alerts kept by default: a few days of a noisy account behind a broken relay.
pub const DEFAULT_MAX_WAITING: usize = 10_000;

/// What may wait for outputs in one account's status file, and what its dead-letter file may
/// hold: past a bound, alerts are moved out of the way (and said so), never left to fill the
/// disk under the status file, whose save must stay possible for every honest rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitingBounds {
    /// Alerts waiting per account (`max_waiting_alerts`); past it the oldest are moved to the
    /// dead-letter file.
    pub alerts: usize,
    /// Bytes of the alerts waiting per account (`max_waiting_mib`); past it the largest are
    /// moved to the dead-letter file.
    pub bytes: u64,
    /// Bytes of one alert's id and details (`max_alert_kib`); larger details are cut to it.
    pub alert_bytes: u64,
    /// Bytes of an account's dead-letter file (`max_dead_letter_mib`); what no longer fits is
    /// not written, and said so.
    pub dead_letter_bytes: u64,
}

/// The bounds on what waits, by default.
pub const DEFAULT_WAITING_BOUNDS: WaitingBounds = WaitingBounds {
    alerts: DEFAULT_MAX_WAITING,
    bytes: 64 << 20,
    alert_bytes: 1 << 20,
    dead_letter_bytes: 256 << 20,
};

/// One output a run delivers to, with its validated settings: the variant is the kind.
#[derive(Debug, Clone)]
pub enum OutputSettings {
    /// `stdout`, `stdout_tabsep` or `stdout_json`.
    Stdout(StdoutFormat),
    Mail(MailSettings),
    Elasticsearch(EsSettings),
    Jsonl(JsonlSettings),
    Webhook(WebhookSettings),
    Ocsf(OcsfSettings),
}

impl OutputSettings {
    pub fn kind(&self) -> OutputKind {
        match self {
            OutputSettings::Stdout(format) => format.kind(),
            OutputSettings::Mail(_) => OutputKind::Mail,
            OutputSettings::Elasticsearch(_) => OutputKind::Elasticsearch,
            OutputSettings::Jsonl(_) => OutputKind::Jsonl,
            OutputSettings::Webhook(_) => OutputKind::Webhook,
            OutputSettings::Ocsf(_) => OutputKind::Ocsf,
        }
    }
}

/// How the stdout outputs print an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutFormat {
    /// The original's `Rule:/Subject:/Alert:` blocks (`stdout`).
    Blocks,
    /// One `plugin<TAB>id<TAB>details` line (`stdout_tabsep`).
    Tabsep,
    /// One JSON object per line (`stdout_json`).
    Json,
}

impl StdoutFormat {
    pub fn kind(self) -> OutputKind {
        match self {
            StdoutFormat::Blocks => OutputKind::Stdout,
            StdoutFormat::Tabsep => OutputKind::StdoutTabsep,
            StdoutFormat::Json => OutputKind::StdoutJson,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Append "N alerts: rule (n), ..." to `subject` (else `subject` is used as is).
    pub subject_summary: bool,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub send_empty: bool,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EsSettings {
    /// Base URL without a trailing slash.
    pub url: String,
    /// Index name; `%Y`, `%m`, `%d` ... are replaced with the alert's date (UTC).
    pub index: String,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub api_key_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry: Retry,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JsonlSettings {
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: WebhookUrl,
    pub format: WebhookFormat,
    pub token_env: Option<String>,
    pub send_empty: bool,
    pub timeout: Duration,
    pub retry: Retry,
}

/// A webhook URL, or the environment variable holding it (Slack's URLs are secrets).
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookUrl {
    Literal(String),
    Env(String),
}

/// Retries after a failed attempt, with a doubling pause.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    pub retries: u32,
    pub backoff: Duration,
}

/// The settings of the outputs in `kinds`, in that order. Every section is validated, listed
/// or not, so that a typo shows before the day the output is switched on; a listed output
/// whose section is missing is an error naming the section and its required key.
pub fn chosen(
    raw: &RawConfig,
    kinds: &[OutputKind],
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Vec<OutputSettings>> {
    let mut chosen = Vec::new();
    for kind in OutputKind::ALL {
        let listed = kinds.contains(&kind);
        if let Some(settings) = settings(kind, listed, raw, resolve)?
            && listed
        {
            chosen.push(settings);
        }
    }
    chosen.sort_by_key(|s| kinds.iter().position(|k| *k == s.kind()));
    Ok(chosen)
}

/// The settings of one output kind: `None` when its section is absent and it is not `listed`.
fn settings(
    kind: OutputKind,
    listed: bool,
    raw: &RawConfig,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<OutputSettings>> {
    Ok(Some(match kind {
        OutputKind::Stdout => OutputSettings::Stdout(StdoutFormat::Blocks),
        OutputKind::StdoutTabsep => OutputSettings::Stdout(StdoutFormat::Tabsep),
        OutputKind::StdoutJson => OutputSettings::Stdout(StdoutFormat::Json),
        OutputKind::Mail => {
            OutputSettings::Mail(mail(raw, resolve).context("invalid mail settings")?)
        }
        OutputKind::Elasticsearch => OutputSettings::Elasticsearch(
            elasticsearch(raw, resolve).context("invalid elasticsearch settings")?,
        ),
        OutputKind::Jsonl => match &raw.jsonl {
            Some(j) => {
                let path = j.path.as_deref().filter(|p| !p.is_empty());
                let path =
                    path.context("invalid key `jsonl.path`: required, the file to append to")?;
                OutputSettings::Jsonl(JsonlSettings {
                    path: resolve(path),
                })
            }
            None if listed => bail!(
                "output \"jsonl\" appends to a file and needs a [jsonl] section with `path` \
                 (JSON lines on stdout are the \"stdout_json\" output)"
            ),
            None => return Ok(None),
        },
        OutputKind::Webhook => match &raw.webhook {
            Some(w) => OutputSettings::Webhook(webhook(w).context("invalid webhook settings")?),
            None if listed => {
                bail!("output \"webhook\" needs a [webhook] section with `url` or `url_env`")
            }
            None => return Ok(None),
        },
        OutputKind::Ocsf => match &raw.ocsf {
            Some(o) => {
                OutputSettings::Ocsf(ocsf::settings(o, resolve).context("invalid ocsf settings")?)
            }
            None if listed => bail!(
                "output \"ocsf\" appends OCSF findings to a file and needs an [ocsf] section \
                 with `path`"
            ),
            None => return Ok(None),
        },
    }))
}

/// The bounds on alerts kept for outputs that did not accept them, per account.
pub fn waiting_bounds(raw: &RawConfig) -> Result<WaitingBounds> {
    use super::check::within;
    let d = DEFAULT_WAITING_BOUNDS;
    Ok(WaitingBounds {
        alerts: within(
            "max_waiting_alerts",
            raw.max_waiting_alerts,
            d.alerts,
            0..=10_000_000,
        )?,
        bytes: within(
            "max_waiting_mib",
            raw.max_waiting_mib,
            d.bytes >> 20,
            1..=65_536,
        )? << 20,
        alert_bytes: within(
            "max_alert_kib",
            raw.max_alert_kib,
            d.alert_bytes >> 10,
            16..=65_536,
        )? << 10,
        dead_letter_bytes: within(
            "max_dead_letter_mib",
            raw.max_dead_letter_mib,
            d.dead_letter_bytes >> 20,
            0..=1_048_576,
        )? << 20,
    })
}

/// Validates `[metrics]`, when there is one.
pub fn metrics(
    raw: &RawConfig,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<MetricsSettings>> {
    raw.metrics
        .as_ref()
        .map(|m| metrics::settings(m, resolve))
        .transpose()
}

/// One setting that has an original flat key and a key in a section: at most one may be given.
fn either<T: Clone>(
    flat: Option<&T>,
    flat_key: &str,
    section: Option<&T>,
    key: &str,
) -> Result<Option<T>> {
    match (flat, section) {
        (Some(_), Some(_)) => bail!("`{flat_key}` and `{key}` set the same thing; keep one"),
        (a, b) => Ok(a.or(b).cloned()),
    }
}

fn mail(raw: &RawConfig, resolve: &dyn Fn(&str) -> PathBuf) -> Result<MailSettings> {
    let m = raw.mail.clone().unwrap_or_default();
    let host = either(
        raw.smtp_host.as_ref(),
        "smtp_host",
        m.host.as_ref(),
        "mail.host",
    )?
    .unwrap_or_else(|| DEFAULT_SMTP_HOST.to_owned());
    let from = either(
        raw.email_from.as_ref(),
        "email_from",
        m.from.as_ref(),
        "mail.from",
    )?
    .unwrap_or_else(|| DEFAULT_FROM.to_owned());
    let to = either(raw.email_to.as_ref(), "email_to", m.to.as_ref(), "mail.to")?
        .map_or_else(|| vec![DEFAULT_TO.to_owned()], |t| t.items());
    let subject = either(
        raw.email_subject.as_ref(),
        "email_subject",
        m.subject.as_ref(),
        "mail.subject",
    )?
    .unwrap_or_else(|| DEFAULT_SUBJECT.to_owned());
    ensure!(!to.is_empty(), "`mail.to` lists no recipient");
    for address in std::iter::once(&from).chain(&to) {
        address
            .parse::<lettre::message::Mailbox>()
            .with_context(|| format!("{address:?} is not a mail address"))?;
    }
    let (host, host_port) = split_host_port(&host)?;
    ensure!(!host.is_empty(), "the SMTP host is empty");
    let tls = m.tls.unwrap_or_default();
    let port = match (m.port, host_port) {
        (Some(a), Some(b)) if a != b => {
            bail!("the SMTP host names port {b} and `mail.port` says {a}; keep one")
        }
        (Some(port), _) | (None, Some(port)) => port,
        (None, None) => match tls {
            TlsMode::Tls => 465,
            TlsMode::None | TlsMode::Starttls => 25,
        },
    };
    ensure!(
        m.username.is_some() == m.password_env.is_some(),
        "`mail.username` and `mail.password_env` go together"
    );
    if m.username.is_some() && tls == TlsMode::None && !m.allow_plaintext_auth.unwrap_or(false) {
        bail!(
            "`mail.username` with `tls = \"none\"` would send the password in clear; use \
             `tls = \"starttls\"` or `\"tls\"`, or set `allow_plaintext_auth = true` for a relay \
             on a trusted link"
        );
    }
    Ok(MailSettings {
        host,
        port,
        from,
        to,
        subject,
        subject_summary: m.subject_summary.unwrap_or(true),
        tls,
        username: m.username,
        password_env: m.password_env.map(env_name).transpose()?,
        ca_file: m.ca_file.as_deref().map(resolve),
        send_empty: m.send_empty.unwrap_or(false),
        timeout: seconds("mail.timeout_seconds", m.timeout_seconds, 30)?,
    })
}

fn elasticsearch(raw: &RawConfig, resolve: &dyn Fn(&str) -> PathBuf) -> Result<EsSettings> {
    let e = raw.elasticsearch.clone().unwrap_or_default();
    if e.url.is_some() && (raw.es_host.is_some() || raw.es_port.is_some()) {
        bail!("`es_host`/`es_port` and `elasticsearch.url` set the same thing; keep one");
    }
    let url = match (&e.url, &raw.es_host) {
        (Some(url), _) => url.clone(),
        // The original took a host name; a full URL there is accepted too.
        (None, Some(host)) if host.contains("://") => host.clone(),
        (None, host) => format!(
            "http://{}:{}",
            host.as_deref().unwrap_or(DEFAULT_ES_HOST),
            raw.es_port.unwrap_or(DEFAULT_ES_PORT)
        ),
    };
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{url:?} is not an http(s) URL"
    );
    let index = e.index.unwrap_or_else(|| DEFAULT_INDEX.to_owned());
    ensure!(
        !index.is_empty() && index_name(&index, 0).is_ok(),
        "`elasticsearch.index` {index:?} is not a valid index pattern"
    );
    ensure!(
        e.username.is_some() == e.password_env.is_some(),
        "`elasticsearch.username` and `elasticsearch.password_env` go together"
    );
    ensure!(
        !(e.username.is_some() && e.api_key_env.is_some()),
        "give either basic auth (`username`, `password_env`) or `api_key_env`, not both"
    );
    Ok(EsSettings {
        url: url.trim_end_matches('/').to_owned(),
        index,
        username: e.username,
        password_env: e.password_env.map(env_name).transpose()?,
        api_key_env: e.api_key_env.map(env_name).transpose()?,
        ca_file: e.ca_file.as_deref().map(resolve),
        timeout: seconds("elasticsearch.timeout_seconds", e.timeout_seconds, 30)?,
        retry: retry("elasticsearch", e.retries, e.backoff_ms, (3, 500))?,
    })
}

fn webhook(w: &RawWebhook) -> Result<WebhookSettings> {
    let url = match (&w.url, &w.url_env) {
        (Some(_), Some(_)) => bail!("give `webhook.url` or `webhook.url_env`, not both"),
        (Some(url), None) => {
            ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "`webhook.url` {url:?} is not an http(s) URL"
            );
            WebhookUrl::Literal(url.clone())
        }
        (None, Some(var)) => WebhookUrl::Env(env_name(var.clone())?),
        (None, None) => bail!("`webhook.url` or `webhook.url_env` is required"),
    };
    Ok(WebhookSettings {
        url,
        format: w.format.unwrap_or_default(),
        token_env: w.token_env.clone().map(env_name).transpose()?,
        send_empty: w.send_empty.unwrap_or(false),
        timeout: seconds("webhook.timeout_seconds", w.timeout_seconds, 10)?,
        retry: retry("webhook", w.retries, w.backoff_ms, (2, 1000))?,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, as the original's SMTP client read
/// `smtp_host` (a port after the only colon); a bare IPv6 address has no port.
fn split_host_port(text: &str) -> Result<(String, Option<u16>)> {
    let port = |p: &str| {
        p.parse::<u16>().ok().filter(|p| *p > 0).with_context(|| {
            format!("the SMTP host {text:?} has a port that is not a number from 1 to 65535")
        })
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, after) = rest
            .split_once(']')
            .with_context(|| format!("the SMTP host {text:?} has an unclosed `[`"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((addr.to_owned(), Some(port(p)?))),
            None if after.is_empty() => Ok((addr.to_owned(), None)),
            None => bail!("the SMTP host {text:?} has text after `]`"),
        };
    }
    match text.split_once(':') {
        Some((host, p)) if !p.contains(':') => Ok((host.to_owned(), Some(port(p)?))),
        _ => Ok((text.to_owned(), None)),
    }
}

fn env_name(name: String) -> Result<String> {
    ensure!(
        !name.is_empty() && !name.contains('=') && !name.contains('\0'),
        "{name:?} is not an environment variable name"
    );
    Ok(name)
}

fn seconds(key: &str, value: Option<f64>, default: u64) -> Result<Duration> {
    super::check::seconds(
        key,
        value,
        default as f64,
        super::check::MAX_TIMEOUT_SECONDS,
    )
}

/// Retries of one delivery, and the first pause between them (it doubles each time).
fn retry(
    section: &str,
    retries: Option<u32>,
    backoff_ms: Option<u64>,
    defaults: (u32, u64),
) -> Result<Retry> {
    Ok(Retry {
        retries: super::check::within(&format!("{section}.retries"), retries, defaults.0, 0..=20)?,
        backoff: Duration::from_millis(super::check::within(
            &format!("{section}.backoff_ms"),
            backoff_ms,
            defaults.1,
            0..=600_000,
        )?),
    })
}

/// The index an alert goes to: `pattern` with strftime fields filled from the alert's date
/// (UTC), so a waiting alert lands in the index of the day it was raised, next to its `_id`.
pub fn index_name(pattern: &str, raised_ms: u64) -> Result<String> {
    let name = if pattern.contains('%') {
        let at = i64::try_from(raised_ms)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        jiff::fmt::strtime::format(pattern, at)?
    } else {
        pattern.to_owned()
    };
    let bad = |c: char| c.is_uppercase() || "\\/*?\"<>| ,#:".contains(c);
    if name.is_empty() || name.starts_with(['-', '_', '+']) || name.chars().any(bad) {
        bail!("{name:?} is not a valid Elasticsearch index name");
    }
    Ok(name)
}

/// Reads an environment variable a config key names, for a secret. One holding a line break
/// or another control character (a file read with a trailing newline, say) is refused here,
/// before any rule runs, naming the variable and never the value: it could only fail every
/// delivery later, as a header or URL no server takes.
pub fn secret(var: &str, key: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(value) if value.chars().any(char::is_control) => bail!(
            "environment variable {var} (named by `{key}`) holds a line break or another \
             control character, which no header or URL may carry; set it without one (a value \
             read from a file keeps its trailing newline: strip it)"
        ),
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => bail!("environment variable {var} (named by `{key}`) is empty"),
        Err(_) => bail!("environment variable {var} (named by `{key}`) is not set"),
    }
}

#[cfg(test)]
mod tests;
