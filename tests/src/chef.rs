//! A fake Chef server API on `127.0.0.1` for the Chef capability: `POST
//! /organizations/<org>/search/node?q=&rows=&start=` with partial-search attributes, answering
//! pages of `{"total", "start", "rows": [{"url", "data"}]}`. It **verifies every request's
//! signature** with the client's public key, following Chef's signed-header protocol (versions
//! 1.1 and 1.3) independently of the host's code, and answers 401 to a bad one. It can answer
//! 503 to the next requests, to test retries. Keys come from [`generate_key`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::{Pkcs1v15Sign, PrivateKey, PublicKey};
use serde_json::{Value, json};
use sha1::Digest as _;

use crate::http::{HttpServer, Reply, Request, lock};

/// A fresh client key (3072 bits, from the OS's randomness): (private key as PKCS#1 PEM, as
/// Chef writes them; public key).
pub fn generate_key() -> (String, PublicKey) {
    let key = <PrivateKey as rsa::Generate>::generate();
    let pem = key
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("encode the key as PEM")
        .to_string();
    (pem, key.to_public_key())
}

struct State {
    public: PublicKey,
    client: String,
    nodes: Vec<Value>,
    failures_left: AtomicUsize,
    verified: AtomicUsize,
    rejected: Mutex<Vec<String>>,
}

/// A running fake Chef server.
pub struct FakeChef {
    server: HttpServer,
    state: Arc<State>,
}

impl FakeChef {
    /// Serves `nodes` (full node documents) to the client `client` holding the key `public`.
    pub fn start(client: &str, public: PublicKey, nodes: Vec<Value>) -> FakeChef {
        let state = Arc::new(State {
            public,
            client: client.to_owned(),
            nodes,
            failures_left: AtomicUsize::new(0),
            verified: AtomicUsize::new(0),
            rejected: Mutex::new(Vec::new()),
        });
        let s = state.clone();
        let server = HttpServer::start(move |req| handle(&s, req));
        FakeChef { server, state }
    }

    /// The server URL a client is configured with (organization `ops`).
    pub fn url(&self) -> String {
        format!("{}/organizations/ops", self.server.url())
    }

    /// The next `n` requests answer 503.
    pub fn fail_next(&self, n: usize) {
        self.state.failures_left.store(n, Ordering::SeqCst);
    }

    /// Requests whose signature checked out.
    pub fn verified(&self) -> usize {
        self.state.verified.load(Ordering::SeqCst)
    }

    /// Why requests were refused, one line each.
    pub fn rejected(&self) -> Vec<String> {
        lock(&self.state.rejected).clone()
    }

    /// Every request received (including refused and failed ones).
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

fn handle(state: &State, req: &Request) -> Reply {
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    if let Err(why) = verify(state, req, path) {
        lock(&state.rejected).push(why.clone());
        return Reply::json(401, &json!({"error": [why]}));
    }
    state.verified.fetch_add(1, Ordering::SeqCst);
    if state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Reply::json(503, &json!({"error": ["injected failure"]}));
    }
    if req.method != "POST" || path != "/organizations/ops/search/node" {
        return Reply::json(404, &json!({"error": ["not found"]}));
    }
    let arg = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(|v| v.replace("%3A", ":").replace("%2A", "*"))
    };
    let rows: usize = arg("rows").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let start: usize = arg("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let q = arg("q").unwrap_or_default();
    let Ok(Value::Object(attributes)) = serde_json::from_slice::<Value>(&req.body) else {
        return Reply::json(
            400,
            &json!({"error": ["the body is not a partial search object"]}),
        );
    };
    let matching: Vec<&Value> = state.nodes.iter().filter(|n| matches(&q, n)).collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(rows)
        .map(|node| {
            let data: serde_json::Map<String, Value> = attributes
                .iter()
                .map(|(name, path)| {
                    let mut v = *node;
                    for part in path.as_array().into_iter().flatten() {
                        v = &v[part.as_str().unwrap_or_default()];
                    }
                    (name.clone(), v.clone())
                })
                .collect();
            json!({"url": format!("/nodes/{}", node["name"].as_str().unwrap_or_default()), "data": data})
        })
        .collect();
    Reply::json(
        200,
        &json!({"total": matching.len(), "start": start, "rows": page}),
    )
}

/// `*:*` matches every node; `field:value` matches a top-level field.
fn matches(query: &str, node: &Value) -> bool {
    match query.split_once(':') {
        Some(("*", "*")) | None => true,
        Some((field, value)) => node[field].as_str() == Some(value),
    }
}

/// Chef's signed-header check, written from the protocol description.
fn verify(state: &State, req: &Request, path: &str) -> Result<(), String> {
    let header = |name: &str| req.header(name).ok_or(format!("missing header {name}"));
    let sign = header("x-ops-sign")?;
    let user = header("x-ops-userid")?;
    let timestamp = header("x-ops-timestamp")?;
    let content_hash = header("x-ops-content-hash")?;
    if user != state.client {
        return Err(format!("unknown client {user:?}"));
    }
    let mut parts: Vec<(usize, &str)> = req
        .headers
        .iter()
        .filter_map(|(n, v)| {
            Some((
                n.strip_prefix("x-ops-authorization-")?.parse().ok()?,
                v.as_str(),
            ))
        })
        .collect();
    parts.sort();
    let signature = BASE64
        .decode(parts.iter().map(|(_, v)| *v).collect::<String>())
        .map_err(|e| format!("signature is not base64: {e}"))?;
    let b64_sha1 = |bytes: &[u8]| BASE64.encode(sha1::Sha1::digest(bytes));
    if sign.contains("version=1.3") {
        let expected = BASE64.encode(rsa::sha2::Sha256::digest(&req.body));
        if content_hash != expected {
            return Err("X-Ops-Content-Hash does not match the body (sha256)".into());
        }
        let api = header("x-ops-server-api-version")?;
        let canonical = format!(
            "Method:{}\nPath:{path}\nX-Ops-Content-Hash:{content_hash}\nX-Ops-Sign:version=1.3\nX-Ops-Timestamp:{timestamp}\nX-Ops-UserId:{user}\nX-Ops-Server-API-Version:{api}",
            req.method
        );
        state
            .public
            .pkcs1v15_verify::<rsa::sha2::Sha256>(canonical.as_bytes(), &signature)
            .map_err(|e| format!("bad 1.3 signature: {e}"))
    } else if sign.contains("version=1.1") {
        if content_hash != b64_sha1(&req.body) {
            return Err("X-Ops-Content-Hash does not match the body (sha1)".into());
        }
        let canonical = format!(
            "Method:{}\nHashed Path:{}\nX-Ops-Content-Hash:{content_hash}\nX-Ops-Timestamp:{timestamp}\nX-Ops-UserId:{}",
            req.method,
            b64_sha1(path.as_bytes()),
            b64_sha1(user.as_bytes())
        );
        state
            .public
            .verify(
                Pkcs1v15Sign::new_unprefixed(),
                canonical.as_bytes(),
                &signature,
            )
            .map_err(|e| format!("bad 1.1 signature: {e}"))
    } else {
        Err(format!("unsupported X-Ops-Sign {sign:?}"))
    }
}
