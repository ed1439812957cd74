//! Integration tests of the reddalert binary against a fake EDDA on loopback, with rules
//! built from source to wasm. One test binary, so that wasmtime is linked once.

mod registry_support;
mod support;

mod accounts;
mod all_outputs;
mod authoring;
mod bench;
mod capabilities_chef;
mod capabilities_net;
mod capabilities_s3;
mod cli;
mod crawl;
mod crawl_crash;
mod deploy;
mod disk;
mod dist;
mod docs;
mod edda_batch;
mod edda_errors;
mod elasticsearch;
mod hostile;
mod limits;
mod mail;
mod memory;
mod metrics;
mod monitoring;
mod ocsf;
mod pinning;
mod python_rule;
mod registry;
mod registry_trust;
mod rules_chef;
mod rules_e2e;
mod rules_s3acl;
mod rules_web;
mod runs;
mod sentry;
mod snapshot_replay;
mod status_file;
mod store;
mod webhook_jsonl;
mod windows;
mod wit_contract;
mod write_ahead;
