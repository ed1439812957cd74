//! The store's writer against a real SQLite file: EDDA's delta (new, changed, gone, ctime and
//! ftime carried), the clock, crawls that change nothing, failures, retention, schema
//! refusal and the crawl lock.

use std::time::Duration;

use serde_json::json;

use super::*;

fn doc(collection: &str, id: &str, data: serde_json::Value) -> Document {
    Document {
        collection: collection.into(),
        id: id.into(),
        ctime: None,
        data,
    }
}

fn sg(region: &str, id: &str, port: u16) -> Document {
    doc(
        &format!("{region}.aws.securityGroups"),
        id,
        json!({"groupId": id, "ipPermissions": [{"fromPort": port}]}),
    )
}

/// (collection, id, stime, ltime, ctime, ftime, data) of every revision, in insertion order.
type Row = (String, String, i64, Option<i64>, Option<i64>, i64, String);

fn rows(store: &Store) -> Vec<Row> {
    let mut stmt = store
        .conn
        .prepare(
            "SELECT c.name, r.id, r.stime, r.ltime, r.ctime, r.ftime, r.data
             FROM revisions r JOIN collections c ON c.cid = r.cid ORDER BY r.seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("acct.sqlite")).unwrap();
    (dir, store)
}

#[test]
fn a_first_crawl_adds_every_resource_at_its_commit_time() {
    let (_dir, mut store) = new_store();
    assert_eq!(store.clock_ms().unwrap(), None);
    let mut user = doc(
        "aws.iamUsers",
        "alice",
        json!({"name": "alice", "b": 1, "a": [2, 1]}),
    );
    user.ctime = Some(7);
    let delta = store.record("aws.iamUsers", vec![user], 1_000).unwrap();
    assert_eq!(
        delta,
        Delta {
            added: 1,
            changed: 0,
            gone: 0,
            committed_ms: 1_000
        }
    );
    assert_eq!(store.clock_ms().unwrap(), Some(1_000));
    // Canonical text: keys sorted, compact, lists as given.
    assert_eq!(
        rows(&store),
        [(
            "aws.iamUsers".into(),
            "alice".into(),
            1_000,
            None,
            Some(7),
            1_000,
            r#"{"a":[2,1],"b":1,"name":"alice"}"#.into()
        )]
    );
}

#[test]
fn changed_and_gone_close_revisions_and_ctime_and_ftime_carry_over() {
    let (_dir, mut store) = new_store();
    let mut a = sg("us-east-1", "sg-a", 22);
    a.ctime = Some(5);
    let b = sg("eu-west-1", "sg-b", 80);
    store
        .record("aws.securityGroups", vec![a.clone(), b], 1_000)
        .unwrap();
    // sg-a changes (and the crawl gives another ctime, which EDDA's carried one wins over),
    // sg-b's region has gone entirely, sg-c is new.
    let mut a2 = sg("us-east-1", "sg-a", 443);
    a2.ctime = Some(99);
    let c = sg("us-east-1", "sg-c", 8080);
    let delta = store
        .record("aws.securityGroups", vec![c, a2], 2_000)
        .unwrap();
    assert_eq!(
        (delta.added, delta.changed, delta.gone, delta.committed_ms),
        (1, 1, 1, 2_000)
    );
    // (id, ltime, ctime, ftime, stime)
    type Summary = (String, Option<i64>, Option<i64>, i64, i64);
    let got: Vec<Summary> = rows(&store)
        .into_iter()
        .map(|(_, id, stime, ltime, ctime, ftime, _)| (id, ltime, ctime, ftime, stime))
        .collect();
    assert_eq!(
        got,
        [
            ("sg-a".into(), Some(2_000), Some(5), 1_000, 1_000),
            ("sg-b".into(), Some(2_000), None, 1_000, 1_000),
            ("sg-c".into(), None, None, 2_000, 2_000),
            ("sg-a".into(), None, Some(5), 1_000, 2_000),
        ]
    );
    // A gone resource that comes back is new again.
    let delta = store
        .record(
            "aws.securityGroups",
            vec![sg("us-east-1", "sg-a", 443), sg("eu-west-1", "sg-b", 80)],
            3_000,
        )
        .unwrap();
    assert_eq!((delta.added, delta.changed, delta.gone), (1, 0, 1));
}

#[test]
fn an_unchanged_crawl_records_nothing_but_moves_the_clock() {
    let (_dir, mut store) = new_store();
    let docs = || {
        vec![
            doc(
                "aws.iamUsers",
                "bob",
                json!({"x": 1, "y": {"b": 2, "a": 1}}),
            ),
            doc("aws.iamUsers", "eve", json!({})),
        ]
    };
    store.record("aws.iamUsers", docs(), 1_000).unwrap();
    let before = rows(&store);
    // The same documents with their keys in another order are the same documents.
    let reordered = vec![
        doc("aws.iamUsers", "eve", json!({})),
        doc(
            "aws.iamUsers",
            "bob",
            json!({"y": {"a": 1, "b": 2}, "x": 1}),
        ),
    ];
    let delta = store.record("aws.iamUsers", reordered, 2_000).unwrap();
    assert_eq!(
        delta,
        Delta {
            committed_ms: 2_000,
            ..Delta::default()
        }
    );
    assert_eq!(rows(&store), before);
    assert_eq!(store.clock_ms().unwrap(), Some(2_000));
    let status = store.status().unwrap();
    assert_eq!(status[0].last_success_ms, Some(2_000));
    assert_eq!((status[0].live, status[0].revisions), (2, 2));
}

