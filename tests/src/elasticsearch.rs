//! A fake Elasticsearch that implements `POST [/<index>]/_bulk` the way the real one does:
//! NDJSON action/source line pairs (the body must end in a newline), `create` refusing an
//! existing `_id` with 409 `version_conflict_engine_exception`, `index` overwriting, a
//! top-level `errors` flag that is true when any item failed, and per-item statuses in
//! request order. Tests can make chosen items of the next request fail (a partial 429), make
//! the whole service answer an error or answer slowly, and require an `Authorization` header.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http::{HttpServer, Reply, Request, lock};

/// One operation of a `_bulk` request, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOp {
    pub action: String,
    pub index: String,
    pub id: String,
    pub source: Value,
}

#[derive(Default)]
struct State {
    docs: BTreeMap<(String, String), Value>,
    item_faults: VecDeque<Vec<Option<u16>>>,
    unavailable: Option<u16>,
    auth: Option<String>,
    bulks: Vec<Vec<BulkOp>>,
    delay: std::time::Duration,
}

pub struct FakeElasticsearch {
    server: HttpServer,
    state: Arc<Mutex<State>>,
}

impl FakeElasticsearch {
    pub fn start() -> FakeElasticsearch {
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let server = HttpServer::start(move |req| {
            // Half the delay before indexing and half after, so that a client killed while it
            // waits may find its documents indexed but never confirmed.
            let half = lock(&s).delay / 2;
            std::thread::sleep(half);
            let reply = handle(&mut lock(&s), req);
            std::thread::sleep(half);
            reply
        });
        FakeElasticsearch { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Answer 401 unless requests carry exactly this `Authorization` value.
    pub fn require_auth(&self, value: &str) {
        lock(&self.state).auth = Some(value.to_owned());
    }

    /// The next `_bulk` request answers item `n` with `statuses[n]` when it is `Some`.
    pub fn fail_items_next(&self, statuses: Vec<Option<u16>>) {
        lock(&self.state).item_faults.push_back(statuses);
    }

    /// Every request takes this long to answer (a slow cluster).
    pub fn set_delay(&self, delay: std::time::Duration) {
        lock(&self.state).delay = delay;
    }

    /// Every request answers this status (e.g. 503) until cleared with `None`.
    pub fn set_unavailable(&self, status: Option<u16>) {
        lock(&self.state).unavailable = status;
    }

    /// The operations of every well-formed `_bulk` request, in order.
    pub fn bulks(&self) -> Vec<Vec<BulkOp>> {
        lock(&self.state).bulks.clone()
    }

    /// Indexed documents: (index, id) -> source.
    pub fn documents(&self) -> BTreeMap<(String, String), Value> {
        lock(&self.state).docs.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

fn error(status: u16, kind: &str, reason: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason}, "status": status}),
    )
}

fn handle(state: &mut State, req: &Request) -> Reply {
    if let Some(expected) = &state.auth
        && req.header("authorization") != Some(expected.as_str())
    {
        return error(
            401,
            "security_exception",
            "missing authentication credentials for REST request [/_bulk]",
        );
    }
    if let Some(status) = state.unavailable {
        return error(
            status,
            "cluster_block_exception",
            "blocked by: [SERVICE_UNAVAILABLE/2/no master];",
        );
    }
    let path = req.path.split('?').next().unwrap_or_default();
    let default_index = path
        .strip_suffix("/_bulk")
        .map(|p| p.trim_start_matches('/'));
    let Some(default_index) = default_index.or(if path == "/_bulk" { Some("") } else { None })
    else {
        return error(404, "index_not_found_exception", "no such index");
    };
    if req.method != "POST" && req.method != "PUT" {
        return error(405, "illegal_argument_exception", "Incorrect HTTP method");
    }
    let content_type = req.header("content-type").unwrap_or_default();
    if !(content_type.starts_with("application/x-ndjson")
        || content_type.starts_with("application/json"))
    {
        return Reply::json(
            406,
            &json!({"error": format!("Content-Type header [{content_type}] is not supported"), "status": 406}),
        );
    }
    let body = req.body_text();
    if !body.ends_with('\n') {
        return error(
            400,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        );
    }
    let ops = match parse(&body, default_index) {
        Ok(ops) => ops,
        Err(reason) => return error(400, "x_content_parse_exception", &reason),
    };
    let faults = state.item_faults.pop_front().unwrap_or_default();
    let mut items = Vec::new();
    let mut errors = false;
    for (n, op) in ops.iter().enumerate() {
        let key = (op.index.clone(), op.id.clone());
        let base = json!({"_index": op.index, "_id": op.id});
        let item = match faults.get(n).copied().flatten() {
            Some(429) => item_error(
                base,
                429,
                "es_rejected_execution_exception",
                "rejected execution of coordinating operation",
            ),
            Some(status) => item_error(
                base,
                status,
                "injected_failure",
                "failure injected by the test",
            ),
            None if op.action == "create" && state.docs.contains_key(&key) => item_error(
                base,
                409,
                "version_conflict_engine_exception",
                &format!(
                    "[{}]: version conflict, document already exists (current version [1])",
                    op.id
                ),
            ),
            None => {
                let created = state.docs.insert(key, op.source.clone()).is_none();
                let (status, result) = if created {
                    (201, "created")
                } else {
                    (200, "updated")
                };
                let mut ok = base;
                ok["_version"] = json!(1);
                ok["result"] = json!(result);
                ok["status"] = json!(status);
                ok
            }
        };
        errors |= item.get("error").is_some();
        items.push(json!({ op.action.clone(): item }));
    }
    state.bulks.push(ops);
    Reply::json(200, &json!({"took": 3, "errors": errors, "items": items}))
}

fn item_error(mut base: Value, status: u16, kind: &str, reason: &str) -> Value {
    base["status"] = json!(status);
    base["error"] = json!({"type": kind, "reason": reason});
    base
}

fn parse(body: &str, default_index: &str) -> Result<Vec<BulkOp>, String> {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let mut ops = Vec::new();
    while let Some(line) = lines.next() {
        let action: Value =
            serde_json::from_str(line).map_err(|e| format!("malformed action line: {e}"))?;
        let Some((name, meta)) = action
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return Err(format!("Malformed action/metadata line [{line}]"));
        };
        if !["index", "create", "update", "delete"].contains(&name.as_str()) {
            return Err(format!(
                "Malformed action/metadata line, expected one of [create, delete, index, update] but found [{name}]"
            ));
        }
        let index = meta["_index"].as_str().unwrap_or(default_index).to_owned();
        if index.is_empty() {
            return Err("index is missing".into());
        }
        let id = meta["_id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("auto-{}", uuid::Uuid::new_v4()));
        let source = if name == "delete" {
            Value::Null
        } else {
            let line = lines.next().ok_or("the source line is missing")?;
            serde_json::from_str(line).map_err(|e| format!("malformed source line: {e}"))?
        };
        ops.push(BulkOp {
            action: name.clone(),
            index,
            id,
            source,
        });
    }
    Ok(ops)
}
