//! A hostile test rule that never returns: the fuel or deadline limit must stop it.

use reddalert_rule_sdk::prelude::*;

struct Hostile;

impl Rule for Hostile {
    fn info() -> Info {
        Info {
            name: "spin".into(),
            version: "0.0.1".into(),
            description: "spins forever".into(),
            queries: vec![Query::current(INSTANCES)],
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let mut n: u64 = input.window.until_ms;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

reddalert_rule_sdk::register!(Hostile);
