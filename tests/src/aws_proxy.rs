//! A loopback proxy in front of moto that makes AWS misbehave on command, which moto cannot:
//! the `n`-th request of an action answered with an error instead of being passed on (a page
//! failing midway, throttling), and every request slowed (so a crawl lasts long enough to be
//! killed in its middle). Everything else goes to moto unchanged, headers included, so moto
//! checks the signature the client made for the proxy's address. Requests are counted by
//! action: the Query protocol's `Action`, or for Route 53's REST GETs `ListHostedZones` and
//! `ListResourceRecordSets`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::aws_fakes::{error_xml, form};
use crate::http::{HttpServer, Reply, Request, lock};

/// An error answered instead of a request.
#[derive(Debug, Clone)]
struct Failure {
    action: String,
    /// Which requests of the action (from 1) fail.
    nth: Vec<usize>,
    status: u16,
    code: String,
}

#[derive(Debug, Default)]
struct State {
    failures: Vec<Failure>,
    seen: HashMap<String, usize>,
    delay: Duration,
}

/// A running proxy; dropping it stops it.
pub struct FailingProxy {
    server: HttpServer,
    state: Arc<Mutex<State>>,
}

impl FailingProxy {
    /// A proxy passing every request on to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FailingProxy {
        let address = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = HttpServer::start(move |request: &Request| {
            let action = action(request);
            let (failure, delay) = {
                let mut state = lock(&shared);
                let seen = state.seen.entry(action.clone()).or_default();
                *seen += 1;
                let n = *seen;
                let failure = state
                    .failures
                    .iter()
                    .find(|f| f.action == action && f.nth.contains(&n))
                    .cloned();
                (failure, state.delay)
            };
            std::thread::sleep(delay);
            match failure {
                Some(f) => Reply {
                    status: f.status,
                    content_type: "text/xml",
                    body: error_xml(&f.code, "failed by the test's proxy").into_bytes(),
                    location: None,
                },
                None => forward(&address, request),
            }
        });
        FailingProxy { server, state }
    }

    /// `http://127.0.0.1:PORT`: the endpoint to give the crawl.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Answers the `nth` requests (from 1, counted from the proxy's start) of `action` with
    /// `status` and an AWS error of `code`.
    pub fn fail(&self, action: &str, nth: &[usize], status: u16, code: &str) {
        lock(&self.state).failures.push(Failure {
            action: action.to_owned(),
            nth: nth.to_vec(),
            status,
            code: code.to_owned(),
        });
    }

    /// Forgets every failure set and every count.
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.failures.clear();
        state.seen.clear();
    }

    /// Waits this long before answering each request.
    pub fn delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Requests of `action` seen so far (failed ones included).
    pub fn seen(&self, action: &str) -> usize {
        lock(&self.state).seen.get(action).copied().unwrap_or(0)
    }

    /// Requests of any action seen so far.
    pub fn seen_total(&self) -> usize {
        lock(&self.state).seen.values().sum()
    }
}

/// The action a request asks for.
pub fn action(request: &Request) -> String {
    if request.method == "GET" {
        let path = request.path.split('?').next().unwrap_or_default();
        return if path.ends_with("/rrset") {
            "ListResourceRecordSets".to_owned()
        } else if path.ends_with("/hostedzone") {
            "ListHostedZones".to_owned()
        } else {
            format!("GET {path}")
        };
    }
    form(&request.body)
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map_or_else(
            || format!("{} {}", request.method, request.path),
            |(_, v)| v,
        )
}

/// `request` sent to `address` as it came (but for its framing), and moto's answer.
fn forward(address: &str, request: &Request) -> Reply {
    let fail = |why: String| Reply {
        status: 502,
        content_type: "text/plain",
        body: why.into_bytes(),
        location: None,
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        request.body.len()
    ));
    let mut upstream = match TcpStream::connect(address) {
        Ok(stream) => stream,
        Err(err) => return fail(format!("the proxy could not reach moto: {err}")),
    };
    let _ = upstream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut raw = Vec::new();
    let sent = upstream
        .write_all(head.as_bytes())
        .and_then(|()| upstream.write_all(&request.body))
        .and_then(|()| upstream.read_to_end(&mut raw));
    if let Err(err) = sent {
        return fail(format!("the proxy lost moto: {err}"));
    }
    match parse_response(&raw) {
        Some((status, body)) => Reply {
            status,
            content_type: "text/xml",
            body,
            location: None,
        },
        None => fail("moto's answer was not HTTP".to_owned()),
    }
}

/// The status and body of a whole HTTP/1.1 response (Content-Length, chunked, or to EOF).
fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut decoded = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = decoded;
    }
    Some((status, body))
}
