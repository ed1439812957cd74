//! A scripted web site on `127.0.0.1` for the HTTP and TCP-probe capability tests: each path
//! answers a fixed [`Page`] (status, headers, body, an optional delay before answering), any
//! other path a 404. It counts every connection it accepts, so a test can prove that a refused
//! call never reached it, and keeps the request targets it was asked for.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a slow site).
    pub delay: Duration,
}

impl Page {
    /// 200 with a text body.
    pub fn ok(body: &str) -> Page {
        Page::status(200, body)
    }

    pub fn status(status: u16, body: &str) -> Page {
        Page {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    /// A 302 to `location`.
    pub fn redirect(location: &str) -> Page {
        Page::status(302, "").header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Page {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Page {
        self.body = body;
        self
    }

    pub fn delay(mut self, delay: Duration) -> Page {
        self.delay = delay;
        self
    }
}

/// A running site; dropping it stops accepting connections.
pub struct WebServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    concurrency: Arc<Concurrency>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Serves `pages` (path → page) on 127.0.0.1 and a free port.
    pub fn start(pages: Vec<(&str, Page)>) -> WebServer {
        let pages: Arc<Vec<(String, Page)>> = Arc::new(
            pages
                .into_iter()
                .map(|(p, page)| (p.to_owned(), page))
                .collect(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let concurrency = Arc::new(Concurrency::default());
        let (count, log, st) = (accepted.clone(), requests.clone(), stop.clone());
        let seen = concurrency.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                count.fetch_add(1, Ordering::SeqCst);
                if let Ok(stream) = conn {
                    let (pages, log, seen) = (pages.clone(), log.clone(), seen.clone());
                    std::thread::spawn(move || {
                        seen.enter();
                        serve(stream, &pages, &log);
                        seen.leave();
                    });
                }
            }
        });
        WebServer {
            addr,
            accepted,
            requests,
            concurrency,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far (a refused call must leave this at 0).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The most connections this site served at once.
    pub fn max_in_flight(&self) -> usize {
        self.concurrency.max.load(Ordering::SeqCst)
    }

    /// Request targets received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How many connections are being served now, and the most at once.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Concurrency {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, pages: &[(String, Page)], log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.split(' ').nth(1).unwrap_or("/").to_owned();
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(target.clone());
    let path = target.split('?').next().unwrap_or("/");
    let page = pages
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, page)| page.clone())
        .unwrap_or_else(|| Page::status(404, "<html>no such page</html>"));
    std::thread::sleep(page.delay);
    let mut out = format!("HTTP/1.1 {} Status\r\n", page.status);
    for (name, value) in &page.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        page.body.len()
    ));
    let _ = stream
        .write_all(out.as_bytes())
        .and_then(|()| stream.write_all(&page.body))
        .and_then(|()| stream.flush());
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
