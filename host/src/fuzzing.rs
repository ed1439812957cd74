//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, nightly) and for the test that
//! replays their corpus on every `cargo test` (stable), so a regression is caught without
//! nightly. One function per parser of untrusted input: the config (TOML and the original
//! JSON), the status file (ours and the original's), EDDA bodies through the client's checks,
//! what a guest returns through the contract's decoding, the text formats fed hostile
//! alerts, AWS's answers through the crawl, and what a registry or a lock file hands `pull`
//! and a run. Each takes arbitrary bytes and must neither panic nor break the invariant it
//! asserts. Not an API: nothing else calls these.

use std::path::Path;

use serde_json::Value;

use crate::alert::AlertRecord;
use crate::config::{Config, Overrides, StdoutFormat};
use crate::contract::{MAX_JSON_DEPTH, Query, Window, json_depth};
use crate::crawl::{self, Api, Collection, Service};
use crate::outputs::{self, RunInfo};
use crate::status::Status;

/// One fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets, by the name of their corpus directory under `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 10] = [
    ("config", config),
    ("status", status),
    ("edda_body", edda_body),
    ("serve_request", serve_request),
    ("guest_output", guest_output),
    ("guest_info", guest_info),
    ("text_formats", text_formats),
    ("registry", registry),
    ("aws_answers", aws_answers),
    ("crawl_answer", crawl_answer),
];

/// What AWS, STS or a credential endpoint answers (or whatever sits at their address):
/// error bodies, STS credentials and the credential endpoints' JSON through the AWS access
/// module's parsers.
pub fn aws_answers(data: &[u8]) {
    crate::aws::parse_answers(data);
}

/// A config file: the first byte picks the original JSON shape or TOML.
pub fn config(data: &[u8]) {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = if first % 2 == 0 { "c.toml" } else { "c.json" };
    let _ = Config::from_text(Path::new(name), text, &Overrides::default());
}

/// A status file, ours or the original's; what parses must save and parse back the same.
pub fn status(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(status) = Status::parse(text) {
        let saved = serde_json::to_string_pretty(&status).expect("a parsed status serialises");
        let again = Status::parse(&saved).expect("a saved status parses back");
        assert_eq!(again, status, "the status file round-trips");
    }
}

/// An EDDA body for each kind of query: a current collection, a windowed (updated-only) id
/// listing and a `_diff`; what is accepted is JSON (but for a diff's text), and so is what the
/// host selects from it as a snapshot file read under a key list.
pub fn edda_body(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (path, window, updated_only) in [
        ("view/instances;_expand", false, false),
        ("aws/iamUsers", true, true),
        ("aws/iamUsers/alice;_diff=200", true, false),
    ] {
        let query = Query {
            path: path.into(),
            window,
            updated_only,
        };
        if let Ok(body) = crate::edda::check_response(&query, text.to_owned())
            && !path.contains("_diff")
        {
            serde_json::from_str::<serde::de::IgnoredAny>(&body).expect("an accepted body is JSON");
        }
    }
    // A snapshot file read for a query with a key list: what the host selects is JSON.
    let (_, selector) = crate::edda::projection::applicable(SELECTED).expect("a key list");
    if let Ok(selected) = selector.apply(text) {
        serde_json::from_str::<serde::de::IgnoredAny>(&selected).expect("a selection is JSON");
    }
}

/// What `serve-edda` reads from the network: a request head, parsed, then answered by the
/// engine over a small store. A request is refused or answered, never a panic; a JSON answer is
/// JSON; and answering from stored text gives the bytes of answering from built values.
pub fn serve_request(data: &[u8]) {
    let Ok(request) = crate::serve::http::parse_head(data) else {
        return;
    };
    let target = crate::serve::http::api_target(&request.target);
    let store = &*FUZZ_STORE;
    let reply = edda_engine::handle(store, &request.method, &target);
    if reply.status == 200 && reply.content_type == "application/json" && !reply.body.is_empty() {
        serde_json::from_slice::<serde::de::IgnoredAny>(&reply.body)
            .expect("a JSON answer is JSON");
    }
    if let Some(path) = target
        .strip_prefix("/edda/api/v2/")
        .filter(|p| !p.is_empty())
        && request.method == "GET"
    {
        let path = path.split('?').next().unwrap_or_default();
        let from_values = edda_engine::route::answer_from_values(store, path);
        assert_eq!(
            (reply.status, &reply.body),
            (from_values.status, &from_values.body),
            "stored text and built values answer {path:?} differently"
        );
    }
}

