//! Fuzz target `registry`: see `reddalert::fuzzing::registry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::registry(data));
