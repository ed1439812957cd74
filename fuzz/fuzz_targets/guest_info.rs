//! Fuzz target `guest_info`: see `reddalert::fuzzing::guest_info`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::guest_info(data));
