//! The crawl's cost against moto at a small scale, reported and not targeted: a fixed account
//! in moto ([`SEED`], the same at every scale), crawled by the `reddalert` binary into a fresh
//! store behind the test kit's proxy, which counts the AWS requests. The first crawl records
//! everything; the next ones, with nothing changed, record nothing (their median is quoted).
//! moto answers from Python on the same machine, so wall time says more about moto than about
//! AWS; the requests a crawl makes and the host's own CPU time are the crawl's.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, ensure};
use reddalert_testkit::aws_account::{AwsAccount, Seed};
use reddalert_testkit::aws_proxy::FailingProxy;
use serde::{Deserialize, Serialize};

use crate::measure::{ProcessCost, median, run_child};

/// What a crawl of the account costs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrawlFigures {
    /// Live resources the store holds after the first crawl, every collection.
    pub resources: u64,
    /// AWS requests one crawl makes.
    pub requests: u64,
    /// The first crawl: everything new.
    pub first: ProcessCost,
    /// A crawl with nothing changed (medians).
    pub unchanged: ProcessCost,
    /// The store's size after the first crawl, checkpointed.
    pub store_bytes: u64,
}

/// The account: one region, 50 instances in 10 reservations, 20 load balancers, 20 users, 5
/// zones with 50 records and the usual few.
pub fn seed() -> Seed {
    Seed {
        regions: vec!["us-east-1".to_owned()],
        reservations: vec![5; 10],
        load_balancers: 20,
        users: 20,
        zones: 5,
        records: 50,
    }
}

pub fn measure(host: &Path, work: &Path, runs: usize) -> Result<CrawlFigures> {
    eprintln!("bench: the crawl against moto");
    let account = AwsAccount::start(&seed());
    let proxy = FailingProxy::start(&account.endpoint());
    let dir = work.join("crawl");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home"))?;
    let config = dir.join("crawl.toml");
    std::fs::write(
        &config,
        format!(
            "edda = \"store:crawl.sqlite\"\n[crawl]\nregions = [\"us-east-1\"]\nendpoint_url = {:?}\n",
            proxy.url()
        ),
    )?;
    let crawl = |n: usize| -> Result<ProcessCost> {
        let mut cmd = Command::new(host);
        cmd.arg("--configfile").arg(&config).arg("crawl");
        for var in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_ENDPOINT_URL",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", dir.join("home"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", &account.moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &account.moto.secret_access_key);
        run_child(
            cmd,
            &dir.join(format!("crawl-{n}.out")),
            &dir.join(format!("crawl-{n}.err")),
        )
        .with_context(|| format!("crawl {n} failed"))
    };
    let first = crawl(0)?;
    let requests = proxy.seen_total() as u64;
    let store = dir.join("crawl.sqlite");
    let conn = edda_engine::sqlite::open_existing(&store)?;
    let resources: i64 = conn.query_row(
        "SELECT count(*) FROM revisions WHERE ltime IS NULL",
        [],
        |row| row.get(0),
    )?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    let store_bytes = std::fs::metadata(&store)?.len();
    let revisions = |conn: &rusqlite::Connection| -> Result<i64> {
        Ok(conn.query_row("SELECT count(*) FROM revisions", [], |row| row.get(0))?)
    };
    let recorded = revisions(&conn)?;
    let mut unchanged = Vec::new();
    for n in 1..=runs.max(1) {
        unchanged.push(crawl(n)?);
    }
    ensure!(
        revisions(&conn)? == recorded,
        "a crawl with nothing changed recorded revisions"
    );
    let pick =
        |f: fn(&ProcessCost) -> f64| median(&mut unchanged.iter().map(f).collect::<Vec<_>>());
    let unchanged = ProcessCost {
        wall_s: pick(|c| c.wall_s),
        cpu_s: pick(|c| c.cpu_s),
        peak_rss_mb: pick(|c| c.peak_rss_mb),
    };
    Ok(CrawlFigures {
        resources: u64::try_from(resources).unwrap_or(0),
        requests,
        first,
        unchanged,
        store_bytes,
    })
}
