//! Calls from a rule to the host: logging and data-dependent EDDA queries. On native targets
//! (a rule's unit tests) the WIT imports do not exist, so these fall back to stderr and to the
//! canned responses of [`crate::testing`].

use crate::types::Query;

/// Log levels, as the host's logger knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Progress worth seeing with `-v`.
    Info,
    /// Detail for debugging a rule.
    Debug,
    /// Very detailed.
    Trace,
}

/// Logs a message through the host, attributed to this rule.
pub fn log(level: Level, message: &str) {
    #[cfg(target_family = "wasm")]
    {
        use crate::bindings::reddalert::rules::log::{Level as L, log};
        let level = match level {
            Level::Error => L::Error,
            Level::Warn => L::Warn,
            Level::Info => L::Info,
            Level::Debug => L::Debug,
            Level::Trace => L::Trace,
        };
        log(level, message);
    }
    #[cfg(not(target_family = "wasm"))]
    {
        let captured = CAPTURED.with(|c| {
            c.borrow_mut()
                .as_mut()
                .map(|lines| lines.push((level, message.to_owned())))
                .is_some()
        });
        if !captured {
            eprintln!("[{level:?}] {message}");
        }
    }
}

#[cfg(not(target_family = "wasm"))]
thread_local! {
    /// Log lines kept by [`capture_logs`] instead of printed, on native targets.
    static CAPTURED: std::cell::RefCell<Option<Vec<(Level, String)>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns what it logged (native targets only: in wasm the host logs).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn capture_logs(f: impl FnOnce()) -> Vec<(Level, String)> {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(Vec::new()));
    f();
    CAPTURED
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), outer))
        .unwrap_or_default()
}

/// Why a data-dependent EDDA query failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EddaError {
    /// The rule did not declare the `edda` capability.
    Denied,
    /// The path is not a valid relative EDDA query.
    InvalidQuery(String),
    /// EDDA answered with an HTTP error.
    Http {
        /// HTTP status.
        status: u16,
        /// EDDA's error name (`BAD_REQUEST`), when the body had one.
        name: Option<String>,
        /// EDDA's message, or the start of a non-JSON body.
        message: String,
    },
    /// Connection, timeout or unreadable body.
    Transport(String),
    /// The run's per-rule query budget is used up.
    LimitExceeded,
}

impl std::fmt::Display for EddaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EddaError::Denied => write!(f, "EDDA queries are not granted to this rule"),
            EddaError::InvalidQuery(msg) => write!(f, "invalid EDDA query: {msg}"),
            EddaError::Http {
                status, message, ..
            } => write!(f, "EDDA answered {status}: {message}"),
            EddaError::Transport(msg) => write!(f, "EDDA transport error: {msg}"),
            EddaError::LimitExceeded => write!(f, "EDDA query budget used up"),
        }
    }
}

impl std::error::Error for EddaError {}

/// Runs an EDDA query that could not be declared up front (it depends on data). The host
/// shares its per-run cache; the body is JSON, or text for `_diff`.
pub fn edda_query(query: &Query) -> Result<String, EddaError> {
    #[cfg(target_family = "wasm")]
    {
        use crate::bindings::reddalert::rules::{edda, types};
        let q = types::Query {
            path: query.path.clone(),
            window: query.window,
            updated_only: query.updated_only,
        };
        edda::fetch(&q).map_err(|err| match err {
            types::EddaError::Denied => EddaError::Denied,
            types::EddaError::InvalidQuery(msg) => EddaError::InvalidQuery(msg),
            types::EddaError::Http(e) => EddaError::Http {
                status: e.status,
                name: e.name,
                message: e.message,
            },
            types::EddaError::Transport(msg) => EddaError::Transport(msg),
            types::EddaError::LimitExceeded => EddaError::LimitExceeded,
        })
    }
    #[cfg(not(target_family = "wasm"))]
    CANNED_EDDA.with(|canned| {
        canned
            .borrow()
            .get(&query.path)
            .cloned()
            .unwrap_or_else(|| {
                Err(EddaError::Transport(format!(
                    "no canned response for {:?} in the test",
                    query.path
                )))
            })
    })
}

thread_local! {
    /// The answers [`edda_query`] gives on native targets, by query path, as
    /// [`crate::testing::Harness`] installs them (net, chef and s3 keep theirs the same way).
    static CANNED_EDDA: std::cell::RefCell<std::collections::HashMap<String, Result<String, EddaError>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Replaces the canned answers of [`edda_query`] on native targets (in wasm the host answers).
pub(crate) fn install_canned_edda(
    answers: std::collections::HashMap<String, Result<String, EddaError>>,
) {
    CANNED_EDDA.with(|canned| *canned.borrow_mut() = answers);
}
