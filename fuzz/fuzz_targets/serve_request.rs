//! Fuzz target `serve_request`: see `reddalert::fuzzing::serve_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::serve_request(data));
