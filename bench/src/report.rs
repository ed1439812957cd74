//! The benchmark's report: every figure of one run, as JSON (what the repository keeps and a
//! later run compares its alerts with) and as a Markdown table of ratios to the floor, with
//! each of issue 12's targets and whether this run met it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertSet;
use crate::crawl::CrawlFigures;
use crate::floor::Floor;
use crate::generate::Counts;
use crate::measure::ProcessCost;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub machine: Machine,
    pub scale: f64,
    pub counts: Counts,
    /// Timed runs per figure (medians are quoted).
    pub runs: usize,
    pub floor: Floor,
    /// Whole runs: `snapshot_warm`, `snapshot_cold`, `store_warm`, `loopback_warm`,
    /// `iam_loopback_warm`.
    pub full: BTreeMap<String, ProcessCost>,
    pub rules: Vec<RuleFigures>,
    /// What the whole run from snapshot files raised.
    pub alerts: AlertSet,
    /// The account loaded into a SQLite store (reports before the store have none).
    #[serde(default)]
    pub store: Option<StoreFigures>,
    /// `reddalert crawl` against moto, a small account whatever the scale (reports before the
    /// crawl have none).
    #[serde(default)]
    pub crawl: Option<CrawlFigures>,
    pub targets: Vec<Target>,
}

/// The account in a SQLite store, as `reddalert crawl` would have recorded it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreFigures {
    /// Revisions stored, live and closed.
    pub revisions: u64,
    /// The store file's size after a checkpoint.
    pub bytes: u64,
    pub bytes_per_1000_revisions: f64,
    /// Seconds to load it (one transaction).
    pub load_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub date: String,
    pub commit: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleFigures {
    pub rule: String,
    /// Median seconds of the guest call (`test-rule`'s own measure).
    pub wasm_s: f64,
    /// Median seconds of the whole `test-rule` process, engine and cache load included.
    pub wasm_process_s: f64,
    pub native_s: f64,
    pub fuel: u64,
    pub peak_guest_memory_mb: f64,
    pub alerts: AlertSet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

impl Report {
    pub fn table(&self) -> String {
        let floor = self.floor.seconds;
        let mb = |b: u64| b as f64 / 1e6;
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "reddalert benchmark, scale {} ({} instances, {} security groups, {} ELBs, {} IAM users, \
             {} hosted records); {} MB of EDDA JSON in {} files, the largest {:.1} MB\n\
             {}, {} cores, {:.0} GiB, {}, commit {}; medians of {} runs\n",
            self.scale,
            self.counts.instances,
            self.counts.security_groups,
            self.counts.load_balancers,
            self.counts.iam_users,
            self.counts.hosted_records,
            mb(self.floor.bytes) as u64,
            self.floor.files,
            mb(self.floor.largest_file_bytes),
            m.cpu,
            m.cores,
            m.memory_gib,
            m.date,
            m.commit,
            self.runs,
        );
        let _ = writeln!(out, "| what | wall s | × floor | cpu s | peak RSS MB |");
        let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: |");
        let _ = writeln!(
            out,
            "| floor: read each file once, parse into typed models | {floor:.3} | 1.00 | | |"
        );
        for (name, cost) in &self.full {
            let _ = writeln!(
                out,
                "| run: {} | {:.3} | {:.2} | {:.3} | {:.0} |",
                name.replace('_', " "),
                cost.wall_s,
                cost.wall_s / floor,
                cost.cpu_s,
                cost.peak_rss_mb
            );
        }
        if let Some(store) = &self.store {
            let _ = writeln!(
                out,
                "\nstore: {} revisions in {:.1} MB, {:.0} KB per 1,000 revisions; loaded in {:.2} s",
                store.revisions,
                mb(store.bytes),
                store.bytes_per_1000_revisions / 1e3,
                store.load_s
            );
        }
        if let Some(crawl) = &self.crawl {
            let _ = writeln!(
                out,
                "\ncrawl against moto (not targeted; {} resources in one region, {} AWS requests a crawl): \
                 first {:.2} s wall, {:.2} s cpu, {:.0} MB peak; unchanged {:.2} s wall, {:.2} s cpu; \
                 store {:.0} KB",
                crawl.resources,
                crawl.requests,
                crawl.first.wall_s,
                crawl.first.cpu_s,
                crawl.first.peak_rss_mb,
                crawl.unchanged.wall_s,
                crawl.unchanged.cpu_s,
                crawl.store_bytes as f64 / 1e3
            );
        }
        let _ = writeln!(
            out,
            "\n| rule | wasm call s | native s | wasm ÷ native | test-rule process s | fuel | peak guest MB | alerts |"
        );
        let _ = writeln!(
            out,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in &self.rules {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.3} | {:.2} | {:.3} | {} | {:.0} | {} |",
                r.rule,
                r.wasm_s,
                r.native_s,
                r.wasm_s / r.native_s,
                r.wasm_process_s,
                r.fuel,
                r.peak_guest_memory_mb,
                r.alerts.count
            );
        }
        let _ = writeln!(out, "\n| target | goal | measured | met |");
        let _ = writeln!(out, "| --- | --- | --- | --- |");
        for t in &self.targets {
            let met = if t.met { "yes" } else { "no" };
            let _ = writeln!(out, "| {} | {} | {} | {met} |", t.what, t.goal, t.measured);
        }
        out
    }
}

