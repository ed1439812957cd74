//! The validated capability settings of a run, built from the `[capabilities]`,
//! `[grant.<rule>]`, `[chef]` and `[s3]` keys ([`raw`]). The original's
//! `plugin.chef.{chef_server_url, client_name, client_key_file}` and `plugin.s3acl.{user, key}`
//! keep working: they are read here as Chef and S3 settings and removed from the sections rules
//! are given, so no credential ever reaches a guest.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};

use super::RawConfig;

mod grants;
mod raw;

pub(crate) use grants::normalize;
pub use grants::{Grant, HostPattern, HostPolicy};
pub use raw::{RawCapabilities, RawChef, RawGrant, RawS3};

/// The signing protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SignVersion {
    #[serde(rename = "1.1")]
    V1_1,
    #[serde(rename = "1.3")]
    V1_3,
}

/// The validated capability settings of a run.
#[derive(Debug, Clone)]
pub struct CapabilityConfig {
    pub net: NetSettings,
    /// Grants by rule name; a rule without one is granted nothing.
    pub grants: BTreeMap<String, Grant>,
    /// `None` when no Chef server is configured.
    pub chef: Option<ChefSettings>,
    pub s3: S3Settings,
}

/// Timeouts, caps and per-run call limits shared by every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetSettings {
    pub concurrency: usize,
    pub http_timeout: Duration,
    pub http_body_max_bytes: u64,
    pub http_max_redirects: u32,
    pub tcp_timeout: Duration,
    pub max_calls: CallLimits,
}

/// Calls of each capability one rule may make per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CallLimits {
    pub http: u64,
    pub tcp_probe: u64,
    pub chef: u64,
    pub s3: u64,
}

#[derive(Debug, Clone)]
pub struct ChefSettings {
    /// Without a trailing slash.
    pub server_url: String,
    pub client_name: String,
    pub key_file: PathBuf,
    pub sign_version: SignVersion,
    pub timeout: Duration,
    pub page_rows: u32,
    pub max_pages: u32,
    pub retries: u32,
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub region: String,
    /// Without a trailing slash.
    pub endpoint: Option<String>,
    pub credentials: CredentialSource,
    pub timeout: Duration,
    pub max_keys: usize,
}

/// Where S3 credentials come from. Never printed.
#[derive(Clone)]
pub enum CredentialSource {
    /// The standard AWS credential chain (environment, web identity, shared files,
    /// container, instance metadata): `[s3]` names no credentials of its own.
    Chain,
    /// Names of environment variables, read when the first S3 call is made.
    Env {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
    },
    /// The original's `plugin.s3acl.{user, key}`.
    Literal {
        access_key_id: String,
        secret_access_key: String,
    },
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Chain => f.write_str("Chain"),
            CredentialSource::Env {
                access_key_id,
                secret_access_key,
                session_token,
            } => write!(
                f,
                "Env({access_key_id}, {secret_access_key}, {session_token})"
            ),
            CredentialSource::Literal { .. } => f.write_str("Literal(<redacted>)"),
        }
    }
}

/// The sections the original read its Chef settings from.
const CHEF_SECTIONS: [&str; 3] = ["chef", "non_chef", "route53unknown"];
/// The original's Chef keys: server URL, client name, client key file.
pub(crate) const CHEF_KEYS: [&str; 3] = ["chef_server_url", "client_name", "client_key_file"];

