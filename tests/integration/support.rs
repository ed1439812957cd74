//! Test scaffolding: a temporary installation (config, status file, rules directory) and a
//! way to run the real `reddalert` binary in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

/// Fixture times (tests/fixtures/edda/basic/README.md).
pub const T0: u64 = 1_514_764_800_000;
pub const T1: u64 = 1_514_768_400_000;
pub const T2: u64 = 1_514_772_000_000;
pub const T3: u64 = 1_514_775_600_000;
pub const T4: u64 = 1_514_779_200_000;

pub struct Env {
    pub dir: TempDir,
    pub config: PathBuf,
    pub status: PathBuf,
    pub rules: PathBuf,
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The alerts printed by the `stdout_json` output, without their `uid` (checked to be
    /// a sha256, the stable id a consumer de-duplicates by).
    pub fn alerts(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| {
                let mut alert: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON line: {l:?}: {e}"));
                let uid = alert
                    .as_object_mut()
                    .and_then(|a| a.remove("uid"))
                    .unwrap_or_else(|| panic!("no uid in {l:?}"));
                assert!(
                    uid.as_str()
                        .is_some_and(|u| u.len() == 64 && u.bytes().all(|b| b.is_ascii_hexdigit())),
                    "uid is not a sha256: {uid}"
                );
                alert
            })
            .collect()
    }

    pub fn alerts_of(&self, rule: &str) -> Vec<Value> {
        self.alerts()
            .into_iter()
            .filter(|a| a["plugin_name"] == rule)
            .collect()
    }
}

impl Env {
    /// An installation with `modules` in its rules dir and a TOML config pointing at `edda`;
    /// `extra` is appended to the config. Its compilation cache is the suite's shared one
    /// ([`shared_cache_line`]): a test of the cache itself takes its own ([`Env::own_cache`]).
    pub fn new(edda: &str, modules: &[&str], extra: &str) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = dir.path().join("rules");
        reddalert_testkit::guests::install(&rules, modules);
        let config = dir.path().join("reddalert.toml");
        let cache = shared_cache_line();
        let text = format!(
            "edda = {edda:?}\noutput = [\"stdout_json\"]\nrules_dir = \"rules\"\n{cache}\nedda_timeout_seconds = 5\n{extra}\n"
        );
        std::fs::write(&config, text).expect("write config");
        let status = dir.path().join("status.json");
        Env {
            dir,
            config,
            status,
            rules,
        }
    }

    /// Moves the compilation cache to `cache` in the installation's own directory, empty: for
    /// the tests that count its hits or tamper with its entries.
    pub fn own_cache(&self) {
        self.edit_config(&shared_cache_line(), "cache_dir = \"cache\"");
    }

    /// Replaces text in the config file.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("read config");
        assert!(text.contains(from), "config has no {from:?}");
        std::fs::write(&self.config, text.replace(from, to)).expect("write config");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `reddalert --configfile C --statusfile S ARGS...`.
    pub fn run(&self, args: &[&str]) -> Run {
        run_binary(&self.args(args))
    }

    /// Like [`Env::run`], with these environment variables set for the binary.
    pub fn run_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        run_binary_with_env(&self.args(args), vars)
    }

    /// `--configfile C --statusfile S` followed by `args`.
    pub fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec![
            "--configfile",
            path_str(&self.config),
            "--statusfile",
            path_str(&self.status),
        ];
        all.extend_from_slice(args);
        all
    }

    pub fn status_json(&self) -> Value {
        let text = std::fs::read_to_string(&self.status).expect("status file exists");
        serde_json::from_str(&text).expect("status file is JSON")
    }
}

pub fn run_binary(args: &[&str]) -> Run {
    run_binary_with_env(args, &[])
}

pub fn run_binary_with_env(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_reddalert"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SENTRY_DSN")
        .envs(vars.iter().copied())
        .output()
        .expect("run reddalert");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The fake EDDA serving the `basic` scenario.
