//! A hostile test rule that returns 100 MB of alerts: the output limit must refuse it.

use reddalert_rule_sdk::prelude::*;

struct Hostile;

impl Rule for Hostile {
    fn info() -> Info {
        Info {
            name: "huge".into(),
            version: "0.0.1".into(),
            description: "returns 100 MB".into(),
            queries: vec![Query::current(INSTANCES)],
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let blob = "x".repeat(1 << 20);
        let mut out = Output::new();
        for i in 0..100 {
            out.alert(format!("blob-{i}-{}", input.window.since_ms), &blob);
        }
        Ok(out)
    }
}

reddalert_rule_sdk::register!(Hostile);
