//! reddalert: an AWS security change detector that runs sandboxed WebAssembly rules over
//! Netflix EDDA snapshots of an account and routes their alerts to people.

pub mod contract;
pub mod engine;
pub mod config;
pub mod edda;
pub mod timearg;
pub mod status;
pub mod rules;
pub mod services;
pub mod outputs;
pub mod cli;
pub mod logging;
pub mod app;
pub mod run;
