//! reddalert: an AWS security change detector that runs sandboxed WebAssembly rules over
//! Netflix EDDA snapshots of an account and routes their alerts to people.
//!
//! The modules stand on floors, and each imports only from floors below its own (a test,
//! `floors`, reads every `crate::` path of the sources and holds them to it). On the ground:
//! plain data and leaves that know nothing of the rest (`contract`, the host's view of the
//! WIT; `outcome`, `time`, `httpclient`, `logging`, `report`), then `alert`, then
//! `config`, data only: every setting validated, capability and output settings included,
//! with no runtime module under it. Above config the parts that do one thing each: `engine`
//! (the only module that names wasmtime), `edda`, `capabilities`, `outputs`, `metrics`,
//! `status` and `cli`; then `window` and `services` (what a rule may call while it runs);
//! then `rules` (finding and loading the modules); then the commands (`run`, `listing`,
//! `authoring`, and `fuzzing` for the fuzz targets); and on top `app`, the dispatch that
//! nothing imports but `main`.

pub(crate) mod alert;
pub mod app;
pub(crate) mod authoring;
pub(crate) mod capabilities;
pub mod cli;
pub(crate) mod config;
pub(crate) mod contract;
pub(crate) mod edda;
pub(crate) mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod httpclient;
pub(crate) mod listing;
pub mod logging;
pub(crate) mod metrics;
pub(crate) mod outcome;
pub(crate) mod outputs;
pub(crate) mod pool;
pub mod report;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod services;
pub(crate) mod status;
pub(crate) mod time;
pub(crate) mod window;

#[cfg(test)]
mod docs;
#[cfg(test)]
mod floors;
