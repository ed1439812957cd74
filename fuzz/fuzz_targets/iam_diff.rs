//! Fuzz target `iam_diff`: the iam rule's reader of EDDA's `_diff` text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rule_iam::diff::fuzz(data));
