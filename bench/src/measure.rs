//! Timing, from inside (a closure, median of several runs) and from outside (a child process:
//! wall clock around it, CPU time and peak resident memory from the kernel's own accounting
//! of that one child, read with `wait4`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

/// The median of `runs` timings of `f`, in seconds, and the last value it returned.
pub fn median_of<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let value = f()?;
        times.push(start.elapsed().as_secs_f64());
        last = Some(value);
    }
    Ok((median(&mut times), last.expect("at least one run")))
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// What one finished child cost.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ProcessCost {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

/// Runs `cmd` to its end with stdout written to `stdout` and stderr to `stderr`, and returns
/// its cost. A child that fails is an error quoting the end of its stderr.
pub fn run_child(mut cmd: Command, stdout: &Path, stderr: &Path) -> Result<ProcessCost> {
    let out = std::fs::File::create(stdout)
        .with_context(|| format!("failed to create {}", stdout.display()))?;
    let err = std::fs::File::create(stderr)
        .with_context(|| format!("failed to create {}", stderr.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("failed to start {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's handle is never waited on).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = start.elapsed().as_secs_f64();
    if reaped != pid {
        bail!(
            "failed to wait for {cmd:?}: {}",
            std::io::Error::last_os_error()
        );
    }
    drop(child);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cost = ProcessCost {
        wall_s,
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        // Linux reports ru_maxrss in KiB. For a child of a large process it counts that
        // process's memory at the fork too: whole runs read their own figure instead.
        peak_rss_mb: usage.ru_maxrss as f64 * 1024.0 / 1e6,
    };
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let text = std::fs::read_to_string(stderr).unwrap_or_default();
        let tail: String = text
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        bail!("{cmd:?} failed (wait status {status}):\n{tail}");
    }
    Ok(cost)
}

/// The median of several children's costs, field by field, and the largest peak.
pub fn summarise(costs: &[ProcessCost]) -> ProcessCost {
    let mut wall: Vec<f64> = costs.iter().map(|c| c.wall_s).collect();
    let mut cpu: Vec<f64> = costs.iter().map(|c| c.cpu_s).collect();
    ProcessCost {
        wall_s: median(&mut wall),
        cpu_s: median(&mut cpu),
        peak_rss_mb: costs.iter().map(|c| c.peak_rss_mb).fold(0.0, f64::max),
    }
}
