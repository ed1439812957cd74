//! Fuzz target `aws_answers`: see `reddalert::fuzzing::aws_answers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert::fuzzing::aws_answers(data));
