//! Calls from a rule to the host: logging and data-dependent EDDA queries, one at a time or
//! in a batch the host runs concurrently. On native targets (a rule's unit tests) the WIT
//! imports do not exist, so these fall back to stderr and to the canned responses of
//! [`crate::testing`].

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
        use crate::bindings::log::{Level as L, log};
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
/// shares its per-run cache; the body is JSON, or text for `_diff`. Many such queries go
/// faster through [`edda_query_many`].
pub fn edda_query(query: &Query) -> Result<String, EddaError> {
    #[cfg(target_family = "wasm")]
    {
        crate::bindings::edda::fetch(&query_to_wit(query)).map_err(error_from_wit)
    }
    #[cfg(not(target_family = "wasm"))]
    canned_edda(query)
}

/// Runs many data-dependent EDDA queries at once: the host fetches them concurrently (a few at
/// a time) and answers in request order, each answer what [`edda_query`] would give. Each
/// query counts against the rule's query budget; those past it answer
/// [`EddaError::LimitExceeded`] while the others are still answered. A rule that asks one
/// query per changed resource should batch (in chunks, to bound the memory the answers take).
/// The import is `fetch-many` of interface 0.1.1: hosts older than that refuse the module.
pub fn edda_query_many(queries: &[Query]) -> Vec<Result<String, EddaError>> {
    #[cfg(target_family = "wasm")]
    {
        let queries: Vec<_> = queries.iter().map(query_to_wit).collect();
        crate::bindings::edda::fetch_many(&queries)
            .into_iter()
            .map(|r| r.map_err(error_from_wit))
            .collect()
    }
    #[cfg(not(target_family = "wasm"))]
    queries.iter().map(canned_edda).collect()
}

#[cfg(target_family = "wasm")]
fn query_to_wit(query: &Query) -> crate::bindings::types::Query {
    crate::bindings::types::Query {
        path: query.path.clone(),
        window: query.window,
        updated_only: query.updated_only,
    }
}

#[cfg(target_family = "wasm")]
fn error_from_wit(err: crate::bindings::types::EddaError) -> EddaError {
    use crate::bindings::types;
    match err {
        types::EddaError::Denied => EddaError::Denied,
        types::EddaError::InvalidQuery(msg) => EddaError::InvalidQuery(msg),
        types::EddaError::Http(e) => EddaError::Http {
            status: e.status,
            name: e.name,
            message: e.message,
        },
        types::EddaError::Transport(msg) => EddaError::Transport(msg),
        types::EddaError::LimitExceeded => EddaError::LimitExceeded,
    }
}

/// The canned answer for `query` on native targets: a query the test gave no answer for is a
/// transport error naming it.
#[cfg(not(target_family = "wasm"))]
fn canned_edda(query: &Query) -> Result<String, EddaError> {
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
    /// The answers [`edda_query`] and [`edda_query_many`] give on native targets, by query path, as
    /// [`crate::testing::Harness`] installs them (net, chef and s3 keep theirs the same way).
    static CANNED_EDDA: std::cell::RefCell<std::collections::HashMap<String, Result<String, EddaError>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Replaces the canned answers of [`edda_query`] and [`edda_query_many`] on native targets (in wasm the host answers).
pub(crate) fn install_canned_edda(
    answers: std::collections::HashMap<String, Result<String, EddaError>>,
) {
    CANNED_EDDA.with(|canned| *canned.borrow_mut() = answers);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answers_each_query_as_a_single_fetch_would() {
        let bad = EddaError::Http {
            status: 400,
            name: Some("BAD_REQUEST".into()),
            message: "_diff requires at least 2 documents, only 1 found".into(),
        };
        install_canned_edda(
            [
                ("aws/iamUsers/a".to_owned(), Ok("{}".to_owned())),
                ("aws/iamUsers/b;_diff=200".to_owned(), Err(bad.clone())),
            ]
            .into(),
        );
        let queries = [
            Query::current("aws/iamUsers/b;_diff=200"),
            Query::current("aws/iamUsers/missing"),
            Query::current("aws/iamUsers/a"),
        ];
        let many = edda_query_many(&queries);
        let one: Vec<_> = queries.iter().map(edda_query).collect();
        assert_eq!(many, one);
        assert_eq!(many[0], Err(bad));
        assert!(
            matches!(&many[1], Err(EddaError::Transport(why)) if why.contains("no canned response")),
            "{:?}",
            many[1]
        );
        assert_eq!(many[2], Ok("{}".to_owned()));
        assert_eq!(edda_query_many(&[]), vec![]);
    }
}
