//! The three request shapes AWS's APIs take here, built and signed: a Query-protocol form POST
//! (`Action`, `Version` and the parameters in the body: EC2, ELB, IAM, STS), a REST-XML GET
//! (Route 53) and an S3 GET (with its payload hash header and its bucket addressing). Each is
//! built afresh per attempt, so its `x-amz-date` is current when it is sent.

use super::Service;
use super::credentials::Credentials;
use super::endpoint::{self, Endpoint};
use super::sigv4::{self, Unsigned};
use super::transport::Outgoing;

/// The content type of a Query-protocol body.
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// `YYYYMMDDTHHMMSSZ` now.
fn amz_date() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// A Query-protocol call; unsigned when `credentials` is `None` (STS's
/// `AssumeRoleWithWebIdentity`, whose proof is the token it carries).
pub(crate) fn query(
    endpoint: &Endpoint,
    service: Service,
    action: &str,
    params: &[(&str, String)],
    credentials: Option<&Credentials>,
) -> Outgoing {
    let version = service.query_version().unwrap_or_default();
    let mut all: Vec<(&str, &str)> = vec![("Action", action), ("Version", version)];
    all.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
    let body = sigv4::canonical_query(&all).into_bytes();
    let path = format!("{}/", endpoint.base_path());
    let headers = match credentials {
        Some(credentials) => sigv4::sign(
            credentials,
            &Unsigned {
                method: "POST",
                host: endpoint.host(),
                path: &path,
                query: "",
                headers: &[("content-type", FORM)],
                body: &body,
                region: &endpoint.signing_region,
                service: service.signing_name(),
                amz_date: &amz_date(),
                content_sha256: false,
            },
        ),
        None => vec![("content-type".to_owned(), FORM.to_owned())],
    };
    Outgoing {
        method: "POST",
        url: format!("{}{path}", endpoint.origin()),
        headers,
        body,
    }
}

/// A signed REST-XML GET of `path` (unencoded) with unencoded query parameters.
pub(crate) fn rest_get(
    endpoint: &Endpoint,
    service: Service,
    path: &str,
    params: &[(&str, String)],
    credentials: &Credentials,
) -> Outgoing {
    let wire_path = format!("{}{}", endpoint.base_path(), sigv4::encode(path, true));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    signed_get(
        endpoint.origin(),
        &wire_path,
        &sigv4::canonical_query(&pairs),
        &endpoint.signing_region,
        service,
        credentials,
    )
}

/// A signed S3 GET of the service (`bucket` `None`), a bucket, or an object (`key`).
pub(crate) fn s3_get(
    endpoint: &Endpoint,
    bucket: Option<&str>,
    key: Option<&str>,
    params: &[(&str, &str)],
    credentials: &Credentials,
) -> Outgoing {
    let key_path = key.map_or_else(
        || "/".to_owned(),
        |k| format!("/{}", sigv4::encode(k, true)),
    );
    let (origin, wire_path) = endpoint::s3_address(endpoint, bucket, &key_path);
    signed_get(
        &origin,
        &wire_path,
        &sigv4::canonical_query(params),
        &endpoint.signing_region,
        Service::S3,
        credentials,
    )
}

fn signed_get(
    origin: &str,
    wire_path: &str,
    query: &str,
    region: &str,
    service: Service,
    credentials: &Credentials,
) -> Outgoing {
    let headers = sigv4::sign(
        credentials,
        &Unsigned {
            method: "GET",
            host: endpoint::host_header(origin),
            path: wire_path,
            query,
            headers: &[],
            body: b"",
            region,
            service: service.signing_name(),
            amz_date: &amz_date(),
            content_sha256: service == Service::S3,
        },
    );
    let url = if query.is_empty() {
        format!("{origin}{wire_path}")
    } else {
        format!("{origin}{wire_path}?{query}")
    };
    Outgoing {
        method: "GET",
        url,
        headers,
        body: Vec::new(),
    }
}
