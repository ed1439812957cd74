//! The EDDA client. Each distinct request path is fetched once per run and shared by every
//! rule that asks (bodies are kept as `Arc<str>`, never re-parsed on the host beyond a cheap
//! validity check). Failures are classified so the run can decide: an unreachable EDDA is
//! fatal, while an HTTP error or a bad body fails only the rules that needed that query.

mod query;
pub mod snapshot;
mod store;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::config::EddaSource;
use crate::contract::{Query, Window};
pub(crate) use edda_engine::projection;
pub use query::{InvalidQuery, request_path, validate};
pub(crate) use store::StoreReader;

/// Why one EDDA request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EddaError {
    #[error(transparent)]
    InvalidQuery(#[from] InvalidQuery),
    #[error("EDDA is unreachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("EDDA answered {status}{} for {url}: {message}", name.as_ref().map(|n| format!(" {n}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        name: Option<String>,
        message: String,
    },
    #[error("EDDA's response for {url} is not JSON ({reason}); it starts with {snippet:?}")]
    NotJson {
        url: String,
        reason: String,
        snippet: String,
    },
    #[error("EDDA's response for {url} was cut short: {reason}")]
    Truncated { url: String, reason: String },
    #[error("no snapshot for query {query:?}: expected the file {}", path.display())]
    MissingSnapshot { query: String, path: PathBuf },
    #[error("failed to read snapshot {}: {reason}", path.display())]
    Snapshot { path: PathBuf, reason: String },
    #[error("the rule's deadline passed while it waited for EDDA ({url})")]
    Deadline { url: String },
    #[error("failed to read the EDDA store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
}

impl EddaError {
    /// Whether EDDA itself could not be reached (the run cannot go on).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EddaError::Unreachable { .. })
    }
}

/// EDDA's error body: `{"code":404,"name":"NOT_FOUND","message":"..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    code: u16,
    #[serde(default)]
    name: Option<String>,
    message: String,
}

type Cached = Result<Arc<str>, EddaError>;

/// A per-run EDDA client with a shared cache.
pub struct EddaClient {
    source: EddaSource,
    agent: ureq::Agent,
    timeout: Duration,
    max_response_bytes: u64,
    cache: Mutex<HashMap<String, Arc<std::sync::OnceLock<Cached>>>>,
    /// The store read when the source is one (`EddaClient::open`).
    store: Option<StoreReader>,
    recorder: Option<Mutex<Vec<(Query, Cached)>>>,
    /// Requests made and bytes of the bodies received, for the run's metrics.
    requests: AtomicU64,
    bytes: AtomicU64,
}

