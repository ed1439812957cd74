//! Finding the installed rules: every `*.wasm` in the rules directory is compiled (or loaded
//! from the cache), checked and asked for its `info`. Two modules with one name are an error,
//! never a silent pick; a module that cannot be loaded is reported by file and fails alone.
//! A rule whose module does not have the sha256 the config pins for it is refused: it stays
//! listed (so the operator sees both hashes) but the engine will not evaluate it. Before any
//! of that, every module is checked offline against `reddalert.lock` and the configured keys
//! ([`crate::registry::Trust`]): one that fails is never compiled, and fails alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};

use crate::config::Config;
use crate::contract::{HostServices, Limits, LogLevel, RuleInfo};
use crate::engine::{Engine, EngineOptions, Module};
use crate::registry::{Admission, Provenance, Trust};

pub(crate) mod archives;
mod checks;
pub(crate) mod evaluation;

pub(crate) use checks::check_info;

/// One loaded rule module.
pub struct InstalledRule {
    pub path: PathBuf,
    pub module: Module,
    pub info: RuleInfo,
    /// Where it was pulled from and who signed it, for a module with a lock entry.
    pub provenance: Option<Provenance>,
}

/// A module file that could not be loaded.
#[derive(Debug)]
pub struct BrokenModule {
    pub path: PathBuf,
    pub sha256: String,
    pub error: String,
}

/// A module the trust checks refused: it was not compiled and does not run.
#[derive(Debug)]
pub struct RefusedModule {
    pub path: PathBuf,
    pub sha256: String,
    /// The rule's name, when its lock entry gives it.
    pub name: Option<String>,
    pub reason: String,
}

