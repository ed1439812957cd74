//! HTTP GETs and TCP connect probes through the host (capabilities `http` and `tcp-probe`).
//!
//! A rule never opens a socket itself: it asks the host, which applies the operator's grants,
//! timeouts, body cap and per-run limits, and answers [`NetError::Denied`] when the capability
//! is not granted. Batches ([`http_get_many`], [`tcp_probe_many`]) run concurrently in the
//! host and answer in request order, so a rule that checks hundreds of names should always
//! batch. On native targets (a rule's unit tests) the calls answer from the canned responses
//! given to [`crate::testing::Harness`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

/// Why a network, Chef or S3 capability call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The capability is not granted to this rule (or the rule did not declare it).
    Denied,
    /// The call did not finish within the host's timeout.
    Timeout,
    /// The remote service answered with this HTTP status (Chef and S3 calls).
    Http(u16),
    /// Connection failure, unreadable answer, or a refused address.
    Transport(String),
    /// The run's per-rule budget for this capability is used up.
    LimitExceeded,
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Denied => write!(f, "the capability is not granted to this rule"),
            NetError::Timeout => write!(f, "timed out"),
            NetError::Http(status) => write!(f, "answered HTTP {status}"),
            NetError::Transport(msg) => write!(f, "transport error: {msg}"),
            NetError::LimitExceeded => write!(f, "the run's call budget is used up"),
        }
    }
}

impl std::error::Error for NetError {}

/// One HTTP response, whatever its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header (name, value) pairs in the order received; names as sent by the server.
    pub headers: Vec<(String, String)>,
    /// The body, cut at the host's body cap.
    pub body: Vec<u8>,
    /// The URL of the final response (after redirects when they were followed).
    pub final_url: String,
}

impl HttpResponse {
    /// A response with this status, no headers and no body (for tests).
    pub fn new(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            ..HttpResponse::default()
        }
    }

    /// The same response with one more header (for tests).
    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same response with this body (for tests).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> HttpResponse {
        self.body = body.into();
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// One GET of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Follow redirects (the response is then the last one), or answer the first response.
    pub follow_redirects: bool,
}

impl HttpRequest {
    /// A GET of `url`.
    pub fn get(url: impl Into<String>, follow_redirects: bool) -> HttpRequest {
        HttpRequest {
            url: url.into(),
            follow_redirects,
        }
    }
}

/// HTTP GET of an absolute URL. Any status is an `Ok` response; errors are about the call.
pub fn http_get(url: &str, follow_redirects: bool) -> Result<HttpResponse, NetError> {
    #[cfg(target_family = "wasm")]
    {
        use crate::bindings::net;
        net::http_get(url, follow_redirects)
            .map(response_from_wit)
            .map_err(error_from_wit)
    }
    #[cfg(not(target_family = "wasm"))]
    {
        // Canned answers are per URL: a test gives the response the rule should see.
        let _ = follow_redirects;
        canned_http(url)
    }
}

/// Many GETs at once: the host runs them concurrently (bounded) and answers in order.
pub fn http_get_many(requests: &[HttpRequest]) -> Vec<Result<HttpResponse, NetError>> {
    #[cfg(target_family = "wasm")]
    {
        use crate::bindings::net;
        let requests: Vec<net::HttpRequest> = requests
            .iter()
            .map(|r| net::HttpRequest {
                url: r.url.clone(),
                follow_redirects: r.follow_redirects,
            })
            .collect();
        net::http_get_many(&requests)
            .into_iter()
            .map(|r| r.map(response_from_wit).map_err(error_from_wit))
            .collect()
    }
    #[cfg(not(target_family = "wasm"))]
    requests.iter().map(|r| canned_http(&r.url)).collect()
}

/// Whether a TCP connection to `host:port` can be opened within the host's timeout.
pub fn tcp_probe(host: &str, port: u16) -> Result<bool, NetError> {
    #[cfg(target_family = "wasm")]
    {
        crate::bindings::net::tcp_probe(host, port).map_err(error_from_wit)
    }
    #[cfg(not(target_family = "wasm"))]
    canned_probe(host, port)
}

/// Many probes at once, run concurrently by the host, answered in order.
pub fn tcp_probe_many(targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
    #[cfg(target_family = "wasm")]
    {
        crate::bindings::net::tcp_probe_many(targets)
            .into_iter()
            .map(|r| r.map_err(error_from_wit))
            .collect()
    }
    #[cfg(not(target_family = "wasm"))]
    targets
        .iter()
        .map(|(host, port)| canned_probe(host, *port))
        .collect()
}

