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
    #[error(
        "EDDA's response for {url} is larger than the {limit} bytes the rule may still be given"
    )]
    TooLarge { url: String, limit: u64 },
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

/// One request path in the run's cache: its answer once kept, and a turn taken by whoever
/// fetches it for a rule, so that concurrent askers wait for the first instead of repeating it.
#[derive(Default)]
struct Slot {
    answer: std::sync::OnceLock<Cached>,
    fetching: Mutex<()>,
}

/// How one request is read: `timeout` replaces the client's own, and `max_bytes` (a rule's
/// bound, below the client's) cuts the body short.
#[derive(Debug, Clone, Copy, Default)]
struct Read {
    timeout: Option<Duration>,
    max_bytes: Option<u64>,
}

/// A per-run EDDA client with a shared cache.
pub struct EddaClient {
    source: EddaSource,
    agent: ureq::Agent,
    timeout: Duration,
    max_response_bytes: u64,
    /// The store read when the source is one (`EddaClient::open`).
    store: Option<StoreReader>,
    cache: Mutex<HashMap<String, Arc<Slot>>>,
    /// Bytes of rules' run-time answers the cache may keep, and keeps now. Declared queries
    /// are held for the whole run anyway and are not counted.
    cache_limit: u64,
    cached_bytes: AtomicU64,
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
            cache_limit: u64::MAX,
            cached_bytes: AtomicU64::new(0),
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

    /// Keeps at most `bytes` of the answers to rules' run-time queries (`edda_cache_mib`);
    /// past it such answers go to the rule that asked and are not kept.
    pub fn with_cache_limit(mut self, bytes: u64) -> EddaClient {
        self.cache_limit = bytes;
        self
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
        // Concurrent askers of the same path wait for the first fetch instead of repeating it.
        self.slot(&path)
            .answer
            .get_or_init(|| self.fetch_uncached(query, &path, Read::default()))
            .clone()
    }

    fn slot(&self, path: &str) -> Arc<Slot> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.entry(path.to_owned()).or_default().clone()
    }

    /// A rule's run-time query: from the cache when any rule asked it before, else fetched
    /// by the rule's `deadline` and read only up to `max_bytes` (what the rule may still be
    /// given; a longer answer is [`EddaError::TooLarge`]). An answer is kept for the other
    /// rules while the cache holds less than its limit; one cut short by the deadline or the
    /// rule's bytes is not kept, so another rule asking the same path tries again with its
    /// own.
    pub fn fetch_for_rule(
        &self,
        query: &Query,
        window: Window,
        deadline: Option<Instant>,
        max_bytes: u64,
    ) -> Cached {
        validate(&query.path)?;
        let path = request_path(query, window);
        let slot = self.slot(&path);
        if let Some(done) = slot.answer.get() {
            return done.clone();
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // A rule with time to spare waits for another's fetch of the same path; one whose
        // deadline comes first fetches on its own, within its time.
        let _turn = left
            .is_none_or(|l| l >= self.timeout)
            .then(|| slot.fetching.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(done) = slot.answer.get() {
            return done.clone();
        }
        let deadline_passed = || EddaError::Deadline {
            url: format!("{}{path}", self.api_root()),
        };
        if left.is_some_and(|l| l.is_zero()) {
            return Err(deadline_passed());
        }
        let timeout = left.filter(|l| *l < self.timeout);
        let read = Read {
            timeout,
            max_bytes: Some(max_bytes).filter(|m| *m < self.max_response_bytes),
        };
        let result = self.fetch_uncached(query, &path, read);
        if result.as_ref().is_err_and(EddaError::is_unreachable)
            && deadline.is_some_and(|d| Instant::now() >= d)
        {
            return Err(deadline_passed());
        }
        let size = result.as_ref().map_or(0, |b| b.len() as u64);
        let keep = !matches!(result, Err(EddaError::TooLarge { .. }))
            && self
                .cached_bytes
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                    held.checked_add(size).filter(|h| *h <= self.cache_limit)
                })
                .is_ok();
        if keep {
            return slot.answer.get_or_init(|| result).clone();
        }
        if size > 0 {
            tracing::debug!(
                path,
                bytes = size,
                "the run's EDDA cache is full (edda_cache_mib): the answer is not kept"
            );
        }
        result
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

    /// Fetches without the cache, as `read` says.
    fn fetch_uncached(&self, query: &Query, path: &str, read: Read) -> Cached {
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
            let body = self.fetch_uncached(&whole, base, read)?;
            return select(&selector, &body).map_err(|reason| EddaError::NotJson {
                url: format!("{}{path}", self.api_root()),
                reason,
                snippet: snippet(&body),
            });
        }
        let started = Instant::now();
        let body = match &self.source {
            EddaSource::Http(_) => self.fetch_http(path, query, read),
            EddaSource::Snapshot(dir) => fetch_snapshot(dir, query, read.max_bytes),
            EddaSource::Store(store_path) => {
                self.fetch_store(store_path, path, query, read.max_bytes)
            }
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

    fn fetch_store(
        &self,
        store_path: &std::path::Path,
        path: &str,
        query: &Query,
        max_bytes: Option<u64>,
    ) -> Cached {
        let url = format!("{}{path}", self.api_root());
        let Some(store) = &self.store else {
            return Err(EddaError::Store {
                path: store_path.to_owned(),
                reason: "the store was not opened (EddaClient::open)".into(),
            });
        };
        let text = store.fetch(&url, path)?;
        if let Some(limit) = max_bytes.filter(|m| text.len() as u64 > *m) {
            return Err(EddaError::TooLarge { url, limit });
        }
        // The engine writes JSON: only a window's id listing needs the client's de-duplication.
        if query.window {
            return check_body(&url, text, query);
        }
        Ok(text.into())
    }

    fn fetch_http(&self, path: &str, query: &Query, read: Read) -> Cached {
        let url = format!("{}{path}", self.api_root());
        let unreachable = |reason: String| EddaError::Unreachable {
            url: url.clone(),
            reason,
        };
        let request = self.agent.get(&url);
        let request = match read.timeout {
            Some(t) => request.config().timeout_global(Some(t)).build(),
            None => request,
        };
        let mut response = request.call().map_err(|err| unreachable(err.to_string()))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .reader();
        // A rule's own bound stops the read one byte past it, before the rest is held.
        let done = match read.max_bytes {
            Some(max) => (&mut reader)
                .take(max.saturating_add(1))
                .read_to_end(&mut bytes),
            None => reader.read_to_end(&mut bytes),
        };
        if let Err(err) = done {
            return Err(EddaError::Truncated {
                url,
                reason: err.to_string(),
            });
        }
        if let Some(limit) = read.max_bytes.filter(|m| bytes.len() as u64 > *m) {
            return Err(EddaError::TooLarge { url, limit });
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

fn fetch_snapshot(dir: &std::path::Path, query: &Query, max_bytes: Option<u64>) -> Cached {
    let path = snapshot::file_path(dir, query);
    if let Some(limit) = max_bytes
        && std::fs::metadata(&path).is_ok_and(|m| m.len() > limit)
    {
        return Err(EddaError::TooLarge {
            url: path.display().to_string(),
            limit,
        });
    }
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
