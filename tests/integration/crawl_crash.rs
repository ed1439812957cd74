//! The crawl under a crash and beside a run: crawls killed with SIGKILL at random moments (the
//! proxy slows every request so the kills land mid-crawl) leave a store that opens, passes
//! SQLite's integrity check and never holds a revision twice, and the next crawl and run
//! proceed; runs made while crawls commit, each starting where the last stopped, report every
//! change exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use reddalert_testkit::aws_account::Seed;
use reddalert_testkit::guests;
use serde_json::json;

use crate::crawl::{Crawled, now_ms};

/// A small generator for the kill delays; its seed is printed, to rerun a failure.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// One stored revision: collection, id, digest of its document, stime, ltime.
type Stored = (String, String, Vec<u8>, i64, Option<i64>);

/// Revisions that repeat the one before them (same document, same resource): a crawl
/// recorded twice.
fn repeated(account: &Crawled) -> Vec<String> {
    let db = rusqlite::Connection::open(account.store()).expect("the store opens");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut query = db
        .prepare(
            "SELECT c.name, r.id, r.digest, r.stime, r.ltime FROM revisions r \
             JOIN collections c ON c.cid = r.cid ORDER BY c.name, r.id, r.stime",
        )
        .unwrap();
    let rows: Vec<Stored> = query
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut found = Vec::new();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if (&a.0, &a.1) == (&b.0, &b.1) && ((a.2 == b.2 && a.4 == Some(b.3)) || a.4.is_none()) {
            found.push(format!("{} {} at {} and {}", a.0, a.1, a.3, b.3));
        }
    }
    found
}

#[test]
fn crawls_killed_at_random_moments_leave_a_store_that_opens_and_holds_nothing_twice() {
    let account = Crawled::start(&Seed::small(), &[guests::IAM], "");
    let first = account.crawl();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let seed = now_ms();
    eprintln!("kill delays seeded with {seed}");
    let mut random = Lcg(seed);
    account.proxy.delay(Duration::from_millis(25));
    let web = account.aws.seeded["groups"]["us-east-1"]["web"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..8 {
        // Something new in three collections, so that a killed crawl has something to record.
        let user = format!("crash-{round}");
        account
            .aws
            .boto("iam", "us-east-1", "create_user", json!({"UserName": user}));
        account.aws.boto("ec2", "us-east-1", "authorize_security_group_ingress", json!({"GroupId": web,
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 9000 + round, "ToPort": 9000 + round,
                               "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]}));
        account.aws.boto(
            "elb",
            "us-east-1",
            "add_tags",
            json!({"LoadBalancerNames": ["elb-001"],
            "Tags": [{"Key": "round", "Value": round.to_string()}]}),
        );
        let mut child = account
            .command(&["crawl"], true)
            .spawn()
            .expect("start a crawl");
        std::thread::sleep(Duration::from_millis(random.below(2_500)));
        let _ = child.kill();
        let _ = child.wait();
        let twice = repeated(&account);
        assert!(twice.is_empty(), "round {round}: recorded twice: {twice:?}");
    }
    account.proxy.delay(Duration::ZERO);
    let last = account.crawl();
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert!(repeated(&account).is_empty());
    let users = account.live("aws.iamUsers");
    for round in 0..8 {
        assert!(
            users.contains_key(&format!("crash-{round}")),
            "crash-{round} not recorded"
        );
    }
    // The next crawl finds everything recorded already.
    let recorded = account.revisions();
    let again = account.crawl();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(account.revisions(), recorded);
    let run = account.run(0);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.alerts_of("iam").is_empty());
}

#[test]
fn runs_while_crawls_commit_report_each_change_once() {
    let account = Crawled::start(&Seed::small(), &[guests::IAM], "");
    account.env.edit_config(
        "until_lag_seconds = 0\n",
        "until_lag_seconds = 0\nstore-until = true\n",
    );
    let first = account.crawl();
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Start quiet, as the README says: `--since` now, after the first crawl.
    let start = account.run(now_ms());
    assert_eq!(start.code, 0, "{}", start.stderr);
    assert_eq!(start.alerts_of("iam").len(), 0);

    let mut reported: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |run: &crate::support::Run| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        for alert in run.alerts_of("iam") {
            *reported
                .entry(alert["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    };
    let users: Vec<String> = (0..6).map(|n| format!("new-{n}")).collect();
    std::thread::scope(|scope| {
        let crawler = scope.spawn(|| {
            for user in &users {
                account
                    .aws
                    .boto("iam", "us-east-1", "create_user", json!({"UserName": user}));
                let crawl = account.crawl();
                assert_eq!(crawl.code, 0, "{}", crawl.stderr);
            }
        });
        // Runs, each from where the last stopped (`store-until`), until the crawls are done.
        let until = (now_ms() + 3_600_000).to_string();
        let mut runs = 0;
        while !crawler.is_finished() {
            count(&account.output(&["--until", &until], true));
            runs += 1;
        }
        assert!(runs >= 2, "only {runs} runs overlapped the crawls");
        crawler.join().unwrap();
    });
    let until = (now_ms() + 3_600_000).to_string();
    count(&account.output(&["--until", &until], true));
    let expected: BTreeMap<String, usize> = users.iter().map(|u| (u.clone(), 1)).collect();
    assert_eq!(reported, expected, "each new user once, none twice");
}