/// Two collections with history, ids, nested lists, nulls and dates: enough for every branch
/// of the engine a request can reach.
static FUZZ_STORE: std::sync::LazyLock<edda_engine::Store> = std::sync::LazyLock::new(|| {
    let mut store = edda_engine::Store::new();
    let rev = |id: &str, stime: i64, ltime: Option<i64>, data: Value| edda_engine::Revision {
        id: id.into(),
        stime,
        ltime,
        ctime: Some(1),
        data,
    };
    let sg = |port: i64| {
        serde_json::json!({"groupId": "sg-1", "groupName": "web", "ipPermissions": [
            {"fromPort": port, "ipRanges": ["0.0.0.0/0"], "toPort": port}], "tags": [
            {"key": "Name", "value": "web", "Name": "web"}], "vpcId": null})
    };
    store.insert("aws.securityGroups", rev("sg-1", 10, Some(20), sg(22)));
    store.insert("aws.securityGroups", rev("sg-1", 20, None, sg(443)));
    store.insert(
        "us-east-1.aws.securityGroups",
        rev(
            "sg-2",
            15,
            None,
            serde_json::json!({"groupId": "sg-2", "n": [1, [2, {"a": true}]]}),
        ),
    );
    for (id, stime, ltime) in [("alice", 5, None), ("bob", 5, Some(30))] {
        let user = serde_json::json!({"name": id, "groups": ["dev"], "accessKeys": [],
            "attributes": {"createDate": 1_514_764_800_000_i64, "arn": null}});
        store.insert("aws.iamUsers", rev(id, stime, ltime, user));
    }
    store
});

/// A key list with a nested list, as `edda_body` applies it.
const SELECTED: &str = "view/instances;_expand:(instanceId,tags,state:(name),n)";

/// AWS's answer to every call of a crawl, the same bytes each time: each collection is read
/// or fails with an error, never a panic or an endless walk over pages, and what is read has an
/// id and an object for every document.
pub fn crawl_answer(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    struct Same<'a>(&'a str);
    impl Api for Same<'_> {
        fn query(
            &self,
            _: Service,
            _: &str,
            _: &str,
            _: &[(&str, String)],
        ) -> anyhow::Result<String> {
            Ok(self.0.to_owned())
        }
        fn rest_get(
            &self,
            _: Service,
            _: &str,
            _: &str,
            _: &[(&str, String)],
        ) -> anyhow::Result<String> {
            Ok(self.0.to_owned())
        }
    }
    let regions = ["us-east-1".to_owned()];
    for (_, read) in crawl::read_account(&Same(text), &regions, &Collection::ALL) {
        for document in read.into_iter().flatten() {
            assert!(!document.id.is_empty());
            assert!(document.data.is_object());
        }
    }
}

/// What a rule returns: the bytes split into alerts (id, details) and a state at `\0`s.
/// Whatever is accepted is JSON no deeper than the limit, so the status file reads it back.
pub fn guest_output(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let state = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let mut alerts = Vec::new();
    while let (Some(id), Some(details)) = (parts.next(), parts.next()) {
        alerts.push((id.to_owned(), details.to_owned()));
    }
    if let Ok(output) = crate::engine::check_output(alerts, state, 1 << 20) {
        for value in output
            .alerts
            .iter()
            .map(|f| &f.details)
            .chain(&output.state)
        {
            assert!(json_depth(value) <= MAX_JSON_DEPTH);
            let saved = serde_json::to_string(value).expect("serialises");
            serde_json::from_str::<Value>(&saved).expect("reads back");
        }
    }
}

/// What a rule's `info` declares: name, version, description, default config, then query
/// paths, split at `\0`. What passes the checks has a rule name, bounded texts and a JSON
/// object or other value as its default config.
pub fn guest_info(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let texts = [next(), next(), next(), next()];
    let queries = parts
        .enumerate()
        .map(|(n, path)| (path, n % 2 == 0, n % 3 == 0))
        .collect();
    let Ok(info) = crate::engine::check_info(texts, queries) else {
        return;
    };
    if crate::rules::check_info(&info).is_ok() {
        assert!(crate::contract::is_rule_name(&info.name), "{:?}", info.name);
        assert!(info.queries.len() <= crate::contract::MAX_QUERIES);
    }
}

