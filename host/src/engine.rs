//! The only module that knows wasmtime. It compiles rule components once (through an on-disk
//! compilation cache keyed by each module's sha256 ([`cache`]), so unchanged modules are not
//! recompiled by the next cron run, and a pin covers the compiled code that runs),
//! checks that a module speaks our contract, keeps a pre-instantiated handle per module, and
//! runs every guest call in a fresh, deny-all `Store` bounded by fuel, a memory cap, a
//! wall-clock deadline and a cap on what the guest returns. Failures come back classified as
//! [`RuleError`] so that one broken rule fails alone.

mod bindings;
mod bindings_v2;
mod cache;
mod guest;
mod ticker;
mod versions;

pub(crate) use bindings::{check_info, check_output};
pub use versions::{INTERFACE_VERSION, runs_versions};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ComponentExportIndex, Instance, Linker};
use wasmtime::{Config, Store, Trap};

use crate::contract::{
    HostServices, Limits, MAX_INFO_COPY_BYTES, RuleInfo, RuleInput, RuleOutput, Usage, bounded,
};
use guest::GuestState;
use versions::Contract;

const GUEST_INTERFACE: &str = "reddalert:rules/guest@";

/// How a rule failed. Callers branch on it: every variant fails that rule alone.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(
        "ran out of fuel (limit: {limit} units); raise limits.fuel if the rule is legitimately busy"
    )]
    OutOfFuel { limit: u64 },
    #[error("exceeded its memory limit of {limit} bytes")]
    MemoryLimit { limit: usize },
    #[error("exceeded its deadline of {limit:?}")]
    Deadline { limit: Duration },
    #[error("trapped: {0}")]
    Trap(String),
    #[error("returned an error: {0}")]
    Failed(String),
    #[error("returned {size} bytes of alerts and state, over the limit of {limit} bytes")]
    OutputTooLarge { size: usize, limit: usize },
    #[error(
        "returned more than {copied} bytes in one call (the host stopped copying there), over the limit of {limit} bytes"
    )]
    TooMuchData { copied: usize, limit: usize },
    #[error("returned invalid output: {0}")]
    BadOutput(String),
    #[error("was refused: {0}")]
    Refused(String),
}

/// Engine-wide settings.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Where compiled modules are cached ([`cache`]); `None` disables the cache.
    pub cache_dir: Option<std::path::PathBuf>,
}

/// A wasmtime engine with our contract linked in.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<GuestState>,
    cache: Option<cache::ModuleCache>,
    _ticker: ticker::EpochTicker,
}

/// A compiled, checked and pre-linked rule module.
pub struct Module {
    pre: Pre,
    /// The module's `evaluate` export, called with the shared bodies lowered as they are.
    evaluate: ComponentExportIndex,
    /// The contract version the module was built for (`0.1.0`).
    pub interface_version: String,
    /// sha256 of the module's bytes, hex.
    pub sha256: String,
    refusal: Option<String>,
}

/// The pre-linked module, with the bindings of the contract it speaks.
enum Pre {
    V01(bindings::RulePre<GuestState>),
    V02(bindings_v2::RulePre<GuestState>),
}

impl Pre {
    fn instance_pre(&self) -> &wasmtime::component::InstancePre<GuestState> {
        match self {
            Pre::V01(pre) => pre.instance_pre(),
            Pre::V02(pre) => pre.instance_pre(),
        }
    }
}

impl Module {
    /// Marks the module as not to be run (a pinned hash that does not match): every later
    /// `evaluate` fails with [`RuleError::Refused`] without running any of its code.
    pub fn refuse(&mut self, reason: String) {
        self.refusal = Some(reason);
    }
}

