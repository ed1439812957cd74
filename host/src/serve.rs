//! `reddalert serve-edda`: the store read-only over EDDA's HTTP API, so other EDDA clients (the
//! original reddalert, scripts, dashboards) can read what `reddalert crawl` records. Every
//! request is answered by the same engine a run uses, as of the store's clock when the request
//! arrived (each answer is consistent, even while a crawl commits), with EDDA's answers and
//! errors; a collection never crawled, or crawled longer ago than `--max-staleness-minutes`,
//! is EDDA's JSON error 503 naming it.
//!
//! The server listens on loopback unless told otherwise, answers one request per connection
//! (`Connection: close`) on a fixed number of threads, reads at most [`http::MAX_HEAD_BYTES`]
//! of a request, and logs each request on stderr. It never writes to the store.

pub(crate) mod http;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use edda_engine::Reply;
use edda_engine::sqlite::AsOf;

use crate::cli::ServeEddaArgs;

/// How long a client may take to send its request, and to read the answer.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// Serves until the process is stopped; returns only when it cannot start.
pub fn run(args: &ServeEddaArgs) -> Result<()> {
    let store = std::path::absolute(&args.store)
        .with_context(|| format!("failed to resolve {}", args.store.display()))?;
    let staleness = Duration::from_secs(args.max_staleness_minutes.saturating_mul(60));
    // Refuse a store that cannot be read before listening: a typo is an exit 2, not 503s.
    let clock = AsOf::open(&store, crate::time::now_ms() as i64, None)
        .with_context(|| format!("failed to open the store {}", store.display()))?
        .clock_ms();
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("failed to read the bound address")?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving the store beyond loopback: anyone who reaches this address reads the account's history");
    }
    tracing::info!(
        store = %store.display(),
        clock_ms = clock,
        threads = args.threads,
        "serving EDDA on http://{addr}/edda/api/v2/"
    );
    let server = Arc::new(Server {
        store,
        staleness: (staleness > Duration::ZERO).then_some(staleness),
    });
    let threads = usize::from(args.threads);
    let (send, receive) = sync_channel::<TcpStream>(threads * 4);
    let receive = Arc::new(Mutex::new(receive));
    for _ in 0..threads {
        let (server, receive) = (server.clone(), receive.clone());
        std::thread::spawn(move || worker(&server, &receive));
    }
    for conn in listener.incoming() {
        match conn {
            // Blocks while every worker is busy and the queue is full: the kernel's backlog
            // holds further clients.
            Ok(stream) => {
                if send.send(stream).is_err() {
                    break;
                }
            }
            Err(err) => tracing::warn!("failed to accept a connection: {err}"),
        }
    }
    Ok(())
}

struct Server {
    store: PathBuf,
    staleness: Option<Duration>,
}

fn worker(server: &Server, receive: &Mutex<Receiver<TcpStream>>) {
    loop {
        let next = receive
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(stream) = next else { return };
        serve(server, stream);
    }
}

fn serve(server: &Server, mut stream: TcpStream) {
    let started = Instant::now();
    let peer = stream.peer_addr().ok();
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let (target, reply) = match http::read_request(&mut stream) {
        Ok(request) => {
            let reply = answer(server, &request.method, &request.target);
            (request.target, reply)
        }
        Err(err) => (String::new(), http::bad_request(&err)),
    };
    let written = write_reply(&mut stream, &reply);
    tracing::info!(
        peer = ?peer,
        target = %target,
        status = reply.status,
        bytes = reply.body.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        error = written.err().map(|e| e.to_string()),
        "request"
    );
}

/// The engine's answer as of the store's clock now.
fn answer(server: &Server, method: &str, target: &str) -> Reply {
    let target = http::api_target(target);
    match open(&server.store, server.staleness) {
        Ok(reader) => edda_engine::handle(&reader, method, &target),
        Err(err) => {
            tracing::error!("{err:#}");
            edda_engine::route::fail(503, &format!("{err:#}"))
        }
    }
}

fn open(store: &Path, staleness: Option<Duration>) -> Result<AsOf> {
    AsOf::open(store, crate::time::now_ms() as i64, staleness)
        .with_context(|| format!("failed to open the store {}", store.display()))
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.status,
        edda_engine::route::status_names(reply.status).0,
        reply.content_type,
        reply.body.len()
    );
    // One write: a head and a body written apart wait out the client's delayed ACK.
    let mut response = head.into_bytes();
    response.extend_from_slice(&reply.body);
    stream.write_all(&response)?;
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Write)
}