impl CapabilityConfig {
    /// Takes `[capabilities]`, `[grant.*]`, `[chef]` and `[s3]` out of `raw`, and the
    /// original's credential keys out of its `plugin` sections.
    pub fn from_raw(
        raw: &mut RawConfig,
        resolve: &dyn Fn(&str) -> PathBuf,
    ) -> Result<CapabilityConfig> {
        let net = net_settings(&raw.capabilities.take().unwrap_or_default())
            .context("invalid key `capabilities`")?;
        let mut grants = BTreeMap::new();
        for (rule, grant) in std::mem::take(&mut raw.grant) {
            let parsed =
                Grant::from_raw(&grant).with_context(|| format!("invalid key `grant.{rule}`"))?;
            grants.insert(rule, parsed);
        }
        let mut chef = raw.chef.take().unwrap_or_default();
        // The original read these keys from the section of each rule that asks Chef (and an
        // older template from `plugin.chef`); they fill in what `[chef]` leaves unset. The host
        // has one Chef server, so two sections naming different ones are an error.
        let mut legacy: [Option<(String, &str)>; 3] = [None, None, None];
        for section_name in CHEF_SECTIONS {
            let Some(section) = raw.plugin.get_mut(section_name) else {
                continue;
            };
            for (slot, key) in legacy.iter_mut().zip(CHEF_KEYS) {
                let Some(value) = take_string(section_name, key, section)? else {
                    continue;
                };
                match slot {
                    Some((earlier, from)) if *earlier != value => bail!(
                        "`plugin.{from}.{key}` and `plugin.{section_name}.{key}` differ; \
                         reddalert asks one Chef server for every rule: set `chef.*` once"
                    ),
                    Some(_) => {}
                    None => *slot = Some((value, section_name)),
                }
            }
        }
        let [url, name, key] = legacy.map(|v| v.map(|(value, _)| value));
        chef.server_url = chef.server_url.or(url);
        chef.client_name = chef.client_name.or(name);
        chef.client_key_file = chef.client_key_file.or(key);
        let chef = chef_settings(&chef, resolve).context("invalid key `chef`")?;
        let mut legacy_s3 = (None, None);
        if let Some(section) = raw.plugin.get_mut("s3acl") {
            legacy_s3 = (
                take_string("s3acl", "user", section)?,
                take_string("s3acl", "key", section)?,
            );
        }
        let s3 = s3_settings(&raw.s3.take().unwrap_or_default(), legacy_s3)
            .context("invalid key `s3`")?;
        // A section left empty by the keys taken out would only warn as "matches no rule".
        for name in CHEF_SECTIONS.into_iter().chain(["s3acl"]) {
            if raw
                .plugin
                .get(name)
                .is_some_and(|s| s.as_object().is_some_and(|o| o.is_empty()))
            {
                raw.plugin.remove(name);
            }
        }
        Ok(CapabilityConfig {
            net,
            grants,
            chef,
            s3,
        })
    }

    /// The grant of one rule (nothing when it has none).
    pub fn grant_for(&self, rule: &str) -> Grant {
        self.grants.get(rule).cloned().unwrap_or_default()
    }
}

fn take_string(section: &str, key: &str, value: &mut serde_json::Value) -> Result<Option<String>> {
    let Some(map) = value.as_object_mut() else {
        return Ok(None);
    };
    match map.remove(key) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => bail!("invalid key `plugin.{section}.{key}`: must be a string"),
    }
}

fn seconds(name: &str, value: Option<f64>, default: f64) -> Result<Duration> {
    crate::config::check::seconds(
        name,
        value,
        default,
        crate::config::check::MAX_TIMEOUT_SECONDS,
    )
}

fn net_settings(raw: &RawCapabilities) -> Result<NetSettings> {
    let concurrency = raw.concurrency.unwrap_or(16);
    ensure!(
        (1..=256).contains(&concurrency),
        "concurrency must be between 1 and 256, got {concurrency}"
    );
    let body_kib = raw.http_body_max_kib.unwrap_or(64);
    ensure!(
        (1..=65536).contains(&body_kib),
        "http_body_max_kib must be between 1 and 65536, got {body_kib}"
    );
    Ok(NetSettings {
        concurrency,
        http_timeout: seconds("http_timeout_seconds", raw.http_timeout_seconds, 3.0)?,
        http_body_max_bytes: body_kib << 10,
        http_max_redirects: raw.http_max_redirects.unwrap_or(5),
        tcp_timeout: seconds("tcp_timeout_seconds", raw.tcp_timeout_seconds, 3.0)?,
        max_calls: CallLimits {
            http: raw.max_http_calls.unwrap_or(2000),
            tcp_probe: raw.max_tcp_probes.unwrap_or(2000),
            chef: raw.max_chef_calls.unwrap_or(20),
            s3: raw.max_s3_calls.unwrap_or(10_000),
        },
    })
}

