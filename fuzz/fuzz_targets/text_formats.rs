//! Fuzz target `text_formats`: see `reddalert::fuzzing::text_formats`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::text_formats(data));
