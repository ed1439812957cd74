//! Fuzz target `config`: see `reddalert::fuzzing::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::config(data));
