//! `reddalert-bench`: runs the benchmark at one scale, prints its table, and writes the report
//! (JSON and the Markdown table) beside the earlier one, whose alerts it must match.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Parser;
use reddalert_bench::report::Report;
use reddalert_bench::{Options, run};

/// The benchmark of issue 12 (see bench/README.md).
#[derive(Parser)]
struct Args {
    /// Size of the synthetic account: 1 is 20k instances, 5k security groups, 2k ELBs, 5k IAM
    /// users, 10k hosted records.
    #[arg(default_value_t = 1.0)]
    scale: f64,
    /// Timed runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The reddalert binary to measure.
    #[arg(long, default_value = "target/release/reddalert")]
    host: PathBuf,
    /// Scratch directory [default: target/bench/scale-<SCALE>].
    #[arg(long)]
    work: Option<PathBuf>,
    /// Measure the six modules (`rule_<name>.wasm`) in this directory instead of the ones
    /// built from this tree.
    #[arg(long, value_name = "DIR")]
    modules: Option<PathBuf>,
    /// Directory of the reports (`scale-<SCALE>.json` and `.md`).
    #[arg(long, default_value = "bench/report")]
    out: PathBuf,
}

fn main() -> ExitCode {
    match main_() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn main_() -> Result<()> {
    let args = Args::parse();
    let json = args.out.join(format!("scale-{}.json", args.scale));
    let previous =
        match std::fs::read_to_string(&json) {
            Ok(text) => Some(serde_json::from_str::<Report>(&text).with_context(|| {
                format!("failed to parse the earlier report {}", json.display())
            })?),
            Err(_) => None,
        };
    let opts = Options {
        scale: args.scale,
        runs: args.runs,
        host: args.host,
        work: args
            .work
            .unwrap_or_else(|| PathBuf::from(format!("target/bench/scale-{}", args.scale))),
        previous,
        modules: args.modules,
    };
    let report = run(&opts)?;
    let table = report.table();
    print!("{table}");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("failed to create {}", args.out.display()))?;
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("failed to write {}", json.display()))?;
    let md = json.with_extension("md");
    std::fs::write(&md, table).with_context(|| format!("failed to write {}", md.display()))?;
    eprintln!("bench: wrote {} and {}", json.display(), md.display());
    Ok(())
}
