//! Finding the installed rules: every `*.wasm` in the rules directory is compiled (or loaded
//! from the cache), checked and asked for its `info`. Two modules with one name are an error,
//! never a silent pick; a module that cannot be loaded is reported by file and fails alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};

use crate::contract::{HostServices, Limits, LogLevel, RuleInfo};
use crate::engine::{Engine, Module};

/// One loaded rule module.
pub struct InstalledRule {
    pub path: PathBuf,
    pub module: Module,
    pub info: RuleInfo,
}

/// A module file that could not be loaded.
#[derive(Debug)]
pub struct BrokenModule {
    pub path: PathBuf,
    pub sha256: String,
    pub error: String,
}

/// Everything found in the rules directory.
pub struct Installed {
    pub rules: Vec<InstalledRule>,
    pub broken: Vec<BrokenModule>,
}

impl Installed {
    /// Loads every `*.wasm` in `dir`, in file-name order.
    pub fn load(engine: &Engine, dir: &Path, info_limits: Limits) -> Result<Installed> {
        let entries = std::fs::read_dir(dir).with_context(|| {
            format!(
                "failed to read the rules directory {} (set rules_dir or --rules-dir)",
                dir.display()
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
            .collect();
        paths.sort();
        let mut rules = Vec::new();
        let mut broken = Vec::new();
        for path in paths {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            let loaded = engine
                .load(&bytes, &path)
                .map_err(|e| e.to_string())
                .and_then(|module| {
                    let host: Arc<dyn HostServices> = Arc::new(InfoHost { path: path.clone() });
                    match engine.info(&module, &info_limits, host) {
                        Ok(info) => Ok((module, info)),
                        Err(err) => Err(format!("{}: info() {err}", path.display())),
                    }
                });
            match loaded {
                Ok((module, info)) => {
                    tracing::debug!(rule = %info.name, path = %path.display(), "loaded rule");
                    rules.push(InstalledRule { path, module, info });
                }
                Err(error) => broken.push(BrokenModule {
                    sha256: sha256_hex(&bytes),
                    path,
                    error,
                }),
            }
        }
        check_unique(&rules)?;
        Ok(Installed { rules, broken })
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
}

fn check_unique(rules: &[InstalledRule]) -> Result<()> {
    let mut by_name: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for rule in rules {
        by_name.entry(&rule.info.name).or_default().push(&rule.path);
    }
    for (name, paths) in by_name {
        if paths.len() > 1 {
            let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            bail!(
                "two modules declare the rule name {name:?}: {}; remove or rename one",
                list.join(" and ")
            );
        }
    }
    Ok(())
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
    ) -> Result<String, crate::contract::EddaCallError> {
        Err(crate::contract::EddaCallError::Denied)
    }
}
