//! Fuzz target `aws_answer`: see `reddalert::fuzzing::aws_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::aws_answer(data));
