//! Chef's signed-header authentication, as `mixlib-authentication` (knife, chef-client) does
//! it. Version 1.1 (the default) signs a canonical request of SHA-1 hashes with a raw PKCS#1
//! v1.5 RSA signature ("private encrypt"); every Chef server accepts it, back to Chef 11, and it
//! is what chef-client itself sends unless told otherwise. Version 1.3 signs the request with
//! RSA-SHA256 and needs Chef Server 12.4 or later. The signature goes in `X-Ops-Authorization-N`
//! headers of 60 base64 characters each. The private key stays in the host.

use crate::config::SignVersion;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::{Pkcs1v15Sign, PrivateKey};
use sha1::Digest as _;

/// The Chef server API version requested (and signed, in 1.3).
pub(super) const SERVER_API_VERSION: &str = "1";

/// Reads a PEM private key, PKCS#1 (`BEGIN RSA PRIVATE KEY`, as Chef writes them) or PKCS#8.
pub(super) fn parse_key(pem: &str) -> Result<PrivateKey, String> {
    PrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| PrivateKey::from_pkcs8_pem(pem))
        .map_err(|e| format!("not an RSA private key in PEM form (PKCS#1 or PKCS#8): {e}"))
}

/// One request to sign.
pub(super) struct SignedRequest<'a> {
    pub method: &'a str,
    /// The URL path, without the query string.
    pub path: &'a str,
    pub body: &'a [u8],
    pub user: &'a str,
    /// UTC, `2026-11-25T10:00:00Z`.
    pub timestamp: &'a str,
}

/// The authentication headers of `request`.
pub(super) fn sign(
    key: &PrivateKey,
    version: SignVersion,
    request: &SignedRequest<'_>,
) -> Result<Vec<(String, String)>, String> {
    let method = request.method.to_ascii_uppercase();
    let path = canonical_path(request.path);
    let (content_hash, signature, sign_header) = match version {
        SignVersion::V1_1 => {
            let content_hash = BASE64.encode(sha1::Sha1::digest(request.body));
            let canonical = format!(
                "Method:{method}\nHashed Path:{}\nX-Ops-Content-Hash:{content_hash}\n\
                 X-Ops-Timestamp:{}\nX-Ops-UserId:{}",
                BASE64.encode(sha1::Sha1::digest(path.as_bytes())),
                request.timestamp,
                BASE64.encode(sha1::Sha1::digest(request.user.as_bytes())),
            );
            let signature = key
                .sign(Pkcs1v15Sign::new_unprefixed(), canonical.as_bytes())
                .map_err(|e| {
                    format!(
                        "failed to sign the Chef request (a 2048-bit key or larger is needed): {e}"
                    )
                })?;
            (content_hash, signature, "algorithm=sha1;version=1.1;")
        }
        SignVersion::V1_3 => {
            let content_hash = BASE64.encode(rsa::sha2::Sha256::digest(request.body));
            let canonical = format!(
                "Method:{method}\nPath:{path}\nX-Ops-Content-Hash:{content_hash}\n\
                 X-Ops-Sign:version=1.3\nX-Ops-Timestamp:{}\nX-Ops-UserId:{}\n\
                 X-Ops-Server-API-Version:{SERVER_API_VERSION}",
                request.timestamp, request.user,
            );
            let signature = key
                .pkcs1v15_sign::<rsa::sha2::Sha256>(canonical.as_bytes())
                .map_err(|e| format!("failed to sign the Chef request: {e}"))?;
            (content_hash, signature, "algorithm=sha256;version=1.3;")
        }
    };
    let mut headers = vec![
        ("X-Ops-Sign".to_owned(), sign_header.to_owned()),
        ("X-Ops-Userid".to_owned(), request.user.to_owned()),
        ("X-Ops-Timestamp".to_owned(), request.timestamp.to_owned()),
        ("X-Ops-Content-Hash".to_owned(), content_hash),
    ];
    let encoded = BASE64.encode(signature);
    for (i, chunk) in encoded.as_bytes().chunks(60).enumerate() {
        headers.push((
            format!("X-Ops-Authorization-{}", i + 1),
            String::from_utf8_lossy(chunk).into_owned(),
        ));
    }
    Ok(headers)
}

/// Repeated slashes squashed and a trailing slash dropped, as mixlib-authentication does.
fn canonical_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_canonical_as_in_mixlib() {
        assert_eq!(
            canonical_path("/organizations//ops/search/node/"),
            "/organizations/ops/search/node"
        );
        assert_eq!(canonical_path("/"), "/");
    }
}
