//! reddalert: an AWS security change detector that runs sandboxed WebAssembly rules over
//! Netflix EDDA snapshots of an account and routes their alerts to people.

pub mod app;
pub mod authoring;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod contract;
pub mod edda;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod httpclient;
pub mod listing;
pub mod logging;
pub mod metrics;
pub mod outcome;
pub mod outputs;
pub mod report;
pub mod rules;
pub mod run;
pub mod services;
pub mod status;
pub mod timearg;
pub mod window;
