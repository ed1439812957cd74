//! The host's plain view of the rule contract (`wit/rules.wit`): what a rule declares, what it
//! is given, what it returns, the limits it runs under and the services the host offers it.
//! The engine converts wasmtime's generated types to and from these, so nothing else in the
//! host depends on wasmtime.

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
    pub queries: Vec<Query>,
    pub capabilities: Vec<Capability>,
    pub default_config: serde_json::Value,
}

/// The time window of a run, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// (declared query path, body) in declaration order.
    pub data: Vec<(String, std::sync::Arc<str>)>,
    pub window: Window,
}

/// One finding of a rule (the host adds the rule's name).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Finding {
    pub id: String,
    pub details: serde_json::Value,
}

/// What one evaluation returns.
#[derive(Debug, Clone)]
pub struct RuleOutput {
    pub findings: Vec<Finding>,
    pub state: Option<serde_json::Value>,
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

/// The services the host offers one rule during one evaluation. Every call is attributed to
/// that rule and checked against what it declared and what the operator granted.
pub trait HostServices: Send + Sync {
    /// A log line from the guest.
    fn log(&self, level: LogLevel, message: &str);
    /// A data-dependent EDDA query.
    fn edda(&self, query: &Query) -> Result<String, EddaCallError>;
    /// Whether the rule may use a network capability (the host side of those arrives with
    /// the capability issue; until then every call is denied).
    fn net_denied(&self, capability: Capability) -> NetError {
        let _ = capability;
        NetError::Denied
    }
}
