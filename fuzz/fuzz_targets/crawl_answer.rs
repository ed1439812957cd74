//! Fuzz target `crawl_answer`: see `reddalert::fuzzing::crawl_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::crawl_answer(data));
