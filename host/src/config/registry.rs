//! The validated settings of third-party rules from OCI registries: `[trust]` (what a module
//! must show before it is loaded: nothing, a pin or lock entry, or signatures by enough of the
//! configured keys), `[registry]` (how `pull` and `push` reach registries: plain HTTP only for
//! the hosts listed, an extra CA, credentials from environment variables or a docker
//! `config.json`, the largest module accepted) and `[source]` (each pulled rule's reference).
//! The lock file `reddalert.lock` sits beside the config file. Paths are resolved here; the
//! key files and the lock are read by `registry`, when a run or a pull needs them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use serde::Deserialize;

use super::check;
use crate::contract::is_rule_name;

/// What a module in the rules directory must show before it is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustLevel {
    /// Nothing (the default): modules without a lock entry run as before, pinned or not.
    Off,
    /// A pin (`[pin]`) or a lock entry.
    Pinned,
    /// A lock entry, that is a module pulled from a registry and signed.
    Signed,
}

impl TrustLevel {
    pub fn name(self) -> &'static str {
        match self {
            TrustLevel::Off => "off",
            TrustLevel::Pinned => "pinned",
            TrustLevel::Signed => "signed",
        }
    }
}

/// `[trust]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSettings {
    pub require: TrustLevel,
    /// Distinct configured keys that must have signed each pulled rule.
    pub min_signers: usize,
    /// Public keys (PEM, P-256) by the name `reddalert rules` shows for a signer.
    pub keys: BTreeMap<String, PathBuf>,
}

/// Credentials for one registry host, from environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    pub username_env: String,
    pub password_env: String,
}

/// `[registry]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySettings {
    /// `host:port` of registries spoken to over plain HTTP; every other one is HTTPS.
    pub insecure: Vec<String>,
    /// A PEM CA bundle trusted beside the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Credentials by registry host (`host` or `host:port`, as in a reference).
    pub auth: BTreeMap<String, RegistryCredentials>,
    /// A docker `config.json` whose `auths` give credentials for the hosts not in `auth`.
    pub docker_config: Option<PathBuf>,
    /// The largest module layer accepted, bytes.
    pub max_module_bytes: u64,
    /// Connect and read timeout of each request.
    pub timeout: Duration,
}

/// Everything `pull`, `push` and a run need about rules from registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    pub trust: TrustSettings,
    pub registry: RegistrySettings,
    /// Each pulled rule's reference (`host/repository:tag` or `…@sha256:…`), by rule name.
    pub sources: BTreeMap<String, String>,
    /// `reddalert.lock`, beside the config file.
    pub lock_file: PathBuf,
}

/// `[trust]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    /// "off" (default), "pinned" or "signed".
    pub require: Option<String>,
    /// Distinct configured keys that must have signed each pulled rule (default 1).
    pub min_signers: Option<usize>,
    /// Public keys by name: `[trust.keys] acme = "keys/acme.pub"`.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// `[registry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    /// `host:port` of registries reached over plain HTTP.
    #[serde(default)]
    pub insecure: Vec<String>,
    /// A PEM CA bundle trusted beside the system's roots.
    pub ca_file: Option<String>,
    /// Credentials by registry host: `[registry.auth."ghcr.io"]`.
    #[serde(default)]
    pub auth: BTreeMap<String, RawCredentials>,
    /// A docker `config.json` read for the hosts not in `auth`.
    pub docker_config: Option<String>,
    /// The largest module accepted, MiB (default 64).
    pub max_module_mib: Option<u64>,
    /// Timeout of each request, seconds (default 60).
    pub timeout_seconds: Option<u64>,
}

/// `[registry.auth."<host>"]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    /// The environment variable holding the user name.
    pub username_env: Option<String>,
    /// The environment variable holding the password or token.
    pub password_env: Option<String>,
}

