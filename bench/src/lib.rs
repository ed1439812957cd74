//! reddalert's benchmark: a deterministic synthetic account served by the loopback fake EDDA
//! and captured as snapshot files with `reddalert snapshot`, then, in one sitting, the floor
//! (read each file once, parse it natively into typed models), each stock EDDA rule in wasm
//! and built natively, and whole runs from the files, from the account loaded into a SQLite
//! store and from the loopback EDDA, warm and cold; and apart, what `reddalert crawl` costs
//! against moto at a small scale. Every figure is reported as a ratio to the floor, which
//! keeps its meaning on a noisy machine. The alerts of every way of running the rules are compared, with each other and
//! with an earlier report's: a benchmark that changes what is raised fails.

mod alerts;
pub mod crawl;
mod floor;
mod full;
pub mod generate;
mod measure;
mod native;
pub mod report;
mod store;
mod wasm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail, ensure};
use reddalert_testkit::edda::{FakeEdda, fixtures_dir};
use reddalert_testkit::guests;

use crate::alerts::{AlertSet, Alerts};
use crate::full::{Runner, Source, write_config};
use crate::generate::{Counts, SINCE_MS, UNTIL_MS};
use crate::measure::run_child;
use crate::report::{Report, RuleFigures};

pub struct Options {
    /// 1 is the account of issue 12; fractions make a small one (the test suite runs 0.002).
    pub scale: f64,
    /// Timed runs per figure.
    pub runs: usize,
    /// The `reddalert` binary (a release build for figures that mean something).
    pub host: PathBuf,
    /// A directory of its own for the account, configs, caches and outputs.
    pub work: PathBuf,
    /// An earlier report at the same scale whose alerts this run must raise too.
    pub previous: Option<Report>,
    /// A directory holding the six modules (`rule_<name>.wasm`) to measure instead of the
    /// ones the test kit built from this tree: to measure an older build beside a newer one.
    pub modules: Option<PathBuf>,
}

/// The six stock EDDA rules, as the test kit built them from source.
const MODULES: [&str; 6] = [
    guests::SECGROUPS,
    guests::ELBS,
    guests::IAM,
    guests::AMI,
    guests::NEWTAG,
    guests::MISSINGTAG,
];

pub fn run(opts: &Options) -> Result<Report> {
    std::fs::create_dir_all(&opts.work)
        .with_context(|| format!("failed to create {}", opts.work.display()))?;
    // The configs name their paths relative to themselves: give them absolute ones.
    let work = &std::path::absolute(&opts.work).context("failed to resolve the work directory")?;
    let counts = Counts::at(opts.scale);
    eprintln!("bench: generating the account at scale {}", opts.scale);
    let store = generate::account(counts, &fixtures_dir().join("basic"))?;
    let sqlite = work.join("account.sqlite");
    let store_figures = store::load(&store, &sqlite)?;
    let edda = FakeEdda::start(store);
    let modules: Vec<PathBuf> = MODULES
        .iter()
        .map(|built| match &opts.modules {
            Some(dir) => dir.join(Path::new(built).file_name().unwrap_or_default()),
            None => PathBuf::from(built),
        })
        .collect();
    let rules = install_rules(work, &modules)?;
    let cache = work.join("cache");
    let loopback = work.join("loopback.toml");
    write_config(
        &loopback,
        &Source::Loopback(&edda.base_url()),
        &rules,
        &cache,
    )?;
    let snapshot = work.join("snapshot");
    capture(opts, &loopback, &snapshot)?;
    let files = work.join("files.toml");
    write_config(&files, &Source::Snapshot(&snapshot), &rules, &cache)?;
    let from_store = work.join("store.toml");
    write_config(&from_store, &Source::Store(&sqlite), &rules, &cache)?;
    let cold_cache = work.join("cold-cache");
    let cold = work.join("cold.toml");
    write_config(&cold, &Source::Snapshot(&snapshot), &rules, &cold_cache)?;

    eprintln!("bench: the floor, then each rule natively and in wasm");
    let floor = floor::measure(&snapshot, opts.runs)?;
    let natives = native::run_all(&snapshot, opts.runs)?;
    let test_rule = wasm::TestRule {
        host: &opts.host,
        config: &files,
        snapshot: &snapshot,
        work,
    };
    let mut figures = Vec::new();
    let mut every_rule = Alerts::default();
    for (module, native) in modules.iter().zip(natives) {
        let wasm = test_rule.run(module, opts.runs)?;
        ensure!(wasm.rule == native.rule, "the rules are out of order");
        every_rule.extend(wasm.alerts.clone());
        let (wasm_alerts, native_alerts) = (wasm.alerts.set(), native.alerts.set());
        ensure!(
            wasm_alerts == native_alerts,
            "{}: wasm raised {wasm_alerts:?}, native {native_alerts:?}",
            wasm.rule
        );
        figures.push(RuleFigures {
            rule: wasm.rule,
            wasm_s: wasm.call_seconds,
            wasm_process_s: wasm.process.wall_s,
            native_s: native.seconds,
            fuel: wasm.fuel,
            peak_guest_memory_mb: wasm.peak_memory_bytes as f64 / 1e6,
            alerts: wasm_alerts,
        });
    }
    let every_rule = every_rule.set();

    eprintln!("bench: whole runs");
    let runner = Runner {
        host: &opts.host,
        work,
    };
    let mut full = BTreeMap::new();
    let mut check = |name: &str, run: full::FullRun| -> Result<()> {
        let set = run.alerts.set();
        ensure!(
            set == every_rule,
            "the run {name} raised {set:?}, the rules one by one {every_rule:?}"
        );
        full.insert(name.to_owned(), run.cost);
        Ok(())
    };
    check(
        "snapshot_warm",
        runner.run(&files, &cache, &[], opts.runs, false)?,
    )?;
    check(
        "snapshot_cold",
        runner.run(&cold, &cold_cache, &[], opts.runs, true)?,
    )?;
    check(
        "store_warm",
        runner.run(&from_store, &cache, &[], opts.runs, false)?,
    )?;
    check(
        "loopback_warm",
        runner.run(&loopback, &cache, &[], opts.runs, false)?,
    )?;
    let iam = runner.run(&loopback, &cache, &["iam"], opts.runs, false)?;
    let iam_set = iam.alerts.set();
    let iam_rule = figures.iter().find(|r| r.rule == "iam").map(|r| &r.alerts);
    ensure!(
        Some(&iam_set) == iam_rule,
        "iam alone raised {iam_set:?}, in test-rule {iam_rule:?}"
    );
    full.insert("iam_loopback_warm".to_owned(), iam.cost);

    if let Some(previous) = &opts.previous {
        compare(previous, opts.scale, &every_rule)?;
    }
    let crawl = crawl::measure(&opts.host, work, opts.runs)?;
    let mut report = Report {
        machine: machine(),
        scale: opts.scale,
        counts,
        runs: opts.runs,
        floor,
        full,
        rules: figures,
        alerts: every_rule,
        store: Some(store_figures),
        crawl: Some(crawl),
        targets: Vec::new(),
    };
    report.targets = report::targets(&report);
    Ok(report)
}

