//! Fuzz target `status`: see `reddalert::fuzzing::status`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::status(data));
