//! The WebAssembly OCI artifact: an OCI image manifest with one config and one layer. The
//! CNCF TAG-Runtime layout, which `wkg oci push` writes and `push` writes, has the config
//! `application/vnd.wasm.config.v0+json` and the layer `application/wasm`; Kubewarden's, read
//! on pull, has `application/vnd.wasm.config.v1+json` and
//! `application/vnd.wasm.content.layer.v1+wasm`. A manifest of any other shape is refused
//! before its layer is downloaded, and so is a layer over the configured size.

use std::collections::BTreeMap;

use anyhow::{Result, bail, ensure};
use serde::{Deserialize, Serialize};

pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
pub const WASM_LAYER: &str = "application/wasm";
pub const KUBEWARDEN_CONFIG: &str = "application/vnd.wasm.config.v1+json";
pub const KUBEWARDEN_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
const TITLE: &str = "org.opencontainers.image.title";

/// The largest manifest kept: a module's is a few hundred bytes.
pub const MAX_MANIFEST_BYTES: usize = 256 << 10;

/// A content descriptor (config or layer) of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The parts of an image manifest that are checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        ensure!(
            bytes.len() <= MAX_MANIFEST_BYTES,
            "the manifest is {} bytes, over the {MAX_MANIFEST_BYTES} accepted",
            bytes.len()
        );
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|err| anyhow::anyhow!("the manifest is not an OCI image manifest: {err}"))?;
        ensure!(
            manifest.schema_version == 2,
            "the manifest has schemaVersion {}, not 2",
            manifest.schema_version
        );
        if let Some(media_type) = &manifest.media_type {
            ensure!(
                media_type == IMAGE_MANIFEST,
                "the manifest's media type is {media_type:?}, not an OCI image manifest \
                 ({IMAGE_MANIFEST})"
            );
        }
        Ok(manifest)
    }

    /// The module's layer of a WebAssembly artifact in either layout, checked: its media
    /// type goes with the config's, its digest is a sha256 and its size at most `max_bytes`.
    pub fn module_layer(&self, max_bytes: u64) -> Result<&Descriptor> {
        let layer_type = match self.config.media_type.as_str() {
            WASM_CONFIG => WASM_LAYER,
            KUBEWARDEN_CONFIG => KUBEWARDEN_LAYER,
            other => bail!(
                "the manifest's config is {other:?}, not a WebAssembly artifact's \
                 ({WASM_CONFIG}, or Kubewarden's {KUBEWARDEN_CONFIG})"
            ),
        };
        let [layer] = self.layers.as_slice() else {
            bail!(
                "the manifest has {} layers; a WebAssembly artifact has exactly one",
                self.layers.len()
            );
        };
        ensure!(
            layer.media_type == layer_type,
            "the manifest's layer is {:?}; with the config {} it must be {layer_type}",
            layer.media_type,
            self.config.media_type
        );
        sha256_hex_of(&layer.digest)?;
        ensure!(
            layer.size <= max_bytes,
            "the module is {} bytes, over the limit of {} MiB (registry.max_module_mib)",
            layer.size,
            max_bytes >> 20
        );
        Ok(layer)
    }
}

/// The hex of a `sha256:<64 lowercase hex>` digest.
pub fn sha256_hex_of(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(hex)
        }
        _ => bail!("{digest:?} is not a sha256 digest"),
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// What the CNCF config says of a component: the interfaces it imports and exports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// A module's artifact in the CNCF layout: the manifest's bytes and its config's.
pub fn module_artifact(
    module: &[u8],
    file_name: &str,
    world: &World,
    created: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let layer_digest = sha256_digest(module);
    let config = serde_json::to_vec(&serde_json::json!({
        "created": created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {"imports": world.imports, "exports": world.exports},
    }))?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST,
        "config": Descriptor {
            media_type: WASM_CONFIG.to_owned(),
            digest: sha256_digest(&config),
            size: config.len() as u64,
            annotations: None,
        },
        "layers": [Descriptor {
            media_type: WASM_LAYER.to_owned(),
            digest: layer_digest,
            size: module.len() as u64,
            annotations: Some([(TITLE.to_owned(), file_name.to_owned())].into()),
        }],
        "annotations": {"org.opencontainers.image.created": created},
    }))?;
    Ok((manifest, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(config: &str, layers: &[(&str, u64)]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": IMAGE_MANIFEST,
            "config": {"mediaType": config, "digest": sha256_digest(b"{}"), "size": 2},
            "layers": layers.iter().map(|(t, size)| serde_json::json!({
                "mediaType": t, "digest": sha256_digest(b"m"), "size": size,
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn both_layouts_pass_and_other_shapes_are_named() {
        for (config, layer) in [
            (WASM_CONFIG, WASM_LAYER),
            (KUBEWARDEN_CONFIG, KUBEWARDEN_LAYER),
        ] {
            let parsed = Manifest::parse(&manifest(config, &[(layer, 10)])).unwrap();
            assert_eq!(parsed.module_layer(10).unwrap().media_type, layer);
        }
        let err = |bytes: Vec<u8>, max: u64| {
            let parsed = Manifest::parse(&bytes);
            format!(
                "{:#}",
                parsed
                    .and_then(|m| m.module_layer(max).cloned())
                    .unwrap_err()
            )
        };
        assert!(err(manifest(WASM_CONFIG, &[(WASM_LAYER, 11)]), 10).contains("over the limit"));
        assert!(err(manifest(WASM_CONFIG, &[]), 10).contains("0 layers"));
        assert!(
            err(
                manifest(WASM_CONFIG, &[(WASM_LAYER, 1), (WASM_LAYER, 1)]),
                10
            )
            .contains("2 layers")
        );
        assert!(
            err(manifest(WASM_CONFIG, &[(KUBEWARDEN_LAYER, 1)]), 10)
                .contains("must be application/wasm")
        );
        assert!(
            err(manifest(OCI_CONFIG, &[(WASM_LAYER, 1)]), 10)
                .contains("not a WebAssembly artifact")
        );
        assert!(err(b"[]".to_vec(), 10).contains("not an OCI image manifest"));
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "config": {"mediaType": WASM_CONFIG, "digest": sha256_digest(b""), "size": 0}});
        assert!(err(index.to_string().into_bytes(), 10).contains("not an OCI image manifest"));
    }

    #[test]
    fn the_artifact_pushed_is_the_cncf_layout_and_passes_its_own_checks() {
        let world = World {
            imports: vec!["reddalert:rules/log@0.1.1".into()],
            exports: vec!["reddalert:rules/guest@0.1.1".into()],
        };
        let (manifest, config) =
            module_artifact(b"\0asm", "elbs.wasm", &world, "2026-01-01T00:00:00Z").unwrap();
        let parsed = Manifest::parse(&manifest).unwrap();
        let layer = parsed.module_layer(4).unwrap();
        assert_eq!(layer.digest, sha256_digest(b"\0asm"));
        assert_eq!(parsed.config.digest, sha256_digest(&config));
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(config["os"], "wasip2");
        assert_eq!(config["layerDigests"][0], layer.digest);
        assert_eq!(
            config["component"]["exports"][0],
            "reddalert:rules/guest@0.1.1"
        );
    }

    #[test]
    fn digests_are_lowercase_sha256_only() {
        assert!(sha256_hex_of(&sha256_digest(b"x")).is_ok());
        for bad in [
            "sha512:00",
            "sha256:AB",
            &format!("sha256:{}", "A".repeat(64)),
            "ab",
        ] {
            assert!(sha256_hex_of(bad).is_err(), "{bad}");
        }
    }
}
