//! The host's plain view of the rule contract (`wit/rules.wit`): what a rule declares, what it
//! is given, what it returns, the limits it runs under and the services the host offers it.
//! The engine converts wasmtime's generated types to and from these, so nothing else in the
//! host depends on wasmtime.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// One EDDA query a rule declares or makes at run time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Query {
    /// Relative EDDA path with matrix arguments (`view/instances;_expand`).
    pub path: String,
    /// Append the run's window.
    pub window: bool,
    /// Only revisions created in the window (`;_updated`).
    pub updated_only: bool,
}

/// A query a rule declares, and how it asks for the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declared {
    #[serde(flatten)]
    pub query: Query,
    pub form: Form,
}

/// How a rule asks for a declared query's answer: EDDA's JSON (every 0.1.x rule), or an archive
/// of the collection's typed models (interface 0.2.0), made once per run for every rule that
/// asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    Json,
    Archive,
}

/// The answer to a declared query, shared by every rule of the run that reads it.
#[derive(Debug, Clone)]
pub enum Body {
    Json(Arc<str>),
    Archive(Arc<[u8]>),
}

/// A host service a rule may ask for at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Data-dependent EDDA queries.
    Edda,
    /// HTTP GET.
    Http,
    /// TCP connect probes.
    TcpProbe,
    /// Chef server node search.
    Chef,
    /// S3 ACL reads.
    S3,
}

/// What a rule says about itself.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub queries: Vec<Declared>,
    pub capabilities: Vec<Capability>,
    pub default_config: serde_json::Value,
}

/// The time window of a run, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Window {
    pub since_ms: u64,
    pub until_ms: u64,
}

/// Everything one evaluation gets.
#[derive(Debug, Clone)]
pub struct RuleInput {
    /// The merged config (JSON object).
    pub config: serde_json::Value,
    /// The state from the last successful run.
    pub state: Option<serde_json::Value>,
    /// (declared query path, answer) in declaration order.
    pub data: Vec<(String, Body)>,
    pub window: Window,
}

/// The most of an error text a rule hands over (its `evaluate` error, a trap's message) that is
/// kept, logged and stored; the rest is cut with a marker that says how long it was.
pub const MAX_ERROR_BYTES: usize = 16 * 1024;

/// `text` cut to at most `cap` bytes (on a character boundary), marked when cut.
pub fn bounded(text: String, cap: usize) -> String {
    if text.len() <= cap {
        text
    } else {
        cut(&text, cap)
    }
}

/// At most `cap` bytes of `text` copied (cut on a character boundary), marked with the whole
/// length when cut; nothing past `cap` is copied.
pub fn cut(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} […cut: {} bytes in all]", &text[..end], text.len())
}

/// Whether `c` could break a line-based format or drive a terminal: C0 and C1 controls
/// (newline, carriage return, escape, NUL, vertical tab, form feed, next line, ...), DEL, and
/// the Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Text a rule chose (an alert id, its details, a log line, its error) made safe for a text
/// output or the log: every unsafe character is escaped (`\n`, `\r`, `\t`, else `\u{1b}`), so
/// it stays one block or one line and can neither forge another line nor hide text in a
/// terminal.
pub fn escape_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What a rule's `info` may declare: queries, the bytes of each query path, of its
/// description, and of its default config. A module that declares more is refused alone.
pub const MAX_QUERIES: usize = 64;
pub const MAX_QUERY_BYTES: usize = 2048;
pub const MAX_INFO_TEXT_BYTES: usize = 4096;
pub const MAX_DEFAULT_CONFIG_BYTES: usize = 1 << 20;
/// What the host copies out of a guest's `info` at most (everything above fits in it).
pub const MAX_INFO_COPY_BYTES: usize = 4 << 20;

/// How deeply a rule's state and an alert's details may nest. The status file holds them a
/// few levels down and is read back with serde_json's limit of 128 levels, so a value
/// accepted from a rule is always readable again (a deeper one would stop every later run).
pub const MAX_JSON_DEPTH: usize = 64;

/// The nesting depth of a JSON value: 1 for a scalar, one more per array or object level.
pub fn json_depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 1,
    }
}

/// One alert as a rule returns it (the host adds the rule's name, window and account).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RuleAlert {
    pub id: String,
    pub details: serde_json::Value,
}

/// What one evaluation returns.
#[derive(Debug, Clone)]
pub struct RuleOutput {
    pub alerts: Vec<RuleAlert>,
    pub state: Option<serde_json::Value>,
    /// What the evaluation consumed (`test-rule` reports it).
    pub usage: Usage,
}

/// What one guest call consumed, measured by the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Fuel units burnt (roughly instructions), out of [`Limits::fuel`].
    pub fuel: u64,
    /// The largest total linear memory of the instance, bytes, out of [`Limits::memory_bytes`].
    pub peak_memory_bytes: usize,
    /// Wall-clock time of instantiation and the call.
    pub elapsed: Duration,
}