impl RefusedModule {
    /// The rule's name, else the module's path.
    pub fn what(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// Everything found in the rules directory.
pub struct Installed {
    pub rules: Vec<InstalledRule>,
    pub broken: Vec<BrokenModule>,
    pub refused: Vec<RefusedModule>,
    /// Rules of the lock whose module is not in the rules directory.
    pub locked_missing: Vec<String>,
}

impl Installed {
    /// Loads every `*.wasm` in the config's rules directory, in file-name order, after the
    /// trust checks, and checks the config's pins. Keys or a lock that cannot be read are an
    /// error: the config names them.
    pub fn load(engine: &Engine, config: &Config) -> Result<Installed> {
        let trust = Trust::load(&config.registry, &config.pins)?;
        let mut installed = Installed::load_dir(
            engine,
            &config.rules_dir,
            config.limits,
            &trust,
            &config.registry.lock_file,
        )?;
        installed.settle_clashes(&config.pins);
        for rule in &mut installed.rules {
            apply_pin(rule, &config.pins);
        }
        let names = installed.names();
        for name in config.pins.keys().filter(|n| !names.contains(n)) {
            tracing::warn!(rule = %name, "the config pins a rule that is not installed");
        }
        for name in &installed.locked_missing {
            tracing::warn!(rule = %name, dir = %config.rules_dir.display(), "reddalert.lock lists a rule whose module is not in the rules directory");
        }
        Ok(installed)
    }

    /// Reads every `*.wasm` in `dir` (in file-name order, with the lock, under its shared
    /// guard, so no pull commits in between), refuses those the trust checks refuse, and
    /// compiles the others.
    fn load_dir(
        engine: &Engine,
        dir: &Path,
        info_limits: Limits,
        trust: &Trust,
        lock_file: &Path,
    ) -> Result<Installed> {
        let guard = crate::registry::Guard::shared(lock_file)?;
        let entries = std::fs::read_dir(dir).with_context(|| {
            format!(
                "failed to read the rules directory {} (set rules_dir or --rules-dir)",
                dir.display()
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            // Links are kept even when they lead nowhere: such a module fails to read, loudly.
            .filter(|p| {
                p.extension().is_some_and(|e| e == "wasm")
                    && std::fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir())
                    && !p.is_dir()
            })
            .collect();
        paths.sort();
        let mut broken = Vec::new();
        let mut refused = Vec::new();
        let mut admitted = Vec::new();
        for path in paths {
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    broken.push(BrokenModule {
                        sha256: "(unreadable)".into(),
                        error: format!("{}: failed to read the module: {err}", path.display()),
                        path,
                    });
                    continue;
                }
            };
            match trust.admit(&path, &bytes) {
                Ok(admission) => admitted.push((path, bytes, admission)),
                Err(refusal) => refused.push(RefusedModule {
                    sha256: crate::registry::sha256_hex(&bytes),
                    path,
                    name: refusal.name,
                    reason: refusal.reason,
                }),
            }
        }
        let locked_missing = trust
            .locked()
            .keys()
            .filter(|name| !dir.join(format!("{name}.wasm")).exists())
            .cloned()
            .collect();
        drop(guard);
        // Compiling is the slow part of a cold start (seconds per module): a few at a time.
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let loaded = crate::pool::map(
            &admitted,
            workers,
            |(path, _, _)| format!("loading the module {}", path.display()),
            |(path, bytes, admission)| load_admitted(engine, path, bytes, admission, &info_limits),
        );
        let mut rules = Vec::new();
        for ((path, bytes, _), result) in admitted.iter().zip(loaded) {
            match result {
                Ok(Ok(rule)) => {
                    tracing::debug!(rule = %rule.info.name, path = %rule.path.display(), "loaded rule");
                    rules.push(rule);
                }
                Ok(Err(module)) => broken.push(module),
                Err(panicked) => broken.push(BrokenModule {
                    sha256: sha256_hex(bytes),
                    error: format!("{}: {panicked}", path.display()),
                    path: path.clone(),
                }),
            }
        }
        broken.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Installed {
            rules,
            broken,
            refused,
            locked_missing,
        })
    }

    /// Modules that declare one name: where a pin names that rule, the module with the pinned
    /// hash keeps it; otherwise every one of them fails (listed with paths and hashes), and
    /// every other rule runs.
    fn settle_clashes(&mut self, pins: &BTreeMap<String, String>) {
        let clashing = clashes(&self.rules);
        if clashing.is_empty() {
            return;
        }
        let (clashed, rules): (Vec<InstalledRule>, Vec<InstalledRule>) =
            std::mem::take(&mut self.rules)
                .into_iter()
                .partition(|r| clashing.contains_key(&r.info.name));
        self.rules = rules;
        for rule in clashed {
            let name = &rule.info.name;
            let pinned_taken = self.rules.iter().any(|r| &r.info.name == name);
            if pins.get(name) == Some(&rule.module.sha256) && !pinned_taken {
                tracing::warn!(rule = %name, module = %rule.path.display(), "several modules declare this rule; the pinned one runs");
                self.rules.push(rule);
                continue;
            }
            let others: Vec<String> = clashing[name]
                .iter()
                .filter(|(p, _)| *p != rule.path)
                .map(|(p, h)| format!("{} (sha256 {h})", p.display()))
                .collect();
            self.broken.push(BrokenModule {
                error: format!(
                    "{} (sha256 {}) declares the rule name {name:?}, as does {}; {}",
                    rule.path.display(),
                    rule.module.sha256,
                    others.join(" and "),
                    if pins.contains_key(name) {
                        "its hash is not the pinned one, so it does not run"
                    } else {
                        "none of them runs until one is removed or renamed, or `pin.<rule>` picks one"
                    }
                ),
                sha256: rule.module.sha256.clone(),
                path: rule.path,
            });
        }
        self.rules.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// The rules named on the command line, or all of them.
    pub fn select(&self, names: &[String]) -> Result<Vec<&InstalledRule>> {
        if names.is_empty() {
            return Ok(self.rules.iter().collect());
        }
        let mut selected = Vec::new();
        for name in names {
            match self.rules.iter().find(|r| &r.info.name == name) {
                Some(rule)
                    if !selected
                        .iter()
                        .any(|r: &&InstalledRule| r.info.name == *name) =>
                {
                    selected.push(rule)
                }
                Some(_) => {}
                None if self.refused.iter().any(|r| r.name.as_ref() == Some(name)) => {}
                None => bail!(
                    "unknown rule {name:?}; installed rules: {}",
                    self.names().join(", ")
                ),
            }
        }
        Ok(selected)
    }

    pub fn names(&self) -> Vec<String> {
        self.rules.iter().map(|r| r.info.name.clone()).collect()
    }

    /// The refused modules a run over `names` (all when empty) reports: those named, or all.
    pub fn refused_in(&self, names: &[String]) -> Vec<&RefusedModule> {
        self.refused
            .iter()
            .filter(|r| names.is_empty() || r.name.as_ref().is_some_and(|n| names.contains(n)))
            .collect()
    }
}

/// Names declared by more than one module, with each module's path and sha256. Anyone who
/// can drop a file in the rules directory could otherwise silence a stock rule (or every rule,
/// were a clash fatal): the clashing modules fail, every other rule runs.
fn clashes(rules: &[InstalledRule]) -> BTreeMap<String, Vec<(PathBuf, String)>> {
    let mut by_name: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
    for rule in rules {
        by_name
            .entry(rule.info.name.clone())
            .or_default()
            .push((rule.path.clone(), rule.module.sha256.clone()));
    }
    by_name.retain(|_, modules| modules.len() > 1);
    by_name
}

/// Compiles and checks a module the trust checks admitted; one with a lock entry must declare
/// the name it was pulled as.
fn load_admitted(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    admission: &Admission,
    info_limits: &Limits,
) -> Result<InstalledRule, BrokenModule> {
    let broken = |error: String| BrokenModule {
        sha256: sha256_hex(bytes),
        path: path.to_owned(),
        error,
    };
    let (module, info) = load_module(engine, bytes, path, info_limits).map_err(broken)?;
    let provenance = match admission {
        Admission::Locked { name, provenance } if *name != info.name => {
            return Err(broken(format!(
                "{}: declares the rule name {:?}, but its lock entry is {name:?}",
                path.display(),
                info.name
            )));
        }
        Admission::Locked { provenance, .. } => Some(provenance.clone()),
        Admission::Pinned | Admission::Unchecked => None,
    };
    Ok(InstalledRule {
        path: path.to_owned(),
        module,
        info,
        provenance,
    })
}

/// Compiles and checks one module and asks it for its `info` (in the sandbox, under
/// `info_limits`); the error names the file.
pub fn load_module(
    engine: &Engine,
    bytes: &[u8],
    path: &Path,
    info_limits: &Limits,
) -> Result<(Module, RuleInfo), String> {
    let module = engine.load(bytes, path).map_err(|e| e.to_string())?;
    let host: Arc<dyn HostServices> = Arc::new(InfoHost {
        path: path.to_owned(),
    });
    match engine.info(&module, info_limits, host) {
        Ok(info) => match check_info(&info) {
            Ok(()) => Ok((module, info)),
            Err(why) => Err(format!("{}: info() {why}", path.display())),
        },
        Err(err) => Err(format!("{}: info() {err}", path.display())),
    }
}

/// How a rule's module stands against the config's pins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The config pins no hash for this rule.
    Unpinned,
    /// The module has the pinned hash.
    Matches,
    /// The module's hash differs from the pinned one (given here): it is refused.
    Mismatch(String),
}

impl Pin {
    /// The pin of a rule named `name` whose module has `sha256`.
    pub fn check(pins: &BTreeMap<String, String>, name: &str, sha256: &str) -> Pin {
        match pins.get(name) {
            None => Pin::Unpinned,
            Some(pinned) if pinned == sha256 => Pin::Matches,
            Some(pinned) => Pin::Mismatch(pinned.clone()),
        }
    }

