//! cosign's key-based signature format, read and written by hand from its public spec
//! (`specs/SIGNATURE_SPEC.md`): the signatures of a manifest with digest `sha256:<hex>` are
//! the layers of the manifest tagged `sha256-<hex>.sig` in the same repository, each a
//! "simple signing" payload (media type `application/vnd.dev.cosign.simplesigning.v1+json`)
//! whose annotation `dev.cosignproject.cosign/signature` is the base64 of an ECDSA P-256
//! SHA-256 signature (ASN.1 DER) over the payload's bytes. The payload's `critical.type` is
//! `cosign container image signature` and `critical.image.docker-manifest-digest` names the
//! signed manifest; `critical.identity.docker-reference` is not compared, so a mirror's copy
//! verifies. Sigstore bundles (cosign 3's default, stored as OCI referrers) and keyless
//! signatures (Fulcio certificates, Rekor entries) are not read.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::artifact::{Descriptor, IMAGE_MANIFEST, OCI_CONFIG, sha256_digest};
use super::keys::{PublicKey, SigningKey};

pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// The largest payload read: cosign's are a few hundred bytes.
pub const MAX_PAYLOAD_BYTES: u64 = 64 << 10;
/// The most signatures read for one manifest.
pub const MAX_SIGNATURES: usize = 64;

/// One signature as pulled and as kept in the lock: the payload's bytes and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The simple-signing payload, base64.
    pub payload: String,
    /// The annotation's value: the base64 of the DER signature.
    pub signature: String,
}

/// The tag under which cosign stores the signatures of `digest` (`sha256:<hex>`).
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

#[derive(Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    #[serde(default)]
    optional: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Why a signature does not count for a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("its payload or signature is not base64")]
    Encoding,
    #[error("its payload is not a cosign simple-signing payload: {0}")]
    Payload(String),
    #[error("it signs {0}, another manifest")]
    OtherDigest(String),
    #[error("no configured key verifies it")]
    NoKey,
}

/// Checks one signature for the manifest `digest` against `keys`; returns the positions in
/// `keys` of those that verify it.
pub fn check(
    signature: &Signature,
    digest: &str,
    keys: &[PublicKey],
) -> Result<Vec<usize>, Rejection> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(payload), Ok(der)) = (
        b64.decode(&signature.payload),
        b64.decode(&signature.signature),
    ) else {
        return Err(Rejection::Encoding);
    };
    let parsed: Payload =
        serde_json::from_slice(&payload).map_err(|err| Rejection::Payload(err.to_string()))?;
    if parsed.critical.kind != SIGNATURE_TYPE {
        return Err(Rejection::Payload(format!(
            "its critical.type is {:?}, not {SIGNATURE_TYPE:?}",
            parsed.critical.kind
        )));
    }
    if parsed.critical.image.docker_manifest_digest != digest {
        return Err(Rejection::OtherDigest(
            parsed.critical.image.docker_manifest_digest,
        ));
    }
    let verified: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, key)| key.verifies(&payload, &der))
        .map(|(i, _)| i)
        .collect();
    if verified.is_empty() {
        return Err(Rejection::NoKey);
    }
    Ok(verified)
}

/// Signs the manifest `digest` of `repository` (its reference without tag or digest).
pub fn sign(key: &SigningKey, repository: &str, digest: &str) -> anyhow::Result<Signature> {
    let payload = serde_json::to_vec(&Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: repository.to_owned(),
            },
            image: Image {
                docker_manifest_digest: digest.to_owned(),
            },
            kind: SIGNATURE_TYPE.to_owned(),
        },
        optional: None,
    })?;
    let der = key.sign(&payload)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(Signature {
        payload: b64.encode(&payload),
        signature: b64.encode(der),
    })
}

/// A blob to upload: its digest and its bytes.
pub type Blob = (String, Vec<u8>);

