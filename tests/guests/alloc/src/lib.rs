//! A hostile test rule that allocates without end: the memory limit must stop it.

use reddalert_rule_sdk::prelude::*;

struct Hostile;

impl Rule for Hostile {
    fn info() -> Info {
        Info {
            name: "alloc".into(),
            version: "0.0.1".into(),
            description: "allocates without end".into(),
            queries: vec![Query::current(INSTANCES)],
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![input.window.until_ms as u8; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

reddalert_rule_sdk::register!(Hostile);