impl Engine {
    pub fn new(options: &EngineOptions) -> Result<Engine> {
        let mut config = Config::new();
        config.consume_fuel(true).epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config)
            .map_err(anyhow_from)
            .context("failed to create the wasm engine")?;
        let cache = options
            .cache_dir
            .as_deref()
            .map(|dir| cache::ModuleCache::open(dir, &engine))
            .transpose()?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(anyhow_from)
            .context("failed to link WASI")?;
        guest::add_to_linker(&mut linker)
            .map_err(anyhow_from)
            .context("failed to link the rule contract")?;
        let ticker = ticker::EpochTicker::start(engine.clone());
        Ok(Engine {
            engine,
            linker,
            cache,
            _ticker: ticker,
        })
    }

    /// (cache hits, cache misses) of module compilation so far.
    pub fn cache_stats(&self) -> (usize, usize) {
        self.cache
            .as_ref()
            .map_or((0, 0), cache::ModuleCache::stats)
    }

    /// Compiles (or loads from the cache) and checks one module.
    pub fn load(&self, bytes: &[u8], origin: &Path) -> Result<Module, LoadError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let component = match &self.cache {
            Some(cache) => cache.load(&self.engine, bytes, &sha256),
            None => Component::new(&self.engine, bytes),
        }
        .map_err(|err| LoadError::Invalid {
            path: origin.to_owned(),
            reason: format!("{err:#}"),
        })?;
        let (interface_version, contract) =
            self.check_exports(&component)
                .map_err(|reason| LoadError::Incompatible {
                    path: origin.to_owned(),
                    reason,
                })?;
        let evaluate = component
            .get_export_index(None, format!("{GUEST_INTERFACE}{interface_version}"))
            .and_then(|guest| component.get_export_index(Some(&guest), "evaluate"))
            .ok_or_else(|| LoadError::Incompatible {
                path: origin.to_owned(),
                reason: format!("its {GUEST_INTERFACE}{interface_version} has no `evaluate`"),
            })?;
        // wasmtime matches import and export names by semver (`guest@0.1.1` finds a module's
        // `guest@0.1.0`), so a module built for an older patch links like a current one.
        let incompatible = |err: wasmtime::Error| LoadError::Incompatible {
            path: origin.to_owned(),
            reason: format!(
                "its imports cannot be satisfied by this host (interface {}): {err:#}",
                contract.version()
            ),
        };
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(incompatible)?;
        let pre = match contract {
            Contract::V01 => bindings::RulePre::new(instance_pre).map(Pre::V01),
            Contract::V02 => bindings_v2::RulePre::new(instance_pre).map(Pre::V02),
        }
        .map_err(incompatible)?;
        Ok(Module {
            pre,
            evaluate,
            interface_version,
            sha256,
            refusal: None,
        })
    }

    /// The names `module` imports and exports, as a registry artifact's config lists them.
    pub fn world(&self, module: &Module) -> (Vec<String>, Vec<String>) {
        let ty = module.pre.instance_pre().component().component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        (imports, exports)
    }

    /// Finds the `reddalert:rules/guest@X` export and checks X against the versions this host
    /// runs before anything is instantiated, so that a module built for another contract gets
    /// a clear message.
    fn check_exports(&self, component: &Component) -> Result<(String, Contract), String> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let Some(version) = exports.iter().find_map(|e| e.strip_prefix(GUEST_INTERFACE)) else {
            return Err(format!(
                "it does not export {GUEST_INTERFACE}<version> (a reddalert rule must, of {}); it exports [{}]",
                versions::supported(),
                exports.join(", ")
            ));
        };
        let Some(contract) = Contract::of(version) else {
            return Err(format!(
                "built for interface {version}, this host supports {}",
                versions::supported()
            ));
        };
        Ok((version.to_owned(), contract))
    }

    /// Calls the module's `info`.
    pub fn info(
        &self,
        module: &Module,
        limits: &Limits,
        host: Arc<dyn HostServices>,
    ) -> Result<RuleInfo, RuleError> {
        let copy = CopyBound {
            bytes: MAX_INFO_COPY_BYTES,
            limit: MAX_INFO_COPY_BYTES,
        };
        let (info, _) = self.call(module, limits, host, 0, copy, |instance, store| {
            Ok(match &module.pre {
                Pre::V01(_) => {
                    let rule = bindings::Rule::new(&mut *store, instance)?;
                    bindings::info_from_wit(rule.reddalert_rules_guest().call_info(store)?)
                }
                Pre::V02(_) => {
                    let rule = bindings_v2::Rule::new(&mut *store, instance)?;
                    bindings_v2::info_from_wit(rule.reddalert_rules0_2_0_guest().call_info(store)?)
                }
            })
        })?;
        info.map_err(RuleError::BadOutput)
    }

    /// Calls the module's `evaluate` once, in a fresh store; the output carries what the call
    /// consumed.
    pub fn evaluate(
        &self,
        module: &Module,
        limits: &Limits,
        host: Arc<dyn HostServices>,
        input: &RuleInput,
    ) -> Result<RuleOutput, RuleError> {
        if let Some(reason) = &module.refusal {
            return Err(RuleError::Refused(reason.clone()));
        }
        let wit_input = match &module.pre {
            Pre::V01(_) => {
                WitInput::V01(bindings::input_to_wit(input).map_err(RuleError::Refused)?)
            }
            Pre::V02(_) => WitInput::V02(bindings_v2::input_to_wit(input)),
        };
        // Alerts and state beyond the output limit are refused after copying; the copy itself
        // is bounded with room for the host's own per-alert overhead.
        let copy = CopyBound {
            bytes: limits
                .output_bytes
                .saturating_mul(2)
                .saturating_add(1 << 20),
            limit: limits.output_bytes,
        };
        let (result, usage) = self.call(
            module,
            limits,
            host,
            input.window.until_ms,
            copy,
            |instance, store| match wit_input {
                WitInput::V01(input) => call_evaluate(instance, store, &module.evaluate, input),
                WitInput::V02(input) => call_evaluate(instance, store, &module.evaluate, input),
            },
        )?;
        // What the rule says is logged and stored: cut, and escaped to stay one line.
        let output = result.map_err(|why| {
            let why = bounded(why, crate::contract::MAX_ERROR_BYTES);
            RuleError::Failed(crate::contract::escape_text(&why).into_owned())
        })?;
        let mut output = bindings::output_from_wit(output, limits.output_bytes)?;
        output.usage = usage;
        Ok(output)
    }

    fn call<R>(
        &self,
        module: &Module,
        limits: &Limits,
        host: Arc<dyn HostServices>,
        clock_ms: u64,
        copy: CopyBound,
        f: impl FnOnce(&Instance, &mut Store<GuestState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Usage), RuleError> {
        let started = std::time::Instant::now();
        let mut store = Store::new(
            &self.engine,
            GuestState::new(host, limits.memory_bytes, clock_ms),
        );
        store.limiter(|s| &mut s.limiter);
        store
            .set_fuel(limits.fuel)
            .map_err(|e| RuleError::Trap(format!("{e:#}")))?;
        store.set_epoch_deadline(ticker::ticks_for(limits.timeout));
        store.epoch_deadline_trap();
        // What wasmtime copies out of the guest in one call (its results, or the arguments
        // of one host call), checked before it allocates.
        store.set_hostcall_fuel(copy.bytes);
        let result = module
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
        store.data().flush_guest_output();
        let usage = Usage {
            fuel: limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
            peak_memory_bytes: store.data().limiter.peak,
            elapsed: started.elapsed(),
        };
        result
            .map(|r| (r, usage))
            .map_err(|err| classify(err, &store, limits, copy))
    }
}

