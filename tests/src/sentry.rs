//! A loopback Sentry that takes `POST /api/<project>/envelope/` and parses each envelope the
//! way Relay does: a header line, then items, each a header line (with an optional `length`)
//! and a payload. Tests read the events back with their level, message and tags.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{HttpServer, Reply};

/// One envelope: its header and its items (item header, payload).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub header: Value,
    pub items: Vec<(Value, Vec<u8>)>,
}

pub struct FakeSentry {
    server: HttpServer,
}

impl FakeSentry {
    pub fn start() -> FakeSentry {
        let server = HttpServer::start(|req| {
            let ok = req.method == "POST"
                && req.path.starts_with("/api/42/envelope")
                && req
                    .header("x-sentry-auth")
                    .is_some_and(|a| a.contains("sentry_key=testkey"));
            match (ok, parse(&req.body)) {
                (true, Ok(_)) => Reply::json(200, &serde_json::json!({"id": "ok"})),
                (false, _) => Reply::text(403, "bad auth or path"),
                (_, Err(why)) => Reply::text(400, &why),
            }
        });
        FakeSentry { server }
    }

    /// A DSN pointing here (project 42, key `testkey`).
    pub fn dsn(&self) -> String {
        format!("http://testkey@127.0.0.1:{}/42", self.server.port())
    }

    /// Every envelope received that parsed.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.server
            .requests()
            .iter()
            .filter_map(|r| parse(&r.body).ok())
            .collect()
    }

    /// The payloads of items of type `event`.
    pub fn events(&self) -> Vec<Value> {
        self.envelopes()
            .into_iter()
            .flat_map(|e| e.items)
            .filter(|(h, _)| h["type"] == "event")
            .filter_map(|(_, payload)| serde_json::from_slice(&payload).ok())
            .collect()
    }

    /// Waits up to `timeout` for at least `n` events.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let events = self.events();
            if events.len() >= n || start.elapsed() > timeout {
                return events;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Parses an envelope; errors say what was wrong, as Relay's 400s do.
pub fn parse(body: &[u8]) -> Result<Envelope, String> {
    let (header, mut rest) = split_line(body);
    let header: Value =
        serde_json::from_slice(header).map_err(|e| format!("envelope header: {e}"))?;
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (line, after) = split_line(rest);
        if line.is_empty() {
            rest = after;
            continue;
        }
        let item: Value = serde_json::from_slice(line).map_err(|e| format!("item header: {e}"))?;
        let (payload, after) = match item["length"].as_u64() {
            Some(len) => {
                let len = usize::try_from(len).map_err(|e| e.to_string())?;
                if after.len() < len {
                    return Err("item payload shorter than its length".into());
                }
                let (payload, after) = after.split_at(len);
                (payload, after.strip_prefix(b"\n").unwrap_or(after))
            }
            None => split_line(after),
        };
        items.push((item, payload.to_vec()));
        rest = after;
    }
    Ok(Envelope { header, items })
}

fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}