impl EddaClient {
    pub fn new(source: EddaSource, timeout: Duration, max_response_bytes: u64) -> EddaClient {
        let agent = crate::httpclient::agent_config(timeout).build().new_agent();
        EddaClient {
            source,
            agent,
            timeout,
            max_response_bytes,
            cache: Mutex::new(HashMap::new()),
            store: None,
            recorder: None,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// A client for any source: a store is opened now, as of its clock (a store that cannot
    /// be opened is an error, as an unreachable EDDA), with collections crawled longer than
    /// `max_staleness` before `now_ms` refused.
    pub(crate) fn open(
        source: EddaSource,
        timeout: Duration,
        max_response_bytes: u64,
        now_ms: u64,
        max_staleness: Duration,
    ) -> anyhow::Result<EddaClient> {
        let store = match &source {
            EddaSource::Store(path) => Some(StoreReader::open(path, now_ms, max_staleness)?),
            _ => None,
        };
        Ok(EddaClient {
            store,
            ..EddaClient::new(source, timeout, max_response_bytes)
        })
    }

    /// The latest `until` this client can answer for: a store's clock (its last commit) when
    /// the source is a store, none otherwise.
    pub(crate) fn until_limit(&self) -> Option<u64> {
        self.store.as_ref().map(|s| s.clock_ms().unwrap_or(0))
    }

    /// Keeps every distinct response (and failure) from now on, for `snapshot`.
    pub fn recording(mut self) -> EddaClient {
        self.recorder = Some(Mutex::new(Vec::new()));
        self
    }

    /// What was fetched since [`EddaClient::recording`], by query, in fetch order.
    pub fn recorded(&self) -> Vec<(Query, Cached)> {
        self.recorder.as_ref().map_or_else(Vec::new, |r| {
            r.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })
    }

    /// The API root requests go to: `<base>/api/v2/` (or `<base>/v2/` when the base already
    /// ends in `/api`).
    pub fn api_root(&self) -> String {
        match &self.source {
            EddaSource::Http(base) if base.ends_with("/api") => format!("{base}/v2/"),
            EddaSource::Http(base) => format!("{base}/api/v2/"),
            EddaSource::Snapshot(dir) => format!("{}/", dir.display()),
            EddaSource::Store(path) => format!("store:{}/", path.display()),
        }
    }

    /// Fetches a query (once per run per distinct request path).
    pub fn fetch(&self, query: &Query, window: Window) -> Cached {
        validate(&query.path)?;
        let path = request_path(query, window);
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.entry(path.clone()).or_default().clone()
        };
        // Concurrent askers of the same path wait for the first fetch instead of repeating it.
        cell.get_or_init(|| self.fetch_uncached(query, &path, None))
            .clone()
    }

    /// Like [`EddaClient::fetch`], for a rule's run-time query: the request ends by the
    /// rule's `deadline`. An answer cut short by the deadline is not cached, so another rule
    /// asking the same path tries again with its own time.
    pub fn fetch_by(&self, query: &Query, window: Window, deadline: Instant) -> Cached {
        let left = deadline.saturating_duration_since(Instant::now());
        if left >= self.timeout {
            return self.fetch(query, window);
        }
        validate(&query.path)?;
        let path = request_path(query, window);
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.entry(path.clone()).or_default().clone()
        };
        if let Some(done) = cell.get() {
            return done.clone();
        }
        let deadline_passed = || EddaError::Deadline {
            url: format!("{}{path}", self.api_root()),
        };
        if left.is_zero() {
            return Err(deadline_passed());
        }
        let result = self.fetch_uncached(query, &path, Some(left));
        if result.as_ref().is_err_and(EddaError::is_unreachable) && Instant::now() >= deadline {
            return Err(deadline_passed());
        }
        cell.get_or_init(|| result).clone()
    }

