//! The author's side: `push` uploads a module as a CNCF WebAssembly artifact (config, layer,
//! then the manifest under the reference's tag) and `sign` adds a cosign signature of a
//! manifest digest to its `.sig` tag, keeping the signatures already there (a second signer
//! signs the same digest).

use anyhow::{Context as _, Result, ensure};

use super::artifact::{self, Manifest, World, sha256_digest};
use super::client::{Ref, Registry};
use super::cosign;
use super::fetch::signatures;
use super::keys::SigningKey;

/// Uploads `module` to `reference` (which names a tag); returns the manifest's digest.
pub fn push(
    registry: &Registry,
    reference: &Ref,
    module: &[u8],
    file_name: &str,
    world: &World,
) -> Result<String> {
    ensure!(
        reference.digest().is_none(),
        "{reference} names a digest; push to a tag (host/repository:tag)"
    );
    let created = crate::time::iso_time(crate::time::now_ms());
    let (manifest, config) = artifact::module_artifact(module, file_name, world, &created)?;
    registry.push_blob(reference, &sha256_digest(&config), config)?;
    registry.push_blob(reference, &sha256_digest(module), module.to_vec())?;
    registry.push_manifest(reference, manifest)
}

/// Resolves `reference` to a module's manifest digest (checked to be one).
pub fn resolve(registry: &Registry, reference: &Ref, max_module_bytes: u64) -> Result<String> {
    let (manifest, digest) = registry.manifest(reference)?;
    Manifest::parse(&manifest)
        .and_then(|m| m.module_layer(max_module_bytes).map(|_| ()))
        .with_context(|| format!("{reference} ({digest}) is not a rule module's artifact"))?;
    Ok(digest)
}

/// Signs the manifest `digest` of `reference`'s repository with `key` and uploads the
/// signature beside those already there; returns false when this key had signed it already.
pub fn sign(registry: &Registry, reference: &Ref, digest: &str, key: &SigningKey) -> Result<bool> {
    let mut all = signatures(registry, reference, digest)?;
    let public = [key.public_key()];
    if all
        .iter()
        .any(|s| cosign::check(s, digest, &public).is_ok())
    {
        return Ok(false);
    }
    all.push(cosign::sign(key, &reference.repository(), digest)?);
    let (manifest, blobs) = cosign::signature_manifest(&all)?;
    for (blob_digest, bytes) in blobs {
        registry.push_blob(reference, &blob_digest, bytes)?;
    }
    let tag = reference.at_tag(&cosign::signature_tag(digest));
    registry
        .push_manifest(&tag, manifest)
        .context("failed to upload the signature")?;
    Ok(true)
}