/// The six modules in a rules directory of the benchmark's own.
fn install_rules(work: &Path, modules: &[PathBuf]) -> Result<PathBuf> {
    let dir = work.join("rules");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for from in modules {
        let to = dir.join(from.file_name().context("a module path has a file name")?);
        std::fs::copy(from, &to)
            .with_context(|| format!("failed to copy {} to {}", from.display(), to.display()))?;
    }
    Ok(dir)
}

/// The account as snapshot files: what `reddalert snapshot` saves from the loopback EDDA for
/// the window, every rule's declared and run-time queries.
fn capture(opts: &Options, config: &Path, dir: &Path) -> Result<()> {
    eprintln!("bench: capturing the snapshot files");
    let _ = std::fs::remove_dir_all(dir);
    let mut cmd = Command::new(&opts.host);
    cmd.arg("--configfile")
        .arg(config)
        .arg("snapshot")
        .arg("--out")
        .arg(dir)
        .args([
            "--since",
            &SINCE_MS.to_string(),
            "--until",
            &UNTIL_MS.to_string(),
        ]);
    let work = dir
        .parent()
        .context("the snapshot directory is in the work directory")?;
    run_child(cmd, &work.join("snapshot.out"), &work.join("snapshot.err"))
        .context("failed to capture the snapshot files")?;
    Ok(())
}

fn compare(previous: &Report, scale: f64, now: &AlertSet) -> Result<()> {
    if previous.scale != scale {
        bail!(
            "the earlier report is of scale {}, this run's is {scale}: compare like with like",
            previous.scale
        );
    }
    ensure!(
        previous.alerts == *now,
        "the alerts changed: the earlier report's were {:?}, this run's are {now:?}",
        previous.alerts
    );
    Ok(())
}

fn machine() -> report::Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or(0.0, |kb| kb / (1024.0 * 1024.0));
    let output = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    report::Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_gib,
        date: output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
        commit: output(Command::new("git").args(["rev-parse", "--short", "HEAD"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(count: usize, sha256: &str) -> AlertSet {
        AlertSet {
            count,
            sha256: sha256.into(),
        }
    }

    #[test]
    fn an_earlier_report_must_have_raised_the_same_alerts_at_the_same_scale() {
        let now = set(3, "abc");
        let earlier: Report = serde_json::from_value(serde_json::json!({
            "machine": {"cpu": "x", "cores": 2, "memory_gib": 24.0, "date": "d", "commit": "c"},
            "scale": 1.0,
            "counts": {"instances": 1, "security_groups": 1, "load_balancers": 1, "iam_users": 1, "hosted_records": 1},
            "runs": 3,
            "floor": {"seconds": 1.0, "files": 1, "bytes": 1, "largest_file_bytes": 1, "collections": {}},
            "full": {}, "rules": [], "targets": [],
            "alerts": {"count": 3, "sha256": "abc"}
        }))
        .unwrap();
        compare(&earlier, 1.0, &now).unwrap();
        let changed = compare(&earlier, 1.0, &set(3, "abd")).unwrap_err();
        assert!(
            changed.to_string().contains("the alerts changed"),
            "{changed}"
        );
        let other_scale = compare(&earlier, 3.0, &now).unwrap_err();
        assert!(
            other_scale.to_string().contains("of scale 1"),
            "{other_scale}"
        );
    }
}