#[test]
fn the_clock_never_goes_back_or_repeats() {
    let (_dir, mut store) = new_store();
    let one = || vec![doc("aws.hostedZones", "z.", json!({"n": 1}))];
    assert_eq!(
        store
            .record("aws.hostedZones", one(), 5_000)
            .unwrap()
            .committed_ms,
        5_000
    );
    // The wall clock set back, or two commits in one millisecond: C = clock + 1.
    let delta = store.record("aws.hostedRecords", vec![], 4_000).unwrap();
    assert_eq!(delta.committed_ms, 5_001);
    let delta = store
        .record(
            "aws.hostedZones",
            vec![doc("aws.hostedZones", "z.", json!({"n": 2}))],
            5_001,
        )
        .unwrap();
    assert_eq!(delta.committed_ms, 5_002);
    let times: Vec<(i64, Option<i64>)> = rows(&store).into_iter().map(|r| (r.2, r.3)).collect();
    assert_eq!(times, [(5_000, Some(5_002)), (5_002, None)]);
}

#[test]
fn bad_crawls_are_refused_before_anything_is_written() {
    let (_dir, mut store) = new_store();
    let dup = vec![sg("us-east-1", "sg-a", 1), sg("us-east-1", "sg-a", 2)];
    let err = store.record("aws.securityGroups", dup, 1).unwrap_err();
    assert!(
        format!("{err:#}").contains("two documents with id \"sg-a\""),
        "{err:#}"
    );
    // The same id in two regions is two resources of the merged view.
    store
        .record(
            "aws.loadBalancers",
            vec![
                doc("us-east-1.aws.loadBalancers", "web", json!({})),
                doc("eu-west-1.aws.loadBalancers", "web", json!({})),
            ],
            1,
        )
        .unwrap();
    for wrong in [
        "aws.iamUsers",
        "x-aws.securityGroups",
        ".aws.securityGroups",
    ] {
        let err = store
            .record("aws.securityGroups", vec![doc(wrong, "i", json!({}))], 2)
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("is not in root collection"),
            "{wrong}: {err:#}"
        );
    }
    assert_eq!(rows(&store).len(), 2);
    assert_eq!(store.clock_ms().unwrap(), Some(1));
}

#[test]
fn a_failure_writes_only_the_attempt_and_a_success_clears_it() {
    let (_dir, mut store) = new_store();
    store
        .record(
            "view.instances",
            vec![doc("us-east-1.view.instances", "i-1", json!({}))],
            1_000,
        )
        .unwrap();
    store
        .record_failure("view.instances", "DescribeInstances: throttled", 2_000)
        .unwrap();
    store
        .record_failure("aws.iamUsers", "no access", 2_000)
        .unwrap();
    assert_eq!(store.clock_ms().unwrap(), Some(1_000));
    let status = store.status().unwrap();
    assert_eq!(
        status,
        [
            CollectionStatus {
                root: "aws.iamUsers".into(),
                last_success_ms: None,
                last_attempt_ms: Some(2_000),
                last_error: Some("no access".into()),
                live: 0,
                revisions: 0,
            },
            CollectionStatus {
                root: "view.instances".into(),
                last_success_ms: Some(1_000),
                last_attempt_ms: Some(2_000),
                last_error: Some("DescribeInstances: throttled".into()),
                live: 1,
                revisions: 1,
            },
        ]
    );
    store.record("view.instances", vec![], 3_000).unwrap();
    let status = store.status().unwrap();
    assert_eq!(
        (
            status[1].last_success_ms,
            status[1].last_error.as_deref(),
            status[1].live,
            status[1].revisions
        ),
        (Some(3_000), None, 0, 1)
    );
}

#[test]
fn purge_deletes_only_revisions_closed_before_the_cut() {
    let (_dir, mut store) = new_store();
    let v = |n: i64| vec![doc("aws.iamUsers", "u", json!({ "v": n }))];
    store.record("aws.iamUsers", v(1), 1_000).unwrap();
    store.record("aws.iamUsers", v(2), 2_000).unwrap();
    store.record("aws.iamUsers", v(3), 3_000).unwrap();
    assert_eq!(store.purge(2_000).unwrap(), 0);
    assert_eq!(store.purge(2_001).unwrap(), 1);
    assert_eq!(store.purge(1_000_000).unwrap(), 1);
    let left: Vec<(i64, Option<i64>)> = rows(&store).into_iter().map(|r| (r.2, r.3)).collect();
    assert_eq!(left, [(3_000, None)]);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 7;")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&path.display().to_string())
            && msg.contains("schema version 7")
            && msg.contains("version 1")
            && msg.contains("use the reddalert that wrote it"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A file with tables of its own is not taken for a new store either.
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let msg = format!("{:#}", Store::open(&other).unwrap_err());
    assert!(msg.contains("is not a reddalert store"), "{msg}");
    // Reopening one's own store keeps its contents.
    let mine = dir.path().join("mine.sqlite");
    Store::open(&mine)
        .unwrap()
        .record("aws.iamUsers", vec![doc("aws.iamUsers", "u", json!({}))], 9)
        .unwrap();
    assert_eq!(Store::open(&mine).unwrap().clock_ms().unwrap(), Some(9));
}

#[test]
fn a_second_crawl_waits_then_fails_naming_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acct.sqlite");
    let held = Store::lock_for_crawl(&path, Duration::ZERO).unwrap();
    let started = std::time::Instant::now();
    let err = Store::lock_for_crawl(&path, Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!(
            "store {} is locked by another crawl",
            path.display()
        )),
        "{msg}"
    );
    // Released on drop, also while another waits.
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || Store::lock_for_crawl(&path, Duration::from_secs(30)).is_ok())
    };
    std::thread::sleep(Duration::from_millis(200));
    drop(held);
    assert!(waiter.join().unwrap());
}
