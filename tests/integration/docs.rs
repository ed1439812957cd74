//! The docs against what the built rules declare: for each stock rule, `docs/rules.md` lists
//! exactly the keys of the default config its module declares, each with that default.
//! (`host/src/docs.rs` holds the rest of the docs to the host's own types.)

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use reddalert_testkit::guests;

use crate::support::*;

/// The `### <rule>` sections of `docs/rules.md`: each key of its table and its default, as
/// JSON (`none` is `null`).
fn documented() -> BTreeMap<String, BTreeMap<String, Value>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut rules = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            current = Some(name.trim().to_owned());
            rules.insert(name.trim().to_owned(), BTreeMap::new());
        } else if line.starts_with('#') {
            current = None;
        } else if let (Some(rule), Some(row)) = (&current, line.strip_prefix("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let key = cells[0].trim_end_matches('`').to_owned();
            let default = cells[1].trim().trim_matches('`');
            let value = if default == "none" {
                Value::Null
            } else {
                serde_json::from_str(default)
                    .unwrap_or_else(|e| panic!("{rule}.{key}: default {default:?}: {e}"))
            };
            rules.get_mut(rule).unwrap().insert(key, value);
        }
    }
    rules
}

#[test]
fn rules_md_lists_each_stock_rules_settings_with_their_defaults() {
    let modules: Vec<&str> = guests::STOCK
        .iter()
        .chain(guests::BEYOND_EDDA)
        .copied()
        .collect();
    assert_eq!(modules.len(), 12);
    let env = Env::new("http://127.0.0.1:9/edda", &modules, "");
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let declared: BTreeMap<String, BTreeMap<String, Value>> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let config = r["default_config"].as_object().unwrap();
            let keys = config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            (r["name"].as_str().unwrap().to_owned(), keys)
        })
        .collect();
    assert_eq!(declared.len(), 12);
    assert_eq!(documented(), declared);
}