#[cfg(target_family = "wasm")]
fn response_from_wit(r: crate::bindings::types::HttpResponse) -> HttpResponse {
    HttpResponse {
        status: r.status,
        headers: r.headers,
        body: r.body,
        final_url: r.final_url,
    }
}

#[cfg(target_family = "wasm")]
pub(crate) fn error_from_wit(e: crate::bindings::types::NetError) -> NetError {
    use crate::bindings::types::NetError as W;
    match e {
        W::Denied => NetError::Denied,
        W::Timeout => NetError::Timeout,
        W::Http(status) => NetError::Http(status),
        W::Transport(msg) => NetError::Transport(msg),
        W::LimitExceeded => NetError::LimitExceeded,
    }
}

/// Canned answers for a native test run, given to [`crate::testing::Harness`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Canned {
    pub(crate) http: HashMap<String, Result<HttpResponse, NetError>>,
    pub(crate) probes: HashMap<(String, u16), Result<bool, NetError>>,
    pub(crate) http_denied: bool,
    pub(crate) probe_denied: bool,
}

thread_local! {
    static CANNED: RefCell<Canned> = RefCell::new(Canned::default());
}

/// Installs the answers for one run (the harness clears them after it with the default).
pub(crate) fn install(canned: Canned) {
    CANNED.with(|c| *c.borrow_mut() = canned);
}

#[cfg(not(target_family = "wasm"))]
fn canned_http(url: &str) -> Result<HttpResponse, NetError> {
    CANNED.with(|c| {
        let c = c.borrow();
        if c.http_denied {
            return Err(NetError::Denied);
        }
        let mut answer = c.http.get(url).cloned().unwrap_or_else(|| {
            Err(NetError::Transport(format!(
                "no canned answer for http_get({url:?}) in the test: add it with Harness::http"
            )))
        });
        // A canned response without a final URL answers as if nothing redirected.
        if let Ok(response) = &mut answer
            && response.final_url.is_empty()
        {
            response.final_url = url.to_owned();
        }
        answer
    })
}

#[cfg(not(target_family = "wasm"))]
fn canned_probe(host: &str, port: u16) -> Result<bool, NetError> {
    CANNED.with(|c| {
        let c = c.borrow();
        if c.probe_denied {
            return Err(NetError::Denied);
        }
        c.probes
            .get(&(host.to_owned(), port))
            .cloned()
            .unwrap_or_else(|| {
                Err(NetError::Transport(format!(
                    "no canned answer for tcp_probe({host:?}, {port}) in the test: add it with Harness::probe"
                )))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_any_case() {
        let r = HttpResponse::new(204).with_header("X-Frame-Options", "DENY");
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("location"), None);
        assert!(r.is_success() && !HttpResponse::new(302).is_success());
        assert_eq!(
            HttpResponse::new(200).with_body(vec![b'o', 0xff]).text(),
            "o\u{fffd}"
        );
    }

    #[test]
    fn canned_answers_fill_the_final_url_and_batches_answer_in_order() {
        let mut canned = Canned::default();
        canned
            .http
            .insert("http://a".into(), Ok(HttpResponse::new(200)));
        canned.probes.insert(("h".into(), 22), Ok(true));
        install(canned);
        let batch = http_get_many(&[
            HttpRequest::get("http://a", true),
            HttpRequest::get("http://b", false),
        ]);
        let probes = tcp_probe_many(&[("h".into(), 22), ("h".into(), 23)]);
        install(Canned::default());
        assert_eq!(
            batch[0].as_ref().map(|r| r.final_url.as_str()),
            Ok("http://a")
        );
        assert_eq!(
            batch[1],
            Err(NetError::Transport(
                r#"no canned answer for http_get("http://b") in the test: add it with Harness::http"#.into()
            ))
        );
        assert_eq!(probes[0], Ok(true));
        assert!(matches!(&probes[1], Err(NetError::Transport(m)) if m.contains("Harness::probe")));
    }

    #[test]
    fn denied_capabilities_answer_denied() {
        install(Canned {
            http_denied: true,
            probe_denied: true,
            ..Canned::default()
        });
        let answers = (http_get("http://a", false), tcp_probe("h", 22));
        install(Canned::default());
        assert_eq!(answers, (Err(NetError::Denied), Err(NetError::Denied)));
    }
}
