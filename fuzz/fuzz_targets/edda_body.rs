//! Fuzz target `edda_body`: see `reddalert::fuzzing::edda_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::edda_body(data));