    /// How many distinct requests this run made.
    pub fn distinct_requests(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.len())
    }

    /// Requests sent (or snapshot files read), retries of a request cut by a deadline included.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Bytes of the bodies received (after decompression).
    pub fn bytes_received(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Fetches without the cache; `timeout`, when given, replaces the client's own.
    fn fetch_uncached(&self, query: &Query, path: &str, timeout: Option<Duration>) -> Cached {
        if self.recorder.is_some()
            && matches!(self.source, EddaSource::Http(_) | EddaSource::Store(_))
            && let Some((base, selector)) = projection::applicable(path)
        {
            // `snapshot` saves whole documents, whatever key list a rule selects: the query is
            // fetched (and recorded) without its selector and selected here, as a replay will
            // be. A filter only EDDA can answer is fetched, and saved, as it is.
            let whole = Query {
                path: projection::split(&query.path).0.to_owned(),
                ..query.clone()
            };
            let body = self.fetch_uncached(&whole, base, timeout)?;
            return select(&selector, &body).map_err(|reason| EddaError::NotJson {
                url: format!("{}{path}", self.api_root()),
                reason,
                snippet: snippet(&body),
            });
        }
        let started = Instant::now();
        let body = match &self.source {
            EddaSource::Http(_) => self.fetch_http(path, query, timeout),
            EddaSource::Snapshot(dir) => fetch_snapshot(dir, query),
            EddaSource::Store(store_path) => self.fetch_store(store_path, path, query),
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Ok(b) = &body {
            self.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        match &body {
            Ok(b) => tracing::debug!(
                path,
                bytes = b.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "fetched"
            ),
            Err(err) => tracing::debug!(path, error = %err, "fetch failed"),
        }
        if let Some(recorder) = &self.recorder {
            let mut recorded = recorder.lock().unwrap_or_else(|p| p.into_inner());
            recorded.push((query.clone(), body.clone()));
        }
        body
    }

    fn fetch_store(&self, store_path: &std::path::Path, path: &str, query: &Query) -> Cached {
        let url = format!("{}{path}", self.api_root());
        let Some(store) = &self.store else {
            return Err(EddaError::Store {
                path: store_path.to_owned(),
                reason: "the store was not opened (EddaClient::open)".into(),
            });
        };
        let text = store.fetch(&url, path)?;
        // The engine writes JSON: only a window's id listing needs the client's de-duplication.
        if query.window {
            return check_body(&url, text, query);
        }
        Ok(text.into())
    }

    fn fetch_http(&self, path: &str, query: &Query, timeout: Option<Duration>) -> Cached {
        let url = format!("{}{path}", self.api_root());
        let unreachable = |reason: String| EddaError::Unreachable {
            url: url.clone(),
            reason,
        };
        let request = self.agent.get(&url);
        let request = match timeout {
            Some(t) => request.config().timeout_global(Some(t)).build(),
            None => request,
        };
        let mut response = request.call().map_err(|err| unreachable(err.to_string()))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        let read = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .reader()
            .read_to_end(&mut bytes);
        if let Err(err) = read {
            return Err(EddaError::Truncated {
                url,
                reason: err.to_string(),
            });
        }
        let text = String::from_utf8(bytes).map_err(|err| EddaError::NotJson {
            url: url.clone(),
            reason: format!("not UTF-8: {err}"),
            snippet: String::new(),
        })?;
        if status >= 400 {
            return Err(status_error(&url, status, &text));
        }
        check_body(&url, text, query)
    }
}

fn status_error(url: &str, status: u16, text: &str) -> EddaError {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => EddaError::Status {
            url: url.to_owned(),
            status,
            name: body.name,
            message: body.message,
        },
        Err(_) => EddaError::Status {
            url: url.to_owned(),
            status,
            name: None,
            message: format!("non-JSON body starting {:?}", snippet(text)),
        },
    }
}

/// The body of a query with a field selector: the whole body, selected as EDDA would.
fn select(selector: &projection::Selector, body: &str) -> Result<Arc<str>, String> {
    let selected = selector.apply(body).map_err(|err| err.to_string())?;
    Ok(selected.into())
}

fn fetch_snapshot(dir: &std::path::Path, query: &Query) -> Cached {
    let path = snapshot::file_path(dir, query);
    // A query with a key list reads the file of the whole documents and selects; a file saved
    // for the selector itself (as hosts before selectors were applied here saved it) wins. A
    // filter's file is named with its selector (`file_path` keeps it) and read as it is.
    if let Some((_, selector)) = projection::applicable(&query.path) {
        let saved = dir.join(snapshot::selected_file_name(query));
        if !saved.is_file() {
            let text = read_snapshot(&path, query)?;
            // Selecting parses the whole body: no separate check is needed.
            return select(&selector, &text).map_err(|reason| EddaError::Snapshot {
                path,
                reason: format!(
                    "failed to apply the field selector of {:?}: {reason}",
                    query.path
                ),
            });
        }
        let text = read_snapshot(&saved, query)?;
        return check_body(&saved.display().to_string(), text, query);
    }
    let text = read_snapshot(&path, query)?;
    check_body(&path.display().to_string(), text, query)
}

/// A snapshot file's text; a snapshot of an EDDA error (say the 400 of a `_diff` on a new
/// user) replays as that error.
fn read_snapshot(path: &std::path::Path, query: &Query) -> Result<String, EddaError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(EddaError::MissingSnapshot {
                query: query.path.clone(),
                path: path.to_owned(),
            });
        }
        Err(err) => {
            return Err(EddaError::Snapshot {
                path: path.to_owned(),
                reason: err.to_string(),
            });
        }
    };
    if let Ok(body) = serde_json::from_str::<ErrorBody>(&text) {
        return Err(EddaError::Status {
            url: path.display().to_string(),
            status: body.code,
            name: body.name,
            message: body.message,
        });
    }
    Ok(text)
}

/// What the client makes of a body EDDA answered 200 for `query` (a check, de-duplicated
/// id listings), as for any fetch.
pub fn check_response(query: &Query, text: String) -> Cached {
    check_body(&query.path, text, query)
}

/// Validates JSON bodies cheaply (no tree is built) and de-duplicates id listings, which
/// EDDA repeats once per matching revision under `_since`/`_updated`.
fn check_body(url: &str, text: String, query: &Query) -> Cached {
    if is_diff(&query.path) {
        return Ok(text.into());
    }
    if let Err(err) = serde_json::from_str::<IgnoredAny>(&text) {
        let reason = err.to_string();
        return Err(if err.is_eof() {
            EddaError::Truncated {
                url: url.to_owned(),
                reason: format!("the JSON ends early: {reason}"),
            }
        } else {
            EddaError::NotJson {
                url: url.to_owned(),
                reason,
                snippet: snippet(&text),
            }
        });
    }
    if query.window
        && let Ok(ids) = serde_json::from_str::<Vec<String>>(&text)
    {
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&String> = ids.iter().filter(|id| seen.insert(id.as_str())).collect();
        if unique.len() != ids.len() {
            return Ok(serde_json::to_string(&unique).unwrap_or(text).into());
        }
    }
    Ok(text.into())
}

