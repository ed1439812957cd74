//! AWS Signature Version 4, for every request the host sends to AWS (the crawl's Query POSTs
//! and REST GETs, STS, the S3 capability). Written here (about two hundred lines over `hmac`
//! and `sha2`) rather than taken from `aws-sigv4`, which brings the aws-smithy runtime crates
//! and wants `http` request types: we sign only requests whose URLs and bodies we build
//! ourselves. Checked against AWS's published SigV4 test suite (below) and, in the tests,
//! against moto's signature verification.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::credentials::Credentials;

/// SHA-256 of an empty body, the payload hash of every GET.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A request as SigV4 sees it.
pub(super) struct Canonical<'a> {
    pub method: &'a str,
    /// The canonical URI ([`canonical_uri`]).
    pub uri: &'a str,
    /// [`canonical_query`] of the parameters.
    pub query: &'a str,
    /// Lower-case names and values of the signed headers, sorted by name.
    pub headers: &'a [(String, String)],
    pub payload_hash: &'a str,
}

/// What to sign: a request as it will be sent.
pub(super) struct Unsigned<'a> {
    pub method: &'a str,
    /// The `Host` header as sent (without the scheme's default port).
    pub host: &'a str,
    /// The path as it goes on the wire (already URI-encoded).
    pub path: &'a str,
    /// [`canonical_query`] of the parameters, also what goes on the wire.
    pub query: &'a str,
    /// Further headers to sign and send (`content-type`).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub region: &'a str,
    /// The signing name: `ec2`, `elasticloadbalancing`, `iam`, `route53`, `sts`, `s3`.
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
    /// Send and sign `x-amz-content-sha256` (S3 requires it).
    pub content_sha256: bool,
}

/// The headers to send with `request` (every signed header but `host`, then
/// `authorization`).
pub(super) fn sign(credentials: &Credentials, request: &Unsigned<'_>) -> Vec<(String, String)> {
    let payload_hash = payload_hash(request.body);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
        .collect();
    headers.push(("host".into(), request.host.to_owned()));
    headers.push(("x-amz-date".into(), request.amz_date.to_owned()));
    if request.content_sha256 {
        headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
    }
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    headers.sort();
    let uri = canonical_uri(request.path, request.service);
    let canonical = Canonical {
        method: request.method,
        uri: &uri,
        query: request.query,
        headers: &headers,
        payload_hash: &payload_hash,
    };
    let authorization = authorization(
        credentials,
        &canonical,
        request.region,
        request.service,
        request.amz_date,
    );
    headers.retain(|(n, _)| n != "host");
    headers.push(("authorization".into(), authorization));
    headers
}

