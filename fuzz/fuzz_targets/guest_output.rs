//! Fuzz target `guest_output`: see `reddalert::fuzzing::guest_output`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::guest_output(data));