fn is_diff(path: &str) -> bool {
    path.split(';')
        .any(|arg| arg == "_diff" || arg.starts_with("_diff="))
}

fn snippet(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(path: &str, window: bool) -> Query {
        Query {
            path: path.into(),
            window,
            updated_only: false,
        }
    }

    #[test]
    fn dedupes_id_listings_of_windows_only() {
        let body = check_body("u", r#"["a","b","a"]"#.into(), &q("aws/iamUsers", true)).unwrap();
        assert_eq!(&*body, r#"["a","b"]"#);
        let body = check_body("u", r#"["a","a"]"#.into(), &q("aws/iamUsers", false)).unwrap();
        assert_eq!(&*body, r#"["a","a"]"#);
    }

    #[test]
    fn classifies_bad_bodies() {
        assert!(matches!(
            check_body("u", "<html>".into(), &q("x", false)),
            Err(EddaError::NotJson { .. })
        ));
        assert!(matches!(
            check_body("u", "[{\"a\":".into(), &q("x", false)),
            Err(EddaError::Truncated { .. })
        ));
        assert!(
            check_body(
                "u",
                "--- a\n+++ b\n".into(),
                &q("aws/iamUsers/a;_diff=200", false)
            )
            .is_ok()
        );
    }

    fn snapshot_client(files: &[(&str, &str)]) -> (tempfile::TempDir, EddaClient) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let source = EddaSource::Snapshot(dir.path().to_owned());
        (
            dir,
            EddaClient::new(source, Duration::from_secs(1), 1 << 20),
        )
    }

    #[test]
    fn a_selector_reads_the_whole_documents_file_and_selects_from_it() {
        let whole = r#"[{"instanceId":"i-1","imageId":"ami-1","networkInterfaces":[{"x":1}]}]"#;
        let (_dir, client) = snapshot_client(&[("view.instances;_expand.json", whole)]);
        let w = Window {
            since_ms: 0,
            until_ms: 1,
        };
        let body = client
            .fetch(&q("view/instances;_expand:(instanceId,imageId)", false), w)
            .unwrap();
        assert_eq!(&*body, r#"[{"instanceId":"i-1","imageId":"ami-1"}]"#);
        // The same file still serves the query without a selector, whole.
        let body = client
            .fetch(&q("view/instances;_expand", false), w)
            .unwrap();
        assert_eq!(&*body, whole);
        // A filter is EDDA's to answer: its file is the one saved for it, named with it; the
        // whole documents are not filtered here.
        let err = client
            .fetch(&q("view/instances;_expand:(instanceId~/i-/)", false), w)
            .unwrap_err();
        assert!(
            matches!(&err, EddaError::MissingSnapshot { path, .. }
                if path.ends_with("view.instances;_expand:(instanceId~.i-.).json")),
            "{err}"
        );
    }

    #[test]
    fn a_file_saved_for_the_selector_itself_is_read_as_it_is() {
        let (_dir, client) = snapshot_client(&[
            ("view.instances;_expand.json", r#"[{"instanceId":"whole"}]"#),
            (
                "view.instances;_expand:(instanceId).json",
                r#"[{"instanceId":"saved"}]"#,
            ),
        ]);
        let w = Window {
            since_ms: 0,
            until_ms: 1,
        };
        let body = client
            .fetch(&q("view/instances;_expand:(instanceId)", false), w)
            .unwrap();
        assert_eq!(&*body, r#"[{"instanceId":"saved"}]"#);
    }

    #[test]
    fn api_root_accepts_base_with_or_without_api() {
        let c = |b: &str| {
            EddaClient::new(EddaSource::Http(b.into()), Duration::from_secs(1), 1).api_root()
        };
        assert_eq!(c("http://h:8080/edda"), "http://h:8080/edda/api/v2/");
        assert_eq!(c("http://h:8080/edda/api"), "http://h:8080/edda/api/v2/");
    }
}