/// The `Authorization` header value.
pub(super) fn authorization(
    credentials: &Credentials,
    request: &Canonical<'_>,
    region: &str,
    service: &str,
    amz_date: &str,
) -> String {
    let date = &amz_date[..amz_date.len().min(8)];
    let signed_headers: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
    let signed_headers = signed_headers.join(";");
    let mut canonical = format!("{}\n{}\n{}\n", request.method, request.uri, request.query);
    for (name, value) in request.headers {
        canonical.push_str(&format!("{name}:{}\n", header_value(value)));
    }
    canonical.push_str(&format!("\n{signed_headers}\n{}", request.payload_hash));
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A header value as signed: trimmed, runs of spaces collapsed to one.
fn header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lower-case hex SHA-256 of a body.
pub(super) fn payload_hash(body: &[u8]) -> String {
    if body.is_empty() {
        return EMPTY_SHA256.to_owned();
    }
    hex::encode(Sha256::digest(body))
}

/// The canonical URI of a path as sent: S3 signs it as it is; every other service signs it
/// URI-encoded once more.
pub(super) fn canonical_uri(wire_path: &str, service: &str) -> String {
    if wire_path.is_empty() {
        return "/".into();
    }
    if service == "s3" {
        wire_path.to_owned()
    } else {
        encode(wire_path, true)
    }
}

/// URI encoding as SigV4 wants it: everything but `A-Za-z0-9-_.~` as `%XX`, and `/` kept when
/// encoding a path.
pub(crate) fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parameters encoded and sorted by name, then value: the query string (or form body) sent
/// and signed.
pub(crate) fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (encode(k, false), encode(v, false)))
        .collect();
    encoded.sort();
    let pairs: Vec<String> = encoded
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "20150830T123600Z";
    const HOST: &str = "example.amazonaws.com";
    /// The session token of the suite's `post-sts-token` cases.
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    fn suite_credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
        )
    }

    /// Signs one case of AWS's SigV4 test suite (scope us-east-1/service) and returns the
    /// `Authorization` header.
    fn suite(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: &str,
        token: Option<&str>,
    ) -> String {
        let query = canonical_query(query);
        let request = Unsigned {
            method,
            host: HOST,
            path,
            query: &query,
            headers,
            body: body.as_bytes(),
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
            content_sha256: false,
        };
        let sent = sign(&suite_credentials(token), &request);
        assert!(sent.iter().all(|(n, _)| n != "host"), "{sent:?}");
        sent.into_iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v)
            .unwrap()
    }

    fn expected(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    /// The published vectors of AWS's SigV4 test suite (`aws-sig-v4-test-suite`), each named
    /// after its directory there.
    #[test]
    fn signs_the_published_test_suite() {
        let plain = "host;x-amz-date";
        for (name, got, signed, signature) in [
            (
                "get-vanilla",
                suite("GET", "/", &[], &[], "", None),
                plain,
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
            (
                "get-vanilla-query-order-key-case",
                suite(
                    "GET",
                    "/",
                    &[("Param2", "value2"), ("Param1", "value1")],
                    &[],
                    "",
                    None,
                ),
                plain,
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            (
                "get-utf8",
                suite("GET", "/ሴ", &[], &[], "", None),
                plain,
                "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
            ),
            (
                "get-header-value-trim",
                suite(
                    "GET",
                    "/",
                    &[],
                    &[("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")],
                    "",
                    None,
                ),
                "host;my-header1;my-header2;x-amz-date",
                "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
            ),
            (
                "post-vanilla",
                suite("POST", "/", &[], &[], "", None),
                plain,
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                "post-vanilla-query",
                suite("POST", "/", &[("Param1", "value1")], &[], "", None),
                plain,
                "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
            ),
            (
                "post-x-www-form-urlencoded",
                suite(
                    "POST",
                    "/",
                    &[],
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    "Param1=value1",
                    None,
                ),
                "content-type;host;x-amz-date",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            ),
            (
                "post-sts-token/post-sts-header-before",
                suite("POST", "/", &[], &[], "", Some(SUITE_TOKEN)),
                "host;x-amz-date;x-amz-security-token",
                "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
            ),
        ] {
            assert_eq!(got, expected(signed, signature), "{name}");
        }
    }

    #[test]
    fn the_body_is_what_is_signed() {
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let one = suite("POST", "/", &[], &form, "Param1=value1", None);
        let other = suite("POST", "/", &[], &form, "Param1=value2", None);
        assert_ne!(one, other);
        assert_eq!(
            payload_hash(b"Param1=value1"),
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
    }

    /// The worked example of AWS's SigV4 documentation (IAM ListUsers, 2015-08-30).
    #[test]
    fn signs_the_documented_example() {
        let headers = [
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("host".to_owned(), "iam.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let query = canonical_query(&[("Version", "2010-05-08"), ("Action", "ListUsers")]);
        assert_eq!(query, "Action=ListUsers&Version=2010-05-08");
        let request = Canonical {
            method: "GET",
            uri: "/",
            query: &query,
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        let auth = authorization(
            &suite_credentials(None),
            &request,
            "us-east-1",
            "iam",
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn s3_sends_the_payload_hash_and_signs_its_path_once() {
        let request = Unsigned {
            method: "GET",
            host: "bucket.s3.eu-west-1.amazonaws.com",
            path: "/a%20b",
            query: "acl=",
            headers: &[],
            body: b"",
            region: "eu-west-1",
            service: "s3",
            amz_date: DATE,
            content_sha256: true,
        };
        let sent = sign(&suite_credentials(Some("t")), &request);
        let names: Vec<&str> = sent.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-amz-content-sha256",
                "x-amz-date",
                "x-amz-security-token",
                "authorization"
            ]
        );
        assert_eq!(sent[0].1, EMPTY_SHA256);
        assert_eq!(canonical_uri("/a%20b", "s3"), "/a%20b");
        assert_eq!(canonical_uri("/a%20b", "route53"), "/a%2520b");
    }

    #[test]
    fn encodes_keys_and_queries_like_s3() {
        assert_eq!(encode("a b/c+d~é", true), "a%20b/c%2Bd~%C3%A9");
        assert_eq!(encode("a/b", false), "a%2Fb");
        assert_eq!(canonical_query(&[("acl", "")]), "acl=");
    }
}
