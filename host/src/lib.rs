//! reddalert: an AWS security change detector that runs sandboxed WebAssembly rules over
//! Netflix EDDA snapshots of an account and routes their alerts to people.
//!
//! The modules stand on floors, and each imports only from floors below its own (a test,
//! `floors`, reads every `crate::` path of the sources and holds them to it). On the ground:
//! plain data and leaves that know nothing of the rest (`contract`, the host's view of the
//! WIT; `outcome`, `time`, `httpclient`, `logging`, `report`, `pool`, `oslock`, `out`), then
//! `alert`, then `config`, data only: every setting validated, capability, output, crawl and
//! registry settings included, with no runtime module under it. Above config the parts that
//! do one thing each: `engine` (the only module that names wasmtime), `aws` (AWS access:
//! credentials, signing, endpoints, calls), `edda` (EDDA over HTTP, snapshot files or a store,
//! read through the `edda-engine` crate), `store` (the store's writer, for the crawl),
//! `outputs`, `metrics`, `status`, `cli` and `registry` (OCI pull and push, cosign
//! signatures, the lock, and the offline checks of a module before it is compiled); then
//! `capabilities` (on `aws` for S3) and `window`; then `services` (what a rule may call while
//! it runs) and `crawl` (`reddalert crawl`: reading an AWS account into EDDA's documents and
//! recording them in the store); then `rules` (finding, verifying and loading the modules);
//! then the commands (`run`, `listing`, `authoring`, `pull`, `serve` for `serve-edda`); then
//! `fuzzing`, the fuzz targets' entry points; and on top `app`, the dispatch that nothing
//! imports but `main`.

pub(crate) mod alert;
pub mod app;
pub(crate) mod authoring;
pub(crate) mod aws;
pub(crate) mod capabilities;
pub mod cli;
pub(crate) mod config;
pub(crate) mod contract;
pub(crate) mod crawl;
pub(crate) mod edda;
pub(crate) mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod httpclient;
pub(crate) mod listing;
pub mod logging;
pub(crate) mod metrics;
pub(crate) mod oslock;
pub mod out;
pub(crate) mod outcome;
pub(crate) mod outputs;
pub(crate) mod pool;
pub(crate) mod pull;
pub(crate) mod registry;
pub mod report;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod services;
pub(crate) mod status;
pub(crate) mod store;
pub(crate) mod time;
pub(crate) mod window;

#[cfg(test)]
mod docs;
#[cfg(test)]
mod floors;
