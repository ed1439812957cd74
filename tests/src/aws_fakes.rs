//! Loopback fakes of the AWS services the host's credential chain and client talk to, each
//! speaking the real protocol and checking what it is sent: STS answering
//! `AssumeRoleWithWebIdentity` only for the token and role it expects (and only unsigned, as
//! the SDKs send it); an IMDSv2 that hands out a session token on PUT and refuses every GET
//! without it; a container credentials endpoint that checks the `Authorization` header; and a
//! scripted AWS API that answers the n-th request with the n-th reply (throttling, 5xx,
//! errors), counting what it saw. Built on [`crate::http::HttpServer`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::http::{HttpServer, Reply, Request};

/// Temporary credentials a fake hands out.
#[derive(Debug, Clone)]
pub struct FakeKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// ISO 8601, as AWS writes it.
    pub expiration: String,
}

impl FakeKeys {
    /// Keys named after `who` (`ASIA<WHO>`), expiring at `expiration`.
    pub fn new(who: &str, expiration: &str) -> FakeKeys {
        FakeKeys {
            access_key_id: format!("ASIA{}", who.to_ascii_uppercase()),
            secret_access_key: format!("secret-of-{who}"),
            session_token: format!("token-of-{who}"),
            expiration: expiration.to_owned(),
        }
    }

    /// The JSON of the container and instance metadata endpoints.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "Code": "Success",
            "Type": "AWS-HMAC",
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.session_token,
            "Expiration": self.expiration,
            "LastUpdated": "2026-01-01T00:00:00Z",
        })
    }

    /// STS's answer to `action`.
    pub fn sts_xml(&self, action: &str) -> String {
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <{action}Result><Credentials><AccessKeyId>{}</AccessKeyId>\
             <SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken>\
             <Expiration>{}</Expiration></Credentials></{action}Result>\
             <ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata>\
             </{action}Response>",
            self.access_key_id, self.secret_access_key, self.session_token, self.expiration
        )
    }
}

/// A Query-protocol error body (`<ErrorResponse><Error>`).
pub fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{message}</Message></Error><RequestId>fake-{code}</RequestId></ErrorResponse>"
    )
}

fn xml(status: u16, body: String) -> Reply {
    Reply {
        status,
        content_type: "text/xml",
        body: body.into_bytes(),
        location: None,
    }
}

/// An `application/x-www-form-urlencoded` body, decoded.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// STS answering `AssumeRoleWithWebIdentity` for one token and one role.
pub fn web_identity_sts(token: &str, role_arn: &str, keys: FakeKeys) -> HttpServer {
    let (token, role_arn) = (token.to_owned(), role_arn.to_owned());
    HttpServer::start(move |request: &Request| {
        let params = form(&request.body);
        if request.method != "POST" || param(&params, "Action") != Some("AssumeRoleWithWebIdentity")
        {
            return xml(
                400,
                error_xml("InvalidAction", "only AssumeRoleWithWebIdentity"),
            );
        }
        if request.header("authorization").is_some() {
            return xml(400, error_xml("InvalidRequest", "this call is not signed"));
        }
        if param(&params, "Version") != Some("2011-06-15")
            || param(&params, "RoleSessionName").is_none_or(str::is_empty)
        {
            return xml(
                400,
                error_xml("MissingParameter", "Version, RoleSessionName"),
            );
        }
        if param(&params, "WebIdentityToken") != Some(token.as_str()) {
            return xml(
                400,
                error_xml("InvalidIdentityToken", "the token is not valid"),
            );
        }
        if param(&params, "RoleArn") != Some(role_arn.as_str()) {
            return xml(
                403,
                error_xml("AccessDenied", "not authorized to assume the role"),
            );
        }
        xml(200, keys.sts_xml("AssumeRoleWithWebIdentity"))
    })
}

/// The session token the fake instance metadata service hands out.
pub const IMDS_TOKEN: &str = "imds-session-token";

/// IMDSv2 with one role: PUT `/latest/api/token` (with a TTL header) gives [`IMDS_TOKEN`];
/// a GET without it is refused with 401, as an instance that requires IMDSv2 does.
pub fn imds(role: &str, keys: FakeKeys) -> HttpServer {
    let role = role.to_owned();
    HttpServer::start(move |request: &Request| {
        const ROLES: &str = "/latest/meta-data/iam/security-credentials/";
        if request.method == "PUT" && request.path == "/latest/api/token" {
            return match request.header("x-aws-ec2-metadata-token-ttl-seconds") {
                Some(_) => Reply::text(200, IMDS_TOKEN),
                None => Reply::text(400, "missing the TTL header"),
            };
        }
        if request.header("x-aws-ec2-metadata-token") != Some(IMDS_TOKEN) {
            return Reply::text(401, "");
        }
        match request.path.strip_prefix(ROLES) {
            Some("") => Reply::text(200, &role),
            Some(name) if name == role => Reply::json(200, &keys.json()),
            _ => Reply::text(404, "Not Found"),
        }
    })
}

/// A container credentials endpoint answering `path` for one `Authorization` value.
pub fn container(path: &str, authorization: Option<&str>, keys: FakeKeys) -> HttpServer {
    let (path, authorization) = (path.to_owned(), authorization.map(str::to_owned));
    HttpServer::start(move |request: &Request| {
        if request.method != "GET" || request.path != path {
            return Reply::text(404, "Not Found");
        }
        if request.header("authorization") != authorization.as_deref() {
            return Reply::json(
                401,
                &serde_json::json!({"code": "AccessDenied", "message": "bad token"}),
            );
        }
        Reply::json(200, &keys.json())
    })
}

/// An AWS API that answers the n-th request with the n-th reply (the last one again past
/// the end), and counts them.
pub struct Scripted {
    pub server: HttpServer,
    seen: Arc<AtomicUsize>,
}

impl Scripted {
    pub fn start(replies: Vec<(u16, String)>) -> Scripted {
        assert!(!replies.is_empty(), "a scripted server needs a reply");
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        let server = HttpServer::start(move |_: &Request| {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let (status, body) = replies[n.min(replies.len() - 1)].clone();
            xml(status, body)
        });
        Scripted { server, seen }
    }

    /// Requests answered so far.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        self.server.url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        assert_eq!(
            form(b"Action=A&Token=a%2Bb%3D%3D&x=1+2&e="),
            vec![
                ("Action".into(), "A".into()),
                ("Token".into(), "a+b==".into()),
                ("x".into(), "1 2".into()),
                ("e".into(), String::new()),
            ]
        );
    }
}
