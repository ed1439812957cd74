//! Integration tests of the reddalert binary against a fake EDDA on loopback, with rules
//! built from source to wasm. One test binary, so that wasmtime is linked once.

mod support;

mod cli;
mod edda_errors;
mod limits;
mod rules_e2e;
mod runs;
mod status_file;
