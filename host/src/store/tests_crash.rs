//! The store under concurrency and crashes: a reader as of the clock keeps one answer while
//! another thread commits, and a process recording in a loop, killed with SIGKILL at random
//! moments, leaves a store that opens, holds every crawl whole or not at all, never the same
//! revision twice, and takes the next record.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use super::*;

const ROOT: &str = "aws.securityGroups";

/// Crawl `n`: 40 groups over two regions; a third of them carry `n` (so each crawl changes
/// them), and group `n % 40` is missing (gone, then back next time).
fn crawl(n: u64) -> Vec<Document> {
    (0..40u64)
        .filter(|j| *j != n % 40)
        .map(|j| Document {
            collection: format!(
                "{}.{ROOT}",
                if j % 2 == 0 { "us-east-1" } else { "eu-west-1" }
            ),
            id: format!("sg-{j:02}"),
            ctime: Some(7),
            data: json!({"groupId": format!("sg-{j:02}"), "v": if j % 3 == n % 3 { n } else { 0 }}),
        })
        .collect()
}

#[test]
fn an_as_of_reader_keeps_one_answer_while_another_thread_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acct.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.record(ROOT, crawl(1), 1).unwrap();
    let commits = Arc::new(AtomicUsize::new(1));
    let writer = {
        let (path, commits) = (path.clone(), commits.clone());
        std::thread::spawn(move || {
            let mut store = Store::open(&path).unwrap();
            for n in 2..=120 {
                store.record(ROOT, crawl(n), n).unwrap();
                commits.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while commits.load(Ordering::SeqCst) < 10 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let reader = edda_engine::sqlite::AsOf::open(&path, 0, None).unwrap();
    let at_open = commits.load(Ordering::SeqCst);
    let clock = reader.clock_ms().unwrap();
    let ask = |q: &str| edda_engine::answer(&reader, q).unwrap();
    let first = ask("aws/securityGroups;_expand");
    let history = ask(&format!(
        "aws/securityGroups;_since=0;_until={}",
        i64::MAX / 2
    ));
    let mut reads = 0;
    while !writer.is_finished() || reads < 10 {
        assert_eq!(ask("aws/securityGroups;_expand"), first);
        assert_eq!(
            ask(&format!(
                "aws/securityGroups;_since=0;_until={}",
                i64::MAX / 2
            )),
            history
        );
        reads += 1;
    }
    writer.join().unwrap();
    assert!(
        commits.load(Ordering::SeqCst) > at_open,
        "commits landed while the reader read"
    );
    // The answer is the whole crawl committed at the reader's instant, nothing else.
    let docs: Vec<serde_json::Value> = serde_json::from_slice(&first.body).unwrap();
    let expected: Vec<serde_json::Value> = {
        let mut d: Vec<_> = crawl(clock as u64).into_iter().map(|d| d.data).collect();
        d.sort_by_key(|v| v["groupId"].as_str().unwrap().to_owned());
        d
    };
    let mut got = docs;
    got.sort_by_key(|v| v["groupId"].as_str().unwrap().to_owned());
    assert_eq!(got, expected);
}

/// Set to a store's path, the child half of the crash test: records crawls until killed. Run
/// alone it has nothing to do.
const CHILD: &str = "REDDALERT_TEST_RECORDING_CHILD";

#[test]
fn child_process_records_until_killed() {
    let Some(path) = std::env::var_os(CHILD) else {
        return;
    };
    let mut store = Store::open(std::path::Path::new(&path)).unwrap();
    loop {
        let n = store.clock_ms().unwrap().unwrap_or(0) + 1;
        store.record(ROOT, crawl(n), n).unwrap();
    }
}

/// `(collection, id, data)` of the live revisions, sorted.
fn live(store: &Store) -> Vec<(String, String, String)> {
    let mut stmt = store
        .conn
        .prepare(
            "SELECT c.name, r.id, r.data FROM revisions r JOIN collections c ON c.cid = r.cid
             WHERE r.ltime IS NULL ORDER BY c.name, r.id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn a_process_killed_while_recording_leaves_every_crawl_whole_or_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acct.sqlite");
    let mut seed = u64::from(std::process::id());
    let mut commits_seen = Vec::new();
    for _ in 0..6 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "store::tests_crash::child_process_records_until_killed",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // A pseudo-random moment: the kill lands before, during or between transactions.
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_millis(150 + (seed >> 33) % 400));
        child.kill().unwrap();
        assert!(!child.wait().unwrap().success(), "the child was killed");

        let mut store = Store::open(&path).unwrap();
        let check: String = store
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let repeated: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM (SELECT 1 FROM revisions GROUP BY cid, id, stime
                 HAVING count(*) > 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(repeated, 0, "a revision recorded twice");
        let clock = store.clock_ms().unwrap().unwrap_or(0);
        // The live set is exactly the last committed crawl: none half written.
        let expected: Vec<(String, String, String)> = {
            let mut e: Vec<_> = crawl(clock)
                .into_iter()
                .map(|d| (d.collection, d.id, edda_engine::json::compact(&d.data)))
                .collect();
            e.sort();
            e
        };
        if clock > 0 {
            assert_eq!(live(&store), expected, "clock {clock}");
        }
        // And the next crawl records on.
        let next = store.record(ROOT, crawl(clock + 1), clock + 1).unwrap();
        assert_eq!(next.committed_ms, clock + 1);
        assert!(
            next.changed > 0 && next.gone == 1 && next.added == 1,
            "{next:?}"
        );
        commits_seen.push(clock);
    }
    assert!(
        commits_seen.windows(2).all(|w| w[0] < w[1]) && commits_seen[5] > 12,
        "the children committed: {commits_seen:?}"
    );
}
