//! The keys of cosign's key-based signatures: ECDSA P-256 with SHA-256, public keys as PEM
//! `PUBLIC KEY` (PKIX SubjectPublicKeyInfo, as `cosign public-key` and `openssl pkey -pubout`
//! write them), private keys as PEM `PRIVATE KEY` (PKCS#8, as `openssl genpkey -algorithm EC
//! -pkeyopt ec_paramgen_curve:P-256` writes them). Verification and signing are ring's.
//! cosign's own encrypted key files (`ENCRYPTED SIGSTORE PRIVATE KEY`) are not read: sign
//! with cosign itself, or export the key as PKCS#8.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};

/// The DER of a P-256 SubjectPublicKeyInfo up to its uncompressed point: SEQUENCE, the
/// algorithm (id-ecPublicKey, prime256v1), then a BIT STRING of 66 bytes.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A P-256 public key that verifies cosign signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The uncompressed point (65 bytes, starting 0x04).
    point: Vec<u8>,
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` file.
    pub fn read(path: &Path) -> Result<PublicKey> {
        let pem = std::fs::read(path)
            .with_context(|| format!("failed to read the public key {}", path.display()))?;
        PublicKey::from_pem(&pem).with_context(|| format!("invalid public key {}", path.display()))
    }

    pub fn from_pem(pem: &[u8]) -> Result<PublicKey> {
        let der = SubjectPublicKeyInfoDer::from_pem_slice(pem).map_err(|err| {
            anyhow::anyhow!("no PEM `PUBLIC KEY` block ({err:?}); write it with `openssl pkey -pubout` or `cosign public-key`")
        })?;
        PublicKey::from_spki_der(der.as_ref())
    }

    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey> {
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 0x04 => Ok(PublicKey {
                point: point.to_vec(),
            }),
            _ => bail!(
                "not an ECDSA P-256 public key with an uncompressed point (cosign's key-based \
                 signatures are ECDSA P-256 with SHA-256)"
            ),
        }
    }

    /// The key as PEM `PUBLIC KEY`.
    #[cfg(test)]
    pub fn to_pem(&self) -> String {
        use base64::Engine as _;
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        let text = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// Whether `signature` (ASN.1 DER, as cosign and `openssl dgst -sign` write it) is this
    /// key's ECDSA P-256 SHA-256 signature over `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point)
            .verify(message, signature)
            .is_ok()
    }
}

/// A P-256 private key that signs.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl SigningKey {
    /// Reads a PEM `PRIVATE KEY` (PKCS#8) file.
    pub fn read(path: &Path) -> Result<SigningKey> {
        let pem = std::fs::read(path)
            .with_context(|| format!("failed to read the signing key {}", path.display()))?;
        SigningKey::from_pem(&pem)
            .with_context(|| format!("invalid signing key {}", path.display()))
    }

    pub fn from_pem(pem: &[u8]) -> Result<SigningKey> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|err| {
            anyhow::anyhow!(
                "no PEM `PRIVATE KEY` (PKCS#8) block ({err:?}); make one with `openssl genpkey \
                 -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, or convert a key with `openssl \
                 pkcs8 -topk8 -nocrypt`"
            )
        })?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            der.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|err| anyhow::anyhow!("not an ECDSA P-256 PKCS#8 key: {err}"))?;
        Ok(SigningKey { pair, rng })
    }

    /// The ASN.1 DER ECDSA P-256 SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let signature = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| anyhow::anyhow!("failed to sign"))?;
        Ok(signature.as_ref().to_vec())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            point: self.pair.public_key().as_ref().to_vec(),
        }
    }
}

#[cfg(test)]
impl SigningKey {
    /// A fresh key, through its PKCS#8 PEM.
    pub fn generate() -> SigningKey {
        use base64::Engine as _;
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{text}\n-----END PRIVATE KEY-----\n");
        SigningKey::from_pem(pem.as_bytes()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_another_kind_are_refused_with_what_to_do() {
        let err = format!("{:#}", PublicKey::from_pem(b"not pem").unwrap_err());
        assert!(err.contains("PUBLIC KEY"), "{err}");
        let err = format!("{:#}", SigningKey::from_pem(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").err().unwrap());
        assert!(err.contains("PKCS#8"), "{err}");
        // An Ed25519 SubjectPublicKeyInfo is not P-256.
        let ed25519 = [
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ]
        .iter()
        .copied()
        .chain([7u8; 32])
        .collect::<Vec<u8>>();
        let err = format!("{:#}", PublicKey::from_spki_der(&ed25519).unwrap_err());
        assert!(err.contains("P-256"), "{err}");
    }

    #[test]
    fn a_signature_verifies_with_its_key_and_round_trips_through_pem() {
        let key = SigningKey::generate();
        let signature = key.sign(b"payload").unwrap();
        let public = PublicKey::from_pem(key.public_key().to_pem().as_bytes()).unwrap();
        assert!(public.verifies(b"payload", &signature));
        assert!(!public.verifies(b"payloaD", &signature));
        assert!(
            !SigningKey::generate()
                .public_key()
                .verifies(b"payload", &signature)
        );
    }
}
