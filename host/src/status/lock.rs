//! The run lock: an exclusive OS lock on `<statusfile>.lock`. The kernel drops it when the
//! process dies, so a crash never leaves a stale lock behind (the original's lock could). The
//! original reddalert locked with a `<statusfile>.lock` directory holding a file named after
//! its host and pid; one left by a crashed run made it exit forever. Such a directory is
//! reported and locked in place (an OS lock works on a directory too), unless the process
//! named in it is still running on this host, which counts as a held lock. That process is
//! recognised as the original by what it is, not by a word in its command line: a Python
//! interpreter running a `reddalert` or `reddalert.py` script, started before the lock was
//! taken (so a pid the kernel gave to another process since is not mistaken for it).

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Held for the whole run; dropping it unlocks.
#[derive(Debug)]
pub struct StatusLock {
    _file: File,
}

impl StatusLock {
    /// Takes the lock, waiting up to `wait` (the original waited 3 s) for another run.
    /// `status_path` should be [`super::resolve`]d, so every path to one file takes one lock.
    pub fn acquire(status_path: &Path, wait: Duration) -> Result<StatusLock> {
        let path = crate::oslock::lock_path(status_path);
        let file = open(&path)?;
        let locked = crate::oslock::lock_within(&file, wait, || original_holder(&path).is_some())
            .with_context(|| format!("failed to lock {}", path.display()))?;
        if locked {
            return Ok(StatusLock { _file: file });
        }
        match original_holder(&path) {
            Some(pid) => bail!(
                "status file {} is locked by the original reddalert (pid {pid}, running `{}`) \
                 through its lock directory {}; exiting without changes. If that process is not \
                 a reddalert run, remove the directory (rm -r {})",
                status_path.display(),
                command_line(pid),
                path.display(),
                path.display()
            ),
            None => bail!(
                "status file {} is locked by another reddalert run (lock {}); exiting without \
                 changes",
                status_path.display(),
                path.display()
            ),
        }
    }
}

fn open(path: &Path) -> Result<File> {
    if path.is_dir() {
        tracing::warn!(
            lock = %path.display(),
            "found the original reddalert's lock directory; it is ignored unless its process is \
             still running (once no original runs, remove it: rm -r {})",
            path.display()
        );
        return File::open(path)
            .with_context(|| format!("failed to open lock directory {}", path.display()));
    }
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    // Never wait on a FIFO someone put there: it is refused below instead.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options
        .open(path)
        .with_context(|| format!("failed to open lock file {}", path.display()))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!(
            "the lock file {} is not a regular file; remove it (no run holds it then)",
            path.display()
        );
    }
    Ok(file)
}

/// The pid of a live original reddalert on this host that holds its lock directory. The
/// original's lockfile names its file `<hostname>.<thread id in hex><pid>`, so the pid is a
/// suffix of the trailing digits: each candidate is checked for a running original started
/// before the file was made.
fn original_holder(lock: &Path) -> Option<u32> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let host = host.trim();
    let entries = std::fs::read_dir(lock).ok()?;
    entries.filter_map(|e| e.ok()).find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix(host)?.strip_prefix('.')?;
        let digits = &rest[rest.trim_end_matches(|c: char| c.is_ascii_digit()).len()..];
        let locked_at = entry.metadata().ok()?.modified().ok()?;
        (1..=digits.len().min(7))
            .filter_map(|n| digits[digits.len() - n..].parse::<u32>().ok())
            .find(|&pid| pid != std::process::id() && runs_original(pid, locked_at))
    })
}

/// Whether `pid` is the original reddalert: a Python interpreter running a script named
/// `reddalert` or `reddalert.py`, started no later than `locked_at`.
fn runs_original(pid: u32, locked_at: std::time::SystemTime) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let base = |arg: &str| arg.rsplit('/').next().unwrap_or(arg).to_owned();
    let python = args.first().is_some_and(|a| base(a).starts_with("python"))
        || std::fs::read_link(format!("/proc/{pid}/exe"))
            .is_ok_and(|exe| base(&exe.to_string_lossy()).starts_with("python"));
    let script = args
        .iter()
        .skip(1)
        .any(|a| matches!(base(a).as_str(), "reddalert" | "reddalert.py"));
    python && script && started(pid).is_some_and(|at| at <= locked_at + Duration::from_secs(1))
}

/// When process `pid` started: the boot time plus its start in clock ticks (`/proc`).
fn started(pid: u32) -> Option<std::time::SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let after = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions; it answers -1 for a name it does not know.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|t| *t > 0)?;
    let millis = boot * 1000 + ticks * 1000 / per_second;
    Some(std::time::UNIX_EPOCH + Duration::from_millis(millis))
}

/// The command line of `pid`, for the error.
fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let text = String::from_utf8_lossy(&c).replace('\0', " ");
            crate::contract::escape_text(text.trim()).into_owned()
        })
        .unwrap_or_default()
}
