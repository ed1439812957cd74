//! Offline verification of the modules in the rules directory, before any is compiled. A
//! module `rules_dir/NAME.wasm` with a lock entry NAME runs only when its sha256 is the
//! lock's, the stored manifest hashes to the locked digest and names that sha256 as its one
//! layer, and at least `min_signers` distinct keys of those configured *now* verify stored
//! signatures of that digest (so removing a key from the config refuses, at the next run,
//! the rules only it signed). A module without a lock entry runs as before under
//! `require = "off"`, needs a pin under `"pinned"` and is refused under `"signed"`. A refused
//! module is never compiled; it fails alone.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::artifact::{Manifest, sha256_hex};
use super::cosign::{self, Rejection, Signature};
use super::keys::PublicKey;
use super::lock::{LockEntry, Lockfile};
use crate::config::{RegistryConfig, TrustLevel, TrustSettings};

/// The configured public keys, each distinct key once with every name it is configured under.
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
    names: Vec<Vec<String>>,
}

impl TrustedKeys {
    /// Reads every key of `[trust.keys]`; one that cannot be read is a config error.
    pub fn load(settings: &TrustSettings) -> Result<TrustedKeys> {
        let mut trusted = TrustedKeys {
            keys: Vec::new(),
            names: Vec::new(),
        };
        for (name, path) in &settings.keys {
            let key = PublicKey::read(path)
                .map_err(|err| anyhow::anyhow!("invalid key `trust.keys.{name}`: {err:#}"))?;
            trusted.add(name, key);
        }
        Ok(trusted)
    }

    fn add(&mut self, name: &str, key: PublicKey) {
        match self.keys.iter().position(|k| *k == key) {
            Some(i) => self.names[i].push(name.to_owned()),
            None => {
                self.keys.push(key);
                self.names.push(vec![name.to_owned()]);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The distinct keys that verify a signature of `digest` among `signatures` (each named
    /// by its configured names, `a=b` for one key listed twice), and why the others do not.
    pub fn signers(&self, digest: &str, signatures: &[Signature]) -> (Vec<String>, Vec<Rejection>) {
        let mut signed = vec![false; self.keys.len()];
        let mut rejected = Vec::new();
        for signature in signatures.iter().take(cosign::MAX_SIGNATURES) {
            match cosign::check(signature, digest, &self.keys) {
                Ok(keys) => keys.into_iter().for_each(|i| signed[i] = true),
                Err(why) => rejected.push(why),
            }
        }
        let names = signed
            .iter()
            .zip(&self.names)
            .filter(|(s, _)| **s)
            .map(|(_, names)| names.join("="))
            .collect();
        (names, rejected)
    }

    /// The signers of `digest` when there are at least `min_signers`, else why not.
    pub fn require(
        &self,
        digest: &str,
        signatures: &[Signature],
        min_signers: usize,
    ) -> Result<Vec<String>, String> {
        let (signers, rejected) = self.signers(digest, signatures);
        if signers.len() >= min_signers {
            return Ok(signers);
        }
        let found = match signatures.len() {
            0 => "it has no signature".to_owned(),
            n => {
                let mut why: Vec<String> = rejected.iter().map(ToString::to_string).collect();
                why.dedup();
                format!(
                    "of its {n} signature(s), {} verify with a configured key{}",
                    signers.len(),
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", why.join("; "))
                    }
                )
            }
        };
        Err(format!(
            "{found}: signed by {} of the configured keys{}, and trust.min_signers is {min_signers}",
            signers.len(),
            if self.is_empty() {
                " (none is configured in [trust.keys])".to_owned()
            } else if signers.is_empty() {
                String::new()
            } else {
                format!(" ({})", signers.join(", "))
            },
        ))
    }
}

/// Where a pulled module came from and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub reference: String,
    pub manifest_digest: String,
    /// The configured keys that verify its signatures, by name.
    pub signers: Vec<String>,
}

/// Why a module may be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// It is the module of the lock entry `name`, verified.
    Locked {
        name: String,
        provenance: Provenance,
    },
    /// It has no lock entry and its hash is pinned (`require = "pinned"`).
    Pinned,
    /// It has no lock entry and nothing is required (`require = "off"`).
    Unchecked,
}

/// A module that is not compiled, with the rule name when its lock entry gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub name: Option<String>,
    pub reason: String,
}

