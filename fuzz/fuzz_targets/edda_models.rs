//! Fuzz target `edda_models`: EDDA bodies read into the SDK's typed models.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reddalert_rule_sdk::models::fuzz_models(data));