/// Issue 12's targets, judged on this report. The iam goal (5 s at scale 1) grows with the
/// scale, as the work does.
pub fn targets(r: &Report) -> Vec<Target> {
    let floor = r.floor.seconds;
    let mut out = Vec::new();
    if let Some(run) = r.full.get("snapshot_warm") {
        let ratio = run.wall_s / floor;
        out.push(Target {
            what: "whole warm run from snapshot files".into(),
            goal: "≤ 2× the floor".into(),
            measured: format!("{ratio:.2}×"),
            met: ratio <= 2.0,
        });
        let largest = r.floor.largest_file_bytes as f64 / 1e6;
        let bound = 2.5 * largest + 100.0;
        out.push(Target {
            what: "peak RSS of that run".into(),
            goal: format!("≤ 2.5 × largest collection + 100 MB = {bound:.0} MB"),
            measured: format!("{:.0} MB", run.peak_rss_mb),
            met: run.peak_rss_mb <= bound,
        });
    }
    if let (Some(files), Some(store)) = (r.full.get("snapshot_warm"), r.full.get("store_warm")) {
        let ratio = store.wall_s / files.wall_s;
        out.push(Target {
            what: "whole warm run from the store against the same from snapshot files".into(),
            goal: "≤ 1.2×".into(),
            measured: format!("{ratio:.2}× ({:.0} MB peak RSS)", store.peak_rss_mb),
            met: ratio <= 1.2,
        });
    }
    if let Some(worst) = r
        .rules
        .iter()
        .max_by(|a, b| (a.wasm_s / a.native_s).total_cmp(&(b.wasm_s / b.native_s)))
    {
        let ratio = worst.wasm_s / worst.native_s;
        out.push(Target {
            what: "each rule in wasm against its native build".into(),
            goal: "≤ 1.5×".into(),
            measured: format!("worst {} {ratio:.2}×", worst.rule),
            met: ratio <= 1.5,
        });
    }
    if let Some(iam) = r.full.get("iam_loopback_warm") {
        let goal = 5.0 * r.scale;
        out.push(Target {
            what: format!("iam, {} changed users, loopback EDDA", r.counts.iam_users),
            goal: format!("≤ {goal:.3} s"),
            measured: format!("{:.3} s", iam.wall_s),
            met: iam.wall_s <= goal,
        });
    }
    out.push(Target {
        what: "alerts: test-rule, native, whole runs (files, store, loopback) agree".into(),
        goal: "identical".into(),
        measured: format!(
            "{} alerts, sha256 {}",
            r.alerts.count,
            &r.alerts.sha256[..16]
        ),
        met: true,
    });
    out
}