    /// `unpinned`, `matches` or `mismatch`.
    pub fn label(&self) -> &'static str {
        match self {
            Pin::Unpinned => "unpinned",
            Pin::Matches => "matches",
            Pin::Mismatch(_) => "mismatch",
        }
    }
}

/// Refuses the rule's module when its hash is not the pinned one.
pub fn apply_pin(rule: &mut InstalledRule, pins: &BTreeMap<String, String>) {
    if let Pin::Mismatch(pinned) = Pin::check(pins, &rule.info.name, &rule.module.sha256) {
        rule.module.refuse(pin_mismatch(
            &rule.info.name,
            &rule.path,
            &pinned,
            &rule.module.sha256,
        ));
    }
}

/// The error of a pinned rule whose module has another hash.
pub fn pin_mismatch(name: &str, path: &Path, pinned: &str, actual: &str) -> String {
    format!(
        "the config pins {name} to sha256 {pinned}, but its module {} has sha256 {actual}; \
         install the pinned module or update `pin.{name}`",
        path.display()
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Host services during `info()`: logging only.
struct InfoHost {
    path: PathBuf,
}

impl HostServices for InfoHost {
    fn log(&self, level: LogLevel, message: &str) {
        crate::services::log_for(&self.path.display().to_string(), level, message);
    }

    fn edda(
        &self,
        _query: &crate::contract::Query,
    ) -> Result<Arc<str>, crate::contract::EddaCallError> {
        Err(crate::contract::EddaCallError::Denied)
    }
}

/// The engine of a run, with the config's compilation cache.
pub(crate) fn engine_for(config: &Config) -> Result<Engine> {
    Engine::new(&EngineOptions {
        cache_dir: config.cache_dir.clone(),
    })
}