/// `rule-input` lowered as the module's contract has it.
enum WitInput<'a> {
    V01(bindings::InputRef<'a>),
    V02(bindings_v2::InputRef<'a>),
}

/// Calls `evaluate` with `input` lowered as it is (the run's shared bodies, not copies of them).
fn call_evaluate<I>(
    instance: &Instance,
    store: &mut Store<GuestState>,
    evaluate: &ComponentExportIndex,
    input: I,
) -> wasmtime::Result<bindings::EvaluateResult>
where
    I: wasmtime::component::ComponentType + wasmtime::component::Lower,
{
    let func =
        instance.get_typed_func::<(I,), (bindings::EvaluateResult,)>(&mut *store, evaluate)?;
    let (result,) = func.call(&mut *store, (input,))?;
    Ok(result)
}

/// Why a module could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{} is not a valid WebAssembly component: {reason}", path.display())]
    Invalid {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("{} is incompatible with this host: {reason}", path.display())]
    Incompatible {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// How much wasmtime may copy out of the guest in one call, and the limit to name when it
/// stops.
#[derive(Debug, Clone, Copy)]
struct CopyBound {
    bytes: usize,
    limit: usize,
}

fn classify(
    err: wasmtime::Error,
    store: &Store<GuestState>,
    limits: &Limits,
    copy: CopyBound,
) -> RuleError {
    // wasmtime's own words for its hostcall fuel running out (the type is private).
    if format!("{err:#}").contains("too much data is being copied between the host and the guest") {
        return RuleError::TooMuchData {
            copied: copy.bytes,
            limit: copy.limit,
        };
    }
    if store.data().limiter.hit {
        return RuleError::MemoryLimit {
            limit: limits.memory_bytes,
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RuleError::OutOfFuel { limit: limits.fuel },
        Some(Trap::Interrupt) => RuleError::Deadline {
            limit: limits.timeout,
        },
        _ => {
            // A Rust guest prints its panic message to stderr just before trapping.
            let said = store.data().guest_stderr_tail(600);
            let said = if said.is_empty() {
                String::new()
            } else {
                format!(
                    " (the rule printed: {})",
                    crate::contract::escape_text(&said)
                )
            };
            RuleError::Trap(bounded(
                format!("{err:#}{said}"),
                crate::contract::MAX_ERROR_BYTES,
            ))
        }
    }
}

fn anyhow_from(err: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{err:#}")
}