/// Everything a run checks modules against: the lock, the keys and the pins.
pub struct Trust {
    level: TrustLevel,
    min_signers: usize,
    keys: TrustedKeys,
    lock: Lockfile,
    pins: BTreeMap<String, String>,
}

impl Trust {
    /// Reads the configured keys and the lock; either unreadable is an error for the caller.
    pub fn load(config: &RegistryConfig, pins: &BTreeMap<String, String>) -> Result<Trust> {
        Ok(Trust {
            level: config.trust.require,
            min_signers: config.trust.min_signers,
            keys: TrustedKeys::load(&config.trust)?,
            lock: Lockfile::load(&config.lock_file)?,
            pins: pins.clone(),
        })
    }

    /// The rule names of the lock.
    pub fn locked(&self) -> &BTreeMap<String, LockEntry> {
        &self.lock.rules
    }

    /// Whether the module at `path` with `bytes` may be compiled.
    pub fn admit(&self, path: &Path, bytes: &[u8]) -> Result<Admission, Refusal> {
        let sha256 = sha256_hex(bytes);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if let Some((name, entry)) = stem.and_then(|s| self.lock.rules.get_key_value(&s)) {
            let refuse = |reason: String| Refusal {
                name: Some(name.clone()),
                reason,
            };
            if let Some(pinned) = self.pins.get(name).filter(|p| **p != entry.module_sha256) {
                return Err(refuse(format!(
                    "the config pins {name} to sha256 {pinned}, but its lock entry (pulled from {}) has sha256 {}; the lock entry is the rule's pin: remove `pin.{name}` or pull again",
                    entry.reference, entry.module_sha256
                )));
            }
            return verify_entry(entry, path, &sha256, &self.keys, self.min_signers)
                .map(|signers| Admission::Locked {
                    name: name.clone(),
                    provenance: Provenance {
                        reference: entry.reference.clone(),
                        manifest_digest: entry.manifest_digest.clone(),
                        signers,
                    },
                })
                .map_err(refuse);
        }
        match self.level {
            TrustLevel::Off => Ok(Admission::Unchecked),
            TrustLevel::Pinned if self.pins.values().any(|p| *p == sha256) => Ok(Admission::Pinned),
            TrustLevel::Pinned => Err(Refusal {
                name: None,
                reason: format!(
                    "{} (sha256 {sha256}) has neither a pin nor a lock entry, and trust.require is \"pinned\"; pin it (`[pin]`) or pull it (`reddalert pull`)",
                    path.display()
                ),
            }),
            TrustLevel::Signed => Err(Refusal {
                name: None,
                reason: format!(
                    "{} (sha256 {sha256}) has no lock entry, and trust.require is \"signed\": only modules pulled with `reddalert pull` and signed run",
                    path.display()
                ),
            }),
        }
    }
}

/// Checks a module with sha256 `sha256` at `path` against its lock entry, offline; returns
/// the names of its signers.
pub fn verify_entry(
    entry: &LockEntry,
    path: &Path,
    sha256: &str,
    keys: &TrustedKeys,
    min_signers: usize,
) -> Result<Vec<String>, String> {
    if sha256 != entry.module_sha256 {
        return Err(format!(
            "its module {} has sha256 {sha256}, but the lock says {} (pulled from {}): the file changed after the pull; pull it again",
            path.display(),
            entry.module_sha256,
            entry.reference
        ));
    }
    let manifest = entry
        .manifest_bytes()
        .map_err(|err| format!("its lock entry is damaged: {err:#}"))?;
    let digest = super::artifact::sha256_digest(&manifest);
    if digest != entry.manifest_digest {
        return Err(format!(
            "its stored manifest hashes to {digest}, not to the locked digest {}: the lock was edited; pull it again",
            entry.manifest_digest
        ));
    }
    let layer = Manifest::parse(&manifest)
        .and_then(|m| m.module_layer(u64::MAX).cloned())
        .map_err(|err| format!("its stored manifest is not a module's: {err:#}"))?;
    if layer.digest != format!("sha256:{}", entry.module_sha256) {
        return Err(format!(
            "its stored manifest names the layer {}, not the locked module sha256:{}: the lock was edited; pull it again",
            layer.digest, entry.module_sha256
        ));
    }
    keys.require(&entry.manifest_digest, &entry.signatures, min_signers)
        .map_err(|why| format!("{} ({}): {why}", entry.reference, entry.manifest_digest))
}

#[cfg(test)]
mod tests;
