//! A hostile test rule that traps (a Rust panic is a wasm `unreachable`).

use reddalert_rule_sdk::prelude::*;

struct Hostile;

impl Rule for Hostile {
    fn info() -> Info {
        Info {
            name: "trap".into(),
            version: "0.0.1".into(),
            description: "traps".into(),
            queries: vec![Query::current(INSTANCES)],
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let items: Vec<u64> = Vec::new();
        let i = input.window.until_ms as usize;
        Ok(Output {
            alerts: vec![Alert::new("never", items[i])],
            state: None,
        })
    }
}

reddalert_rule_sdk::register!(Hostile);