/// The signature manifest cosign writes: an OCI image manifest whose config is an empty image
/// config listing the layers, and one simple-signing layer per signature. Returns the
/// manifest's bytes and the blobs it refers to (config first), each with its digest.
pub fn signature_manifest(signatures: &[Signature]) -> anyhow::Result<(Vec<u8>, Vec<Blob>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut layers = Vec::new();
    let mut blobs = Vec::new();
    for signature in signatures {
        let payload = b64.decode(&signature.payload)?;
        let digest = sha256_digest(&payload);
        layers.push(Descriptor {
            media_type: SIMPLESIGNING.to_owned(),
            digest: digest.clone(),
            size: payload.len() as u64,
            annotations: Some(
                [(SIGNATURE_ANNOTATION.to_owned(), signature.signature.clone())].into(),
            ),
        });
        blobs.push((digest, payload));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| &l.digest).collect::<Vec<_>>()},
        "config": {},
    }))?;
    let config_digest = sha256_digest(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST,
        "config": Descriptor {
            media_type: OCI_CONFIG.to_owned(),
            digest: config_digest.clone(),
            size: config.len() as u64,
            annotations: None,
        },
        "layers": layers,
    }))?;
    blobs.insert(0, (config_digest, config));
    Ok((manifest, blobs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest() -> String {
        format!("sha256:{}", "ab".repeat(32))
    }

    #[test]
    fn a_signature_verifies_for_its_digest_and_key_only() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let again = PublicKey::from_pem(public.to_pem().as_bytes()).unwrap();
        assert_eq!(again, public);
        let signature = sign(&key, "registry.example.com/acme/elbs", &digest()).unwrap();
        assert_eq!(
            check(&signature, &digest(), std::slice::from_ref(&public)),
            Ok(vec![0])
        );

        let other = format!("sha256:{}", "cd".repeat(32));
        assert_eq!(
            check(&signature, &other, std::slice::from_ref(&public)),
            Err(Rejection::OtherDigest(digest()))
        );
        let stranger = SigningKey::generate().public_key();
        assert_eq!(
            check(&signature, &digest(), std::slice::from_ref(&stranger)),
            Err(Rejection::NoKey)
        );
        assert_eq!(
            check(&signature, &digest(), &[stranger, public]),
            Ok(vec![1])
        );

        // The same payload with one more byte (a space: still the same JSON) no longer verifies.
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut payload = b64.decode(&signature.payload).unwrap();
        payload.insert(1, b' ');
        let edited = Signature {
            payload: b64.encode(&payload),
            ..signature.clone()
        };
        assert_eq!(
            check(&edited, &digest(), &[key.public_key()]),
            Err(Rejection::NoKey)
        );
    }

    #[test]
    fn a_payload_of_another_type_or_shape_is_rejected() {
        let key = SigningKey::generate();
        let b64 = base64::engine::general_purpose::STANDARD;
        for (payload, says) in [
            (
                serde_json::json!({"critical": {"identity": {"docker-reference": "r"}, "image": {"docker-manifest-digest": digest()}, "type": "atomic container signature"}}),
                "critical.type",
            ),
            (serde_json::json!({"critical": {}}), "missing field"),
        ] {
            let bytes = payload.to_string().into_bytes();
            let signature = Signature {
                signature: b64.encode(key.sign(&bytes).unwrap()),
                payload: b64.encode(&bytes),
            };
            match check(&signature, &digest(), &[key.public_key()]) {
                Err(Rejection::Payload(why)) => assert!(why.contains(says), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        let garbled = Signature {
            payload: "%%%".into(),
            signature: String::new(),
        };
        assert_eq!(check(&garbled, &digest(), &[]), Err(Rejection::Encoding));
    }

    #[test]
    fn the_signature_tag_and_manifest_have_cosigns_shape() {
        assert_eq!(
            signature_tag(&digest()),
            format!("sha256-{}.sig", "ab".repeat(32))
        );
        let key = SigningKey::generate();
        let signature = sign(&key, "r/x", &digest()).unwrap();
        let (manifest, blobs) = signature_manifest(std::slice::from_ref(&signature)).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(doc["layers"][0]["mediaType"], SIMPLESIGNING);
        assert_eq!(
            doc["layers"][0]["annotations"][SIGNATURE_ANNOTATION],
            signature.signature
        );
        assert_eq!(blobs.len(), 2);
        assert_eq!(doc["config"]["digest"], blobs[0].0);
        assert_eq!(doc["layers"][0]["digest"], blobs[1].0);
        assert_eq!(blobs[1].0, sha256_digest(&blobs[1].1));
    }
}