fn http_url(name: &str, url: &str) -> Result<String> {
    ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "{name} {url:?} is not an http:// or https:// URL"
    );
    Ok(url.trim_end_matches('/').to_owned())
}

fn chef_settings(raw: &RawChef, resolve: &dyn Fn(&str) -> PathBuf) -> Result<Option<ChefSettings>> {
    let (url, name, key) = match (&raw.server_url, &raw.client_name, &raw.client_key_file) {
        (None, None, None) => return Ok(None),
        (Some(url), Some(name), Some(key)) => (url, name, key),
        _ => bail!(
            "server_url, client_name and client_key_file go together (or the original's \
             plugin.chef.chef_server_url, client_name and client_key_file); set all three"
        ),
    };
    let sign_version = match raw.sign_version.as_deref().unwrap_or("1.1") {
        "1.1" => SignVersion::V1_1,
        "1.3" => SignVersion::V1_3,
        other => bail!("sign_version must be \"1.1\" or \"1.3\", got {other:?}"),
    };
    let page_rows =
        crate::config::check::within("chef.page_rows", raw.page_rows, 2000, 1..=10_000)?;
    let max_pages = crate::config::check::within("chef.max_pages", raw.max_pages, 5, 1..=1000)?;
    Ok(Some(ChefSettings {
        server_url: http_url("server_url", url)?,
        client_name: name.clone(),
        key_file: resolve(key),
        sign_version,
        timeout: seconds("timeout_seconds", raw.timeout_seconds, 30.0)?,
        page_rows,
        max_pages,
        retries: crate::config::check::within("chef.retries", raw.retries, 5, 0..=20)?,
    }))
}

fn s3_settings(raw: &RawS3, legacy: (Option<String>, Option<String>)) -> Result<S3Settings> {
    let credentials = match legacy {
        (Some(access_key_id), Some(secret_access_key)) => CredentialSource::Literal {
            access_key_id,
            secret_access_key,
        },
        (None, None)
            if raw.access_key_id_env.is_none()
                && raw.secret_access_key_env.is_none()
                && raw.session_token_env.is_none() =>
        {
            CredentialSource::Chain
        }
        (None, None) => CredentialSource::Env {
            access_key_id: env_name(&raw.access_key_id_env, "AWS_ACCESS_KEY_ID"),
            secret_access_key: env_name(&raw.secret_access_key_env, "AWS_SECRET_ACCESS_KEY"),
            session_token: env_name(&raw.session_token_env, "AWS_SESSION_TOKEN"),
        },
        _ => bail!("the original's plugin.s3acl.user and plugin.s3acl.key go together; set both"),
    };
    let region = raw.region.clone().unwrap_or_else(|| "us-east-1".into());
    ensure!(
        !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "region {region:?} is not a region name such as \"eu-west-1\""
    );
    let max_keys = raw.max_keys.unwrap_or(10_000);
    ensure!(max_keys >= 1, "max_keys must be at least 1");
    Ok(S3Settings {
        region,
        endpoint: raw
            .endpoint
            .as_deref()
            .map(|e| http_url("endpoint", e))
            .transpose()?,
        credentials,
        timeout: seconds("timeout_seconds", raw.timeout_seconds, 30.0)?,
        max_keys,
    })
}

fn env_name(set: &Option<String>, default: &str) -> String {
    set.clone().unwrap_or_else(|| default.to_owned())
}