/// Validates `[trust]`, `[registry]` and `[source]`; `lock_file` is the lock beside the config.
pub fn parse(
    trust: Option<RawTrust>,
    registry: Option<RawRegistry>,
    sources: BTreeMap<String, String>,
    lock_file: PathBuf,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<RegistryConfig> {
    let trust = trust.unwrap_or_default();
    let require = match trust.require.as_deref() {
        None | Some("off") => TrustLevel::Off,
        Some("pinned") => TrustLevel::Pinned,
        Some("signed") => TrustLevel::Signed,
        Some(other) => bail!(
            "invalid key `trust.require`: {other:?} is none of \"off\", \"pinned\", \"signed\""
        ),
    };
    let min_signers = check::within("trust.min_signers", trust.min_signers, 1, 0..=16)?;
    ensure!(
        !(require == TrustLevel::Signed && min_signers == 0),
        "invalid key `trust.min_signers`: 0 with `require = \"signed\"` would accept unsigned \
         modules; set at least 1"
    );
    for name in trust.keys.keys() {
        ensure!(
            is_rule_name(name),
            "invalid key `trust.keys.{name}`: a key's name is lowercase letters, digits, '-' and \
             '_', starting with a letter or digit"
        );
    }
    let keys = trust
        .keys
        .iter()
        .map(|(name, path)| (name.clone(), resolve(path)))
        .collect();
    let raw = registry.unwrap_or_default();
    for host in &raw.insecure {
        ensure!(
            is_host_port(host),
            "invalid key `registry.insecure`: {host:?} is not a host:port (as in \
             \"127.0.0.1:5000\")"
        );
    }
    let mut auth = BTreeMap::new();
    for (host, creds) in raw.auth {
        let key = format!("registry.auth.\"{host}\"");
        let (Some(username_env), Some(password_env)) = (creds.username_env, creds.password_env)
        else {
            bail!("invalid key `{key}`: username_env and password_env go together; set both");
        };
        auth.insert(
            host,
            RegistryCredentials {
                username_env,
                password_env,
            },
        );
    }
    let max_module_mib =
        check::within("registry.max_module_mib", raw.max_module_mib, 64, 1..=1024)?;
    let timeout = check::within(
        "registry.timeout_seconds",
        raw.timeout_seconds,
        60,
        1..=3600,
    )?;
    for (name, reference) in &sources {
        ensure!(
            is_rule_name(name),
            "invalid key `source.{name}`: not a rule name ([a-z0-9][a-z0-9_-]{{0,63}}), and a \
             pulled module must declare the name it is pulled as"
        );
        check_reference(reference).with_context(|| format!("invalid key `source.{name}`"))?;
    }
    Ok(RegistryConfig {
        trust: TrustSettings {
            require,
            min_signers,
            keys,
        },
        registry: RegistrySettings {
            insecure: raw.insecure,
            ca_file: raw.ca_file.as_deref().map(resolve),
            auth,
            docker_config: raw.docker_config.as_deref().map(resolve),
            max_module_bytes: max_module_mib << 20,
            timeout: Duration::from_secs(timeout),
        },
        sources,
        lock_file,
    })
}

/// A reference names its registry host explicitly (`registry.example.com/acme/rule:1.0`), so
/// that no rule is pulled from a default registry by accident, and has a tag or a digest.
fn check_reference(reference: &str) -> Result<()> {
    ensure!(
        !reference.is_empty()
            && !reference
                .chars()
                .any(|c| c.is_whitespace() || c.is_control()),
        "{reference:?} is not an OCI reference"
    );
    let Some((host, rest)) = reference.split_once('/') else {
        bail!("{reference:?} names no registry host: write host/repository:tag");
    };
    ensure!(
        host.contains('.') || host.contains(':') || host == "localhost",
        "{reference:?} names no registry host ({host:?} reads as a repository): write \
         host/repository:tag"
    );
    let last = rest.rsplit('/').next().unwrap_or(rest);
    ensure!(
        last.contains(':') || rest.contains('@'),
        "{reference:?} has neither a tag nor a digest: add :<tag> or @sha256:<digest>"
    );
    Ok(())
}

fn is_host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
        && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(trust: RawTrust, sources: &[(&str, &str)]) -> Result<RegistryConfig> {
        parse(
            Some(trust),
            None,
            sources
                .iter()
                .map(|(n, r)| (n.to_string(), r.to_string()))
                .collect(),
            PathBuf::from("/etc/reddalert/reddalert.lock"),
            &|p| PathBuf::from("/etc/reddalert").join(p),
        )
    }

    #[test]
    fn the_defaults_trust_nothing_and_ask_one_signer_of_pulled_rules() {
        let config = parsed(RawTrust::default(), &[]).unwrap();
        assert_eq!(config.trust.require, TrustLevel::Off);
        assert_eq!(config.trust.min_signers, 1);
        assert_eq!(config.registry.max_module_bytes, 64 << 20);
        assert_eq!(config.registry.timeout, Duration::from_secs(60));
    }

    #[test]
    fn bad_trust_and_sources_are_config_errors_naming_the_key() {
        let err = |trust: RawTrust, sources: &[(&str, &str)]| {
            format!("{:#}", parsed(trust, sources).unwrap_err())
        };
        let level = RawTrust {
            require: Some("strict".into()),
            ..RawTrust::default()
        };
        assert!(err(level, &[]).contains("`trust.require`"));
        let zero = RawTrust {
            require: Some("signed".into()),
            min_signers: Some(0),
            ..RawTrust::default()
        };
        assert!(err(zero, &[]).contains("would accept unsigned"));
        for (reference, says) in [
            ("acme/rule:1.0", "names no registry host"),
            ("rule:1.0", "names no registry host"),
            (
                "registry.example.com/acme/rule",
                "neither a tag nor a digest",
            ),
            ("registry.example.com/acme rule:1", "not an OCI reference"),
        ] {
            let got = err(RawTrust::default(), &[("rule", reference)]);
            assert!(got.contains("`source.rule`") && got.contains(says), "{got}");
        }
        let got = err(RawTrust::default(), &[("Rule", "r.example.com/a:1")]);
        assert!(got.contains("not a rule name"), "{got}");
        let keys = RawTrust {
            keys: [("Acme Corp".to_owned(), "k.pub".to_owned())].into(),
            ..RawTrust::default()
        };
        assert!(err(keys, &[]).contains("`trust.keys.Acme Corp`"));
    }

    #[test]
    fn references_with_a_host_and_a_tag_or_digest_pass() {
        for good in [
            "registry.example.com/acme/reddalert-elbs:1.4.0",
            "127.0.0.1:5000/acme/elbs:latest",
            "localhost/elbs:1",
            "ghcr.io/acme/elbs@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "127.0.0.1:5000/elbs@sha256:00",
        ] {
            check_reference(good).unwrap_or_else(|e| panic!("{good}: {e:#}"));
        }
    }

    #[test]
    fn insecure_hosts_need_a_port_and_credentials_both_variables() {
        let registry = |raw: RawRegistry| {
            parse(
                None,
                Some(raw),
                BTreeMap::new(),
                PathBuf::new(),
                &|p: &str| PathBuf::from(p),
            )
        };
        let err = registry(RawRegistry {
            insecure: vec!["127.0.0.1".into()],
            ..RawRegistry::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("registry.insecure"));
        let err = registry(RawRegistry {
            auth: [(
                "ghcr.io".to_owned(),
                RawCredentials {
                    username_env: Some("U".into()),
                    password_env: None,
                },
            )]
            .into(),
            ..RawRegistry::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("registry.auth.\"ghcr.io\""));
        let ok = registry(RawRegistry {
            insecure: vec!["127.0.0.1:5000".into(), "[::1]:5000".into()],
            max_module_mib: Some(2),
            ..RawRegistry::default()
        })
        .unwrap();
        assert_eq!(ok.registry.max_module_bytes, 2 << 20);
    }
}
