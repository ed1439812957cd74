//! The HTTP side of the fake: a small HTTP/1.1 server over `std::net::TcpListener`, one thread
//! per connection and `Connection: close` on every answer. Written by hand rather than with a
//! server crate because tests need the raw request target and byte-level control of the socket
//! (`Fault::Truncated` promises more bytes than it sends, then hangs up).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use flate2::{Compression, write::GzEncoder};

use edda_engine::route::{self, Reply};

use super::{Fault, Store};

#[derive(Default)]
struct Shared {
    // An `Arc`, so a request holds the data without copying it or holding the lock.
    store: Mutex<Arc<Store>>,
    requests: Mutex<Vec<String>>,
    /// How many responses went out gzip-compressed (the client asked for it).
    gzipped: std::sync::atomic::AtomicUsize,
    fault: Mutex<Option<Fault>>,
    prefix_faults: Mutex<Vec<(String, Fault)>>,
    /// Requests being answered right now, and the most there ever were at once.
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Counts one request as in flight until it is dropped, whatever way its answer ends.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn start(shared: &'a Shared) -> InFlight<'a> {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test thread that panicked while holding a lock must not take the server down with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running fake EDDA on `127.0.0.1`; dropping it stops accepting connections.
pub struct FakeEdda {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeEdda {
    /// Bind 127.0.0.1:0 and serve `store` in a background thread. The servlet context is `/edda`,
    /// so the API lives under `/edda/api/v2/...`.
    pub fn start(store: Store) -> FakeEdda {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            store: Mutex::new(Arc::new(store)),
            ..Shared::default()
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let s = s.clone();
                    std::thread::spawn(move || serve(stream, &s));
                }
            }
        });
        FakeEdda {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// "http://127.0.0.1:PORT/edda" (the client appends "/api/v2/...").
    pub fn base_url(&self) -> String {
        format!("http://{}/edda", self.addr)
    }

    /// Raw request targets received so far, exactly as on the request line.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }

    /// The most requests that were being answered at the same time (from reading the request
    /// to the moment its answer is ready to send), since the server started.
    pub fn max_concurrent_requests(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many responses were sent gzip-compressed because the client accepted gzip.
    pub fn gzipped_responses(&self) -> usize {
        self.shared
            .gzipped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every following request answers with this fault (until cleared with `None`).
    pub fn set_fault(&self, fault: Option<Fault>) {
        *lock(&self.shared.fault) = fault;
    }

    /// Faults for requests whose path (after `/v2/`) starts with `prefix` only; these win over
    /// [`FakeEdda::set_fault`].
    pub fn set_fault_for(&self, prefix: &str, fault: Option<Fault>) {
        let mut faults = lock(&self.shared.prefix_faults);
        faults.retain(|(p, _)| p != prefix);
        if let Some(f) = fault {
            faults.push((prefix.to_string(), f));
        }
    }

    /// Replace the data served (for multi-run tests where the account changes between runs).
    pub fn set_store(&self, store: Store) {
        *lock(&self.shared.store) = Arc::new(store);
    }
}

impl Drop for FakeEdda {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Request {
    method: String,
    target: String,
    gzip: bool,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let gzip = lines.any(|l| {
        l.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("accept-encoding")
                && value.to_ascii_lowercase().contains("gzip")
        })
    });
    Some(Request {
        method,
        target,
        gzip,
    })
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    let in_flight = InFlight::start(shared);
    lock(&shared.requests).push(req.target.clone());
    let api_path = req.target.strip_prefix("/edda/api/v2/");
    let prefixed = lock(&shared.prefix_faults)
        .iter()
        .find(|(p, _)| api_path.is_some_and(|a| a.starts_with(p.as_str())))
        .map(|(_, f)| f.clone());
    let fault = prefixed.or_else(|| lock(&shared.fault).clone());
    let answer = || {
        let store = lock(&shared.store).clone();
        route::handle(&*store, &req.method, &req.target)
    };
    let reply = match fault {
        None => answer(),
        Some(Fault::Hang(d)) => {
            std::thread::sleep(d);
            answer()
        }
        Some(Fault::Status500Html) => route::error_page(
            &req.target,
            "java.lang.OutOfMemoryError: GC overhead limit exceeded",
        ),
        Some(Fault::NonJson) => Reply {
            status: 200,
            content_type: "text/html",
            body: b"<html>proxy error</html>".to_vec(),
        },
        Some(Fault::Status(code)) => route::fail(code, "injected fault"),
        Some(Fault::Truncated) => {
            let reply = answer();
            let half = reply.body.len() / 2;
            drop(in_flight);
            let _ = write_reply(
                &mut stream,
                &reply,
                false,
                reply.body.len().max(1),
                &reply.body[..half],
            );
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    };
    let body = if req.gzip {
        shared
            .gzipped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        gzip(&reply.body)
    } else {
        reply.body.clone()
    };
    // Answered once the answer is ready: a client that has read the last byte may ask again
    // at once, before this thread would otherwise get back here to count the request done.
    drop(in_flight);
    let _ = write_reply(&mut stream, &reply, req.gzip, body.len(), &body);
    let _ = stream.shutdown(Shutdown::Write);
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

fn write_reply(
    stream: &mut TcpStream,
    reply: &Reply,
    gzip: bool,
    length: usize,
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nX-Request-Id: {}\r\nContent-Length: {length}\r\nConnection: close\r\n",
        reply.status,
        route::status_names(reply.status).0,
        reply.content_type,
        uuid::Uuid::new_v4(),
    );
    if gzip {
        head.push_str("Content-Encoding: gzip\r\n");
    }
    head.push_str("\r\n");
    // One write: a head and a body written apart wait out the client's delayed ACK (Nagle),
    // 40 ms a response on loopback, which EDDA behind its servlet container does not.
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    stream.write_all(&response)?;
    stream.flush()
}