pub fn basic_edda() -> reddalert_testkit::edda::FakeEdda {
    let store = reddalert_testkit::edda::Store::from_dir(
        &reddalert_testkit::edda::fixtures_dir().join("basic"),
    )
    .expect("load basic fixtures");
    reddalert_testkit::edda::FakeEdda::start(store)
}

/// The window arguments for [since, until].
pub fn window(since: u64, until: u64) -> Vec<String> {
    vec![
        "--since".into(),
        since.to_string(),
        "--until".into(),
        until.to_string(),
    ]
}

/// Requests the fake EDDA saw whose path (after `/edda/api/v2/`) starts with `prefix`.
pub fn requests_for(edda: &reddalert_testkit::edda::FakeEdda, prefix: &str) -> Vec<String> {
    edda.requests()
        .into_iter()
        .filter_map(|r| r.strip_prefix("/edda/api/v2/").map(str::to_owned))
        .filter(|r| r.starts_with(prefix))
        .collect()
}

/// The window in which secgroups and elbs raise alerts over the `basic` fixtures.
pub fn alerting() -> Vec<String> {
    window(T1, T3)
}

/// A window in which they raise none.
pub fn quiet() -> Vec<String> {
    window(T4 + 1_000, T4 + 2_000)
}

/// `window` followed by `extra`.
pub fn args(window: &[String], extra: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = window.to_vec();
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The commit of this source tree, as git says it.
pub fn source_commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run git (the tests run in a git checkout)");
    assert!(out.status.success(), "git rev-parse HEAD failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Checks what `reddalert --version` printed: the package version, the commit it was built
/// from (this tree's `HEAD`, `-dirty` when built from changed files), the rule interface of
/// `wit/rules.wit` with the versions it runs (the released ones frozen in `wit/deps/`, oldest to
/// newest in each series), and the target (when one is expected).
pub fn assert_version(text: &str, target: Option<&str>) {
    let wit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/rules.wit"))
            .expect("read wit/rules.wit");
    let package = wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .expect("a package line")
        .trim_end_matches(';')
        .to_owned();
    let mut released: Vec<(u64, u64, u64)> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/deps"))
            .expect("read wit/deps")
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let mut v = name.strip_prefix("reddalert-rules-")?.split('.');
                let mut next = || v.next()?.parse::<u64>().ok();
                Some((next()?, next()?, next()?))
            })
            .collect();
    released.sort();
    let mut series: Vec<String> = Vec::new();
    for chunk in released.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let show = |v: &(u64, u64, u64)| format!("{}.{}.{}", v.0, v.1, v.2);
        let (first, last) = (&chunk[0], &chunk[chunk.len() - 1]);
        series.push(if first == last {
            show(first)
        } else {
            format!("{} to {}", show(first), show(last))
        });
    }
    let runs = series.join(", ");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        format!("reddalert {}", env!("CARGO_PKG_VERSION")),
        "{text}"
    );
    let commit = lines[1].strip_prefix("commit     ").expect(text);
    let head = source_commit();
    assert!(
        commit == head || commit == format!("{head}-dirty"),
        "the commit is this tree's {head}: {text}"
    );
    assert_eq!(
        lines[2],
        format!("interface  {package} (runs rules built for {runs})"),
        "{text}"
    );
    let built_for = lines[3].strip_prefix("target     ").expect(text);
    assert!(built_for.split('-').count() >= 3, "a target triple: {text}");
    if let Some(target) = target {
        assert_eq!(built_for, target, "{text}");
    }
}

/// The compilation cache the tests share, so each module compiles once per build of the suite
/// rather than once per test: compiling the six stock rules takes the debug host about 40 s of
/// CPU, loading them from the cache about one. Entries are keyed by the module's sha256 and
/// the engine's compatibility hash, and written atomically, so concurrent tests and earlier
/// builds of the suite cannot hand a test another module's code.
pub fn shared_module_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-module-cache")
}

/// The `cache_dir` line of an [`Env`]'s config: the [`shared_module_cache`].
pub fn shared_cache_line() -> String {
    format!("cache_dir = {:?}", path_str(&shared_module_cache()))
}
