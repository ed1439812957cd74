//! Transport-level tests of the fake EDDA (request log, routing outside the API, gzip, faults,
//! store replacement), plus the tiny raw-socket HTTP client the API tests share. A raw
//! `TcpStream` is used on purpose: it sends targets byte for byte and shows truncation as is.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{FakeEdda, Fault, Revision, Store, fixtures_dir};

pub(super) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

pub(super) fn raw_get(edda: &FakeEdda, target: &str, extra_headers: &str) -> Resp {
    let addr = edda
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/edda")
        .to_string();
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\n{extra_headers}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// GET `/edda/api/v2/<path>`.
pub(super) fn get(edda: &FakeEdda, path: &str) -> Resp {
    raw_get(edda, &format!("/edda/api/v2/{path}"), "")
}

pub(super) fn basic() -> FakeEdda {
    FakeEdda::start(Store::from_dir(&fixtures_dir().join("basic")).expect("basic fixtures"))
}

#[test]
fn records_raw_targets_and_serves_only_the_api() {
    let edda = basic();
    assert!(edda.base_url().starts_with("http://127.0.0.1:") && edda.base_url().ends_with("/edda"));
    let odd = "/edda/api/v2/aws/securityGroups;_expand;_since=1;_until=2;_updated:(groupId,x%20y)";
    raw_get(&edda, odd, "");
    let other = get(&edda, "");
    assert_eq!(other.status, 404);
    assert_eq!(raw_get(&edda, "/api/v2/aws/securityGroups", "").status, 404);
    assert_eq!(other.header("Content-Type"), Some("text/plain"));
    assert_eq!(
        edda.requests(),
        vec![
            odd.to_string(),
            "/edda/api/v2/".into(),
            "/api/v2/aws/securityGroups".into()
        ]
    );
}

#[test]
fn gzip_when_accepted() {
    let edda = basic();
    let plain = get(&edda, "aws/securityGroups;_expand");
    assert_eq!(plain.header("Content-Encoding"), None);
    let zipped = raw_get(
        &edda,
        "/edda/api/v2/aws/securityGroups;_expand",
        "Accept-Encoding: gzip, deflate\r\n",
    );
    assert_eq!(zipped.header("Content-Encoding"), Some("gzip"));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(zipped.body.as_slice())
        .read_to_end(&mut out)
        .expect("gunzip");
    assert_eq!(out, plain.body);
    assert!(zipped.body.len() < plain.body.len());
}

#[test]
fn faults_replace_answers_until_cleared() {
    let edda = basic();
    edda.set_fault(Some(Fault::NonJson));
    let r = get(&edda, "aws/securityGroups");
    assert_eq!(
        (r.status, r.header("Content-Type"), r.text().as_str()),
        (200, Some("text/html"), "<html>proxy error</html>")
    );
    edda.set_fault(Some(Fault::Status500Html));
    let r = get(&edda, "aws/securityGroups");
    assert_eq!(r.status, 500);
    assert!(r.text().starts_with("<html>") && serde_json::from_slice::<Value>(&r.body).is_err());
    edda.set_fault(Some(Fault::Status(503)));
    let r = get(&edda, "aws/securityGroups");
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["name"], "SERVICE_UNAVAILABLE");
    edda.set_fault(None);
    assert_eq!(get(&edda, "aws/securityGroups").status, 200);
}

#[test]
fn prefix_faults_only_hit_matching_paths() {
    let edda = basic();
    edda.set_fault_for("aws/iamUsers", Some(Fault::Status(502)));
    assert_eq!(get(&edda, "aws/iamUsers;_expand").status, 502);
    assert_eq!(get(&edda, "aws/iamUsers/alice").status, 502);
    assert_eq!(get(&edda, "aws/securityGroups").status, 200);
    edda.set_fault_for("aws/iamUsers", None);
    assert_eq!(get(&edda, "aws/iamUsers").status, 200);
}

#[test]
fn truncated_promises_more_than_it_sends() {
    let edda = basic();
    let full = get(&edda, "aws/securityGroups;_expand");
    edda.set_fault(Some(Fault::Truncated));
    let cut = get(&edda, "aws/securityGroups;_expand");
    let promised: usize = cut
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .expect("length");
    assert_eq!(promised, full.body.len());
    assert_eq!(cut.body, full.body[..full.body.len() / 2]);
    assert!(serde_json::from_slice::<Value>(&cut.body).is_err());
}

#[test]
fn hang_delays_only_its_own_request() {
    let edda = basic();
    edda.set_fault_for(
        "aws/iamUsers",
        Some(Fault::Hang(Duration::from_millis(5000))),
    );
    let start = Instant::now();
    std::thread::scope(|s| {
        let slow = s.spawn(|| get(&edda, "aws/iamUsers"));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(get(&edda, "aws/securityGroups").status, 200);
        // Behaviour, not a clock bound: the other request was answered while this one hung.
        assert!(
            !slow.is_finished(),
            "the fast request waited for the hanging one"
        );
        let slow = slow.join().expect("slow request");
        assert_eq!(slow.status, 200);
    });
    assert!(
        start.elapsed() >= Duration::from_millis(5000),
        "the hang lasted"
    );
}

#[test]
fn counts_the_most_requests_answered_at_once() {
    let edda = basic();
    assert_eq!(get(&edda, "aws/securityGroups").status, 200);
    assert_eq!(get(&edda, "aws/securityGroups").status, 200);
    assert_eq!(edda.max_concurrent_requests(), 1, "one after the other");
    edda.set_fault_for(
        "aws/iamUsers",
        Some(Fault::Hang(Duration::from_millis(1000))),
    );
    std::thread::scope(|s| {
        let slow = s.spawn(|| get(&edda, "aws/iamUsers"));
        // The slow request counts from when it is recorded, so ask the fast one after that.
        while !edda.requests().iter().any(|r| r.ends_with("aws/iamUsers")) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(get(&edda, "aws/securityGroups").status, 200);
        assert_eq!(slow.join().expect("slow request").status, 200);
    });
    assert_eq!(edda.max_concurrent_requests(), 2);
}

#[test]
fn set_store_swaps_the_account() {
    let edda = basic();
    let mut store = Store::new();
    let data = serde_json::json!({"groupId": "sg-new", "groupName": "new"});
    store.insert(
        "aws.securityGroups",
        Revision {
            id: "sg-new".into(),
            stime: 5,
            ltime: None,
            ctime: None,
            data,
        },
    );
    edda.set_store(store);
    assert_eq!(get(&edda, "aws/securityGroups").text(), r#"["sg-new"]"#);
    assert_eq!(get(&edda, "aws/iamUsers").text(), "[]");
}

#[test]
fn every_response_has_a_request_id() {
    let edda = basic();
    for path in [
        "aws/securityGroups",
        "aws/nope",
        "aws/iamUsers/carol",
        "aws/iamUsers;_since=x",
    ] {
        let id = get(&edda, path)
            .header("X-Request-Id")
            .map(str::to_string)
            .expect("X-Request-Id");
        assert_eq!(id.len(), 36, "{path}");
    }
    let a = get(&edda, "aws/securityGroups")
        .header("X-Request-Id")
        .map(str::to_string);
    let b = get(&edda, "aws/securityGroups")
        .header("X-Request-Id")
        .map(str::to_string);
    assert_ne!(a, b);
}