/// Bounds on one guest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wasm fuel units (roughly instructions).
    pub fuel: u64,
    /// Linear memory, bytes.
    pub memory_bytes: usize,
    /// Bytes of alerts and state the rule may return.
    pub output_bytes: usize,
    /// Wall-clock deadline of the call.
    pub timeout: Duration,
    /// Bytes of data-dependent EDDA answers one host call (`fetch`, or a whole `fetch-many`)
    /// may hand the rule: what the host holds for it at once.
    pub edda_call_bytes: u64,
    /// Bytes of data-dependent EDDA answers the rule may be handed in one evaluation.
    pub edda_run_bytes: u64,
}

/// Guest log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Why a data-dependent EDDA query failed, as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EddaCallError {
    Denied,
    InvalidQuery(String),
    Http {
        status: u16,
        name: Option<String>,
        message: String,
    },
    Transport(String),
    LimitExceeded,
}

/// Why a network, Chef or S3 call failed, as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    Denied,
    Timeout,
    Http(u16),
    Transport(String),
    LimitExceeded,
}

/// An HTTP response as a rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body, cut at the host's cap.
    pub body: Vec<u8>,
    /// The URL of the final response (after redirects when followed).
    pub final_url: String,
}

/// One page of an S3 listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectListing {
    pub keys: Vec<String>,
    pub common_prefixes: Vec<String>,
}

/// The services the host offers one rule during one evaluation. Every call is attributed to
/// that rule and checked against what it declared and what the operator granted.
pub trait HostServices: Send + Sync {
    /// A log line from the guest.
    fn log(&self, level: LogLevel, message: &str);
    /// A data-dependent EDDA query. The body is shared, never copied per rule: the engine
    /// lowers it into the guest as it is.
    fn edda(&self, query: &Query) -> Result<Arc<str>, EddaCallError>;
    /// Many data-dependent EDDA queries, answered in order (the host may run them
    /// concurrently); each counts as one [`HostServices::edda`].
    fn edda_many(&self, queries: &[Query]) -> Vec<Result<Arc<str>, EddaCallError>> {
        queries.iter().map(|q| self.edda(q)).collect()
    }
    /// Called when a capability call is refused, to log it; returns the error to give.
    fn net_denied(&self, capability: Capability) -> NetError {
        let _ = capability;
        NetError::Denied
    }
    /// HTTP GET (capability `http`).
    fn http_get(&self, url: &str, follow_redirects: bool) -> Result<HttpResponse, NetError> {
        let _ = (url, follow_redirects);
        Err(self.net_denied(Capability::Http))
    }
    /// Many HTTP GETs, answered in order (the host may run them concurrently).
    fn http_get_many(&self, requests: &[(String, bool)]) -> Vec<Result<HttpResponse, NetError>> {
        requests
            .iter()
            .map(|(url, follow)| self.http_get(url, *follow))
            .collect()
    }
    /// TCP connect probe (capability `tcp-probe`).
    fn tcp_probe(&self, host: &str, port: u16) -> Result<bool, NetError> {
        let _ = (host, port);
        Err(self.net_denied(Capability::TcpProbe))
    }
    /// Many probes, answered in order (the host may run them concurrently).
    fn tcp_probe_many(&self, targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
        targets
            .iter()
            .map(|(host, port)| self.tcp_probe(host, *port))
            .collect()
    }
    /// Chef node search (capability `chef`): JSON rows.
    fn chef_search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        let _ = (query, attributes);
        Err(self.net_denied(Capability::Chef))
    }
    /// S3 bucket names (capability `s3`).
    fn s3_list_buckets(&self) -> Result<Vec<String>, NetError> {
        Err(self.net_denied(Capability::S3))
    }
    /// A bucket's region.
    fn s3_bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        let _ = bucket;
        Err(self.net_denied(Capability::S3))
    }
    /// Keys and common prefixes under a prefix.
    fn s3_list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        let _ = (bucket, prefix, delimiter);
        Err(self.net_denied(Capability::S3))
    }
    /// A bucket's ACL grants as JSON.
    fn s3_bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        let _ = bucket;
        Err(self.net_denied(Capability::S3))
    }
    /// An object's ACL grants as JSON.
    fn s3_object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        let _ = (bucket, key);
        Err(self.net_denied(Capability::S3))
    }
}

/// The longest rule name, and version.
pub const MAX_NAME_BYTES: usize = 64;

/// Whether `name` is a rule name: `[a-z0-9][a-z0-9_-]{0,63}`, an identifier that can forge
/// no line and hide no escape wherever it is printed (account names follow it too).
pub fn is_rule_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.len() <= MAX_NAME_BYTES
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}
