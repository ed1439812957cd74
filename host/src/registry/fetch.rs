//! Pulling one rule: resolve its reference to a manifest digest once and work by digest from
//! there; fetch the signatures of that digest and verify them before the module is
//! downloaded; check the manifest's shape and the layer's size, download the layer (its
//! digest checked), and ask the caller what name the module declares. Nothing is written
//! here: [`install`] commits a pulled rule, its module and its lock entry together.

use std::path::Path;

use anyhow::{Context as _, Result, bail, ensure};
use base64::Engine as _;

use super::artifact::{Manifest, sha256_hex};
use super::client::{Ref, Registry};
use super::cosign::{self, Signature};
use super::lock::{self, Guard, LockEntry, Lockfile};
use super::trust::TrustedKeys;
use crate::config::RegistryConfig;

/// A rule pulled and verified, not yet installed.
pub struct Pulled {
    pub entry: LockEntry,
    pub module: Vec<u8>,
    /// The configured keys that signed it.
    pub signers: Vec<String>,
}

/// What a pull of one rule needs besides the network.
pub struct Puller<'a> {
    pub registry: &'a Registry,
    pub config: &'a RegistryConfig,
    pub keys: &'a TrustedKeys,
    /// Loads a module and returns the name it declares.
    pub declared_name: &'a dyn Fn(&[u8]) -> Result<String>,
}

impl Puller<'_> {
    /// Pulls rule `name` from `reference`; with `locked`, exactly the manifest of that lock
    /// entry, verified with the signatures stored there.
    pub fn pull(&self, name: &str, reference: &str, locked: Option<&LockEntry>) -> Result<Pulled> {
        let source = Ref::parse(reference)?;
        let target = match locked {
            Some(entry) => source.at_digest(&entry.manifest_digest),
            None => source.clone(),
        };
        let (manifest, digest) = self
            .registry
            .manifest(&target)
            .context("failed to resolve the reference to a manifest")?;
        if let Some(entry) = locked {
            ensure!(
                digest == entry.manifest_digest,
                "the registry answered the locked digest {} with the manifest {digest}",
                entry.manifest_digest
            );
        }
        // From here on everything is by digest: a tag moved meanwhile changes nothing.
        let by_digest = source.at_digest(&digest);
        let signatures = match locked {
            Some(entry) => entry.signatures.clone(),
            None => signatures(self.registry, &source, &digest)?,
        };
        let signers = self
            .keys
            .require(&digest, &signatures, self.config.trust.min_signers)
            .map_err(|why| anyhow::anyhow!("its signatures do not hold: {why}"))?;
        let layer = Manifest::parse(&manifest)
            .and_then(|m| {
                m.module_layer(self.config.registry.max_module_bytes)
                    .cloned()
            })
            .with_context(|| format!("the manifest {digest} is not a rule module's"))?;
        let module = self.registry.blob(&by_digest, &layer.digest, layer.size)?;
        let module_sha256 = sha256_hex(&module);
        ensure!(
            layer.digest == format!("sha256:{module_sha256}"),
            "the module downloaded has sha256 {module_sha256}, not the layer's {}",
            layer.digest
        );
        let declared = (self.declared_name)(&module).context("the module does not load")?;
        ensure!(
            declared == name,
            "the module declares the rule name {declared:?}, not {name:?} as it is pulled: \
             name the source after the rule it holds"
        );
        Ok(Pulled {
            entry: LockEntry {
                reference: reference.to_owned(),
                manifest_digest: digest,
                module_sha256,
                manifest: base64::engine::general_purpose::STANDARD.encode(&manifest),
                signatures,
                pulled_at: crate::time::iso_time(crate::time::now_ms()),
            },
            module,
            signers,
        })
    }
}

/// The cosign signatures of `digest` in `source`'s repository (none when it has no `.sig`
/// tag): each simple-signing layer's payload, downloaded up to a small bound, with its
/// signature annotation. Layers of another kind are skipped.
pub fn signatures(registry: &Registry, source: &Ref, digest: &str) -> Result<Vec<Signature>> {
    let tag = source.at_tag(&cosign::signature_tag(digest));
    let Some((bytes, _)) = registry
        .manifest_if_any(&tag)
        .context("failed to fetch the signatures")?
    else {
        return Ok(Vec::new());
    };
    let manifest =
        Manifest::parse(&bytes).context("the signature manifest is not an OCI image manifest")?;
    let mut found = Vec::new();
    for layer in manifest.layers.iter().take(cosign::MAX_SIGNATURES) {
        let annotation = layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(cosign::SIGNATURE_ANNOTATION));
        let Some(signature) = annotation.filter(|_| layer.media_type == cosign::SIMPLESIGNING)
        else {
            tracing::debug!(layer = %layer.digest, media_type = %layer.media_type, "skipped a signature layer of another kind");
            continue;
        };
        if layer.size > cosign::MAX_PAYLOAD_BYTES {
            tracing::warn!(layer = %layer.digest, size = layer.size, "skipped a signature payload over {} bytes", cosign::MAX_PAYLOAD_BYTES);
            continue;
        }
        let payload = registry.blob(source, &layer.digest, layer.size)?;
        found.push(Signature {
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
            signature: signature.clone(),
        });
    }
    Ok(found)
}

/// Installs a pulled rule: `rules_dir/NAME.wasm` and its lock entry, each written to a
/// temporary file and fsynced, then renamed in place under the lock's exclusive guard (so a
/// run reads both old or both new). A failure before the renames leaves both untouched; a
/// lock that cannot be renamed in puts the old module back.
pub fn install(rules_dir: &Path, lock_file: &Path, name: &str, pulled: &Pulled) -> Result<()> {
    std::fs::create_dir_all(rules_dir).with_context(|| {
        format!(
            "failed to create the rules directory {}",
            rules_dir.display()
        )
    })?;
    let module_path = rules_dir.join(format!("{name}.wasm"));
    let _guard = Guard::exclusive(lock_file)?;
    let mut lock = Lockfile::load(lock_file)?;
    let previous = match std::fs::read(&module_path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => bail!(
            "failed to read the installed module {}: {err}",
            module_path.display()
        ),
    };
    lock.rules.insert(name.to_owned(), pulled.entry.clone());
    let text = serde_json::to_string_pretty(&lock)? + "\n";
    let staged_module = lock::stage(&module_path, &pulled.module)?;
    let staged_lock = match lock::stage(lock_file, text.as_bytes()) {
        Ok(staged) => staged,
        Err(err) => {
            let _ = std::fs::remove_file(&staged_module);
            return Err(err);
        }
    };
    if let Err(err) = lock::commit(&staged_module, &module_path) {
        let _ = std::fs::remove_file(&staged_lock);
        return Err(err);
    }
    if let Err(err) = lock::commit(&staged_lock, lock_file) {
        let restored = match &previous {
            Some(bytes) => lock::write_atomically(&module_path, bytes),
            None => std::fs::remove_file(&module_path).map_err(Into::into),
        };
        return Err(match restored {
            Ok(()) => err,
            Err(again) => err.context(format!(
                "and the previous module could not be put back ({again:#}): {} is refused until the next pull",
                module_path.display()
            )),
        });
    }
    Ok(())
}
