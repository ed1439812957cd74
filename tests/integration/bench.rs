//! The benchmark's machinery, run at a tiny scale with the debug host: the account is
//! generated, captured with `reddalert snapshot`, run every way (natively, in wasm, whole runs
//! from files and from the loopback EDDA, warm and cold) with the same alerts, and the report
//! it writes parses back. The figures themselves are not judged here (no wall-clock asserts).

use reddalert_bench::report::Report;
use reddalert_bench::{Options, run};

#[test]
fn the_benchmark_runs_at_a_tiny_scale_and_its_report_parses() {
    let work = tempfile::tempdir().unwrap();
    let report = run(&Options {
        scale: 0.002,
        runs: 1,
        host: env!("CARGO_BIN_EXE_reddalert").into(),
        work: work.path().to_owned(),
        previous: None,
        modules: None,
    })
    .expect("the benchmark runs");

    let back: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back.counts.instances, 40);
    assert_eq!(back.counts.iam_users, 10);
    let rules: Vec<&str> = back.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["secgroups", "elbs", "iam", "ami", "newtag", "missingtag"]
    );
    let full: Vec<&str> = back.full.keys().map(String::as_str).collect();
    assert_eq!(
        full,
        [
            "iam_loopback_warm",
            "loopback_warm",
            "snapshot_cold",
            "snapshot_warm",
            "store_warm"
        ]
    );
    for (name, cost) in &back.full {
        assert!(
            cost.wall_s > 0.0 && cost.peak_rss_mb > 0.0,
            "{name}: {cost:?}"
        );
    }
    let crawl = back.crawl.as_ref().expect("the crawl's figures");
    // 50 instances, 20 load balancers, 21 users, 5 zones, 69 records and the security groups.
    assert!(crawl.resources > 165, "{crawl:?}");
    assert!(crawl.requests > 30 && crawl.first.cpu_s > 0.0, "{crawl:?}");
    let store = back.store.as_ref().expect("the store's figures");
    assert!(store.revisions > 0 && store.bytes > 0 && store.bytes_per_1000_revisions > 0.0);
    // What the rules raised one by one adds up to what the whole run raised.
    let per_rule: usize = back.rules.iter().map(|r| r.alerts.count).sum();
    assert_eq!(per_rule, back.alerts.count);
    assert!(back.alerts.count > 0, "the tiny account raises nothing");
    assert!(
        back.rules
            .iter()
            .all(|r| r.fuel > 0 && r.peak_guest_memory_mb > 0.0)
    );
    // Six collection files (the declared queries) and the iam rule's per-user answers.
    assert_eq!(
        back.floor.collections.len(),
        6,
        "{:?}",
        back.floor.collections
    );
    assert!(back.floor.files > back.floor.collections.len());
    assert!(back.floor.bytes > 0 && back.floor.seconds > 0.0);

    let table = report.table();
    for needle in [
        "| floor",
        "| run: snapshot warm",
        "| run: store warm",
        "KB per 1,000 revisions",
        "| secgroups |",
        "| iam, 10 changed users",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from\n{table}");
    }
}