/// Hostile alert text through every text and JSON format: one line of three fields in
/// `stdout_tabsep`, one block in `stdout`, one `Subject:` line per alert in the mail's text,
/// and JSON lines that parse back to the same value with no raw line separator.
pub fn text_formats(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (id, details) = text.split_once('\0').unwrap_or((&text, ""));
    let details = serde_json::from_str(details).unwrap_or_else(|_| Value::String(details.into()));
    let alert = AlertRecord {
        rule: "fuzz".into(),
        id: id.into(),
        details,
        rule_version: "0.0.0".into(),
        window: Window {
            since_ms: 1,
            until_ms: 2,
        },
        raised_ms: 3,
        account: None,
    };
    let run = RunInfo {
        window: alert.window,
        started_ms: 3,
    };
    let line = outputs::render_stdout(StdoutFormat::Tabsep, &alert);
    assert_eq!(line.matches('\n').count(), 1, "{line:?}");
    assert_eq!(
        line.trim_end_matches('\n').split('\t').count(),
        3,
        "{line:?}"
    );
    let block = outputs::render_stdout(StdoutFormat::Blocks, &alert);
    assert_eq!(block.lines().filter(|l| l.starts_with("Rule: ")).count(), 1);
    assert_eq!(block.lines().count(), 4, "{block:?}");
    let mail = outputs::render_text(std::slice::from_ref(&alert), &run);
    assert_eq!(
        mail.lines().filter(|l| l.starts_with("Subject: ")).count(),
        1
    );
    let _ = outputs::render_html(std::slice::from_ref(&alert), &run);
    for doc in [
        outputs::render_stdout(StdoutFormat::Json, &alert),
        outputs::json_line(&outputs::document(&alert)),
    ] {
        let bad = |c: char| c.is_control() && c != '\n' || c == '\u{2028}' || c == '\u{2029}';
        assert!(!doc.chars().any(bad), "{doc:?}");
        let back: Value = serde_json::from_str(doc.trim_end()).expect("a JSON line parses");
        assert_eq!(back["id"], Value::String(alert.id.clone()));
    }
    let _ = outputs::bulk_body(&[&alert], "reddalert-%Y.%m.%d");
}

/// What a registry or a lock file hands the host: the first byte picks a lock file, a module
/// manifest or a cosign signature (payload, then signature, split at `\0`) checked against a
/// fixed key. What a lock accepts saves and reads back the same; a manifest that passes has
/// one layer within the limit; a signature never verifies with a key that did not make it.
pub fn registry(data: &[u8]) {
    use crate::registry::fuzzing::{Lockfile, Manifest, PublicKey, Signature, check};
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    match first % 3 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(lock) = Lockfile::parse(text) {
                let saved = serde_json::to_string_pretty(&lock).expect("a lock serialises");
                assert_eq!(Lockfile::parse(&saved).expect("a saved lock parses"), lock);
            }
        }
        1 => {
            if let Ok(layer) = Manifest::parse(rest).and_then(|m| m.module_layer(1 << 20).cloned())
            {
                assert!(layer.size <= 1 << 20);
            }
        }
        _ => {
            use base64::Engine as _;
            let (payload, signature) = rest
                .iter()
                .position(|&b| b == 0)
                .map_or((rest, &[][..]), |at| (&rest[..at], &rest[at + 1..]));
            let b64 = base64::engine::general_purpose::STANDARD;
            let signature = Signature {
                payload: b64.encode(payload),
                signature: b64.encode(signature),
            };
            let key = PublicKey::from_pem(FUZZ_KEY.as_bytes()).expect("the fuzz key");
            let digest = format!("sha256:{}", "0".repeat(64));
            assert!(
                check(&signature, &digest, &[key]).is_err(),
                "nobody has this key's private half"
            );
        }
    }
}

/// A P-256 public key whose private half was thrown away.
const FUZZ_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEG0hC2MmAeJkrTtxJYYd5uK9B3wi/
PgMIWDjsONWtrWIPqQ6rMsMk9cnMR5ECUMSX9sLG6en8gXamwg4sSmgdZA==
-----END PUBLIC KEY-----
";

#[cfg(test)]
mod tests {
    /// Replays every committed input of every target (`fuzz/corpus/<target>/`, the seeds and
    /// what the fuzzer kept), so a regression fails `cargo test` on stable.
    #[test]
    fn the_fuzz_corpus_replays_without_a_crash() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let mut replayed = 0;
        for (name, target) in super::TARGETS {
            let dir = root.join(name);
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("no corpus for {name} at {}: {e}", dir.display()));
            let mut inputs = 0;
            for entry in entries {
                let path = entry.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                inputs += 1;
            }
            assert!(inputs > 0, "the corpus of {name} is empty");
            replayed += inputs;
        }
        assert!(replayed >= 5);
    }
}
