//! A webhook receiver that keeps every JSON document POSTed to it and answers from a script
//! (e.g. 503 then 200) so tests can watch retries, then 200 for everything after. A body
//! that is not JSON is answered 400, as Slack answers `invalid_payload`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::http::{HttpServer, Reply, Request, lock};

#[derive(Default)]
struct State {
    script: VecDeque<u16>,
    /// Bodies of the requests answered 200.
    delivered: Vec<Value>,
}

pub struct FakeWebhook {
    server: HttpServer,
    state: Arc<Mutex<State>>,
}

impl FakeWebhook {
    pub fn start() -> FakeWebhook {
        let state: Arc<Mutex<State>> = Arc::default();
        let s = state.clone();
        let server = HttpServer::start(move |req| {
            let mut state = lock(&s);
            let status = state.script.pop_front().unwrap_or(200);
            if status != 200 {
                return Reply::text(status, "try later");
            }
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(body) => {
                    state.delivered.push(body);
                    Reply::text(200, "ok")
                }
                Err(_) => Reply::text(400, "invalid_payload"),
            }
        });
        FakeWebhook { server, state }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("{}/hook", self.server.url())
    }

    /// The next requests answer these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        lock(&self.state).script.extend(statuses);
    }

    /// Every request, answered or not.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// The JSON bodies of the requests answered 200.
    pub fn delivered(&self) -> Vec<Value> {
        lock(&self.state).delivered.clone()
    }
}
