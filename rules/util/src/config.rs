//! Reading a rule's merged config section with every value checked up front: a value of the
//! wrong type or out of range fails the rule with `<rule>: <key>: <what is wrong>, got
//! <value>`, because a setting that is silently dropped turns into alerts nobody can explain.
//! Unknown keys are only warned about: the operator's section may hold keys meant for the
//! host, or the original's keys that moved there (Chef and AWS credentials).

use reddalert_rule_sdk::anyhow;
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json::Map;
use regex::Regex;

/// A rule's config section, with the rule's name for messages.
pub struct Section<'a> {
    rule: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Section<'a> {
    /// Checks that the section is an object and warns about keys outside `known` (and outside
    /// `moved`, which are logged as ignored: settings the host owns now).
    pub fn new(
        rule: &'static str,
        config: &'a Value,
        known: &[&str],
        moved: &[&str],
    ) -> Result<Section<'a>> {
        let Value::Object(map) = config else {
            bail!("{rule}: the config is not a JSON object: {config}");
        };
        for key in map.keys() {
            if moved.contains(&key.as_str()) {
                log(
                    Level::Warn,
                    &format!("{rule}: config key {key:?} is ignored: the host holds it now"),
                );
            } else if !known.contains(&key.as_str()) {
                log(
                    Level::Warn,
                    &format!("{rule}: unknown config key {key:?} is ignored"),
                );
            }
        }
        Ok(Section { rule, map })
    }

    /// The raw value of a key; `None` when absent or `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An error about `key` whose value is `value`.
    pub fn error(&self, key: &str, what: &str, value: &Value) -> anyhow::Error {
        anyhow!("{}: {key}: {what}, got {value}", self.rule)
    }

    /// A string; absent or `null` reads as empty.
    pub fn string(&self, key: &str) -> Result<String> {
        match self.get(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.error(key, "expected a string", other)),
        }
    }

    /// A list of strings; absent or `null` reads as empty.
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let list = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        });
        list.ok_or_else(|| self.error(key, "expected a list of strings", value))
    }

    /// A list of regexes, each anchored at the start of the text but not at its end, as the
    /// original applied them with Python's `re.match`.
    pub fn regexes(&self, key: &str) -> Result<Vec<Regex>> {
        self.strings(key)?
            .iter()
            .map(|pattern| {
                // Checked alone first, so that the error shows the operator's pattern.
                Regex::new(pattern).map_err(|err| {
                    let reason = err.to_string();
                    let reason = reason.lines().last().unwrap_or_default();
                    let reason = reason.trim_start_matches("error: ");
                    let what = format!("not a valid regex ({reason})");
                    self.error(key, &what, &Value::String(pattern.clone()))
                })?;
                Regex::new(&format!("^(?:{pattern})")).map_err(|err| anyhow!("{err}"))
            })
            .collect()
    }

    /// A finite number at least `min`, or `default` when absent.
    pub fn number(&self, key: &str, min: f64, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => match value.as_f64() {
                Some(n) if n.is_finite() && n >= min => Ok(n),
                _ => Err(self.error(key, &format!("expected a number of at least {min}"), value)),
            },
        }
    }

    /// A non-negative integer, or `None` when absent.
    pub fn integer(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.error(key, "expected a non-negative integer", value)),
        }
    }

    /// A boolean, or `default` when absent.
    pub fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.error(key, "expected true or false", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(config: &Value) -> Section<'_> {
        Section::new("demo", config, &["a"], &["old"]).expect("an object")
    }

    #[test]
    fn values_of_the_wrong_type_name_rule_key_and_value() {
        let config = json!({"a": [1], "n": -1, "i": 1.5, "b": "yes", "s": 3, "r": ["(x"]});
        let s = section(&config);
        let err = |e: anyhow::Error| format!("{e:#}");
        assert_eq!(
            err(s.strings("a").expect_err("bad")),
            "demo: a: expected a list of strings, got [1]"
        );
        assert_eq!(
            err(s.number("n", 0.0, 1.0).expect_err("bad")),
            "demo: n: expected a number of at least 0, got -1"
        );
        assert_eq!(
            err(s.integer("i").expect_err("bad")),
            "demo: i: expected a non-negative integer, got 1.5"
        );
        assert_eq!(
            err(s.boolean("b", true).expect_err("bad")),
            r#"demo: b: expected true or false, got "yes""#
        );
        assert_eq!(
            err(s.string("s").expect_err("bad")),
            "demo: s: expected a string, got 3"
        );
        assert_eq!(
            err(s.regexes("r").expect_err("bad")),
            r#"demo: r: not a valid regex (unclosed group), got "(x""#
        );
        let not_object = Section::new("demo", &json!([]), &[], &[]).err();
        assert_eq!(
            not_object.map(err).as_deref(),
            Some("demo: the config is not a JSON object: []")
        );
    }

    #[test]
    fn absent_and_null_read_as_defaults() {
        let config = json!({"a": null});
        let s = section(&config);
        assert_eq!(s.strings("a").expect("ok"), Vec::<String>::new());
        assert_eq!(s.string("zone").expect("ok"), "");
        assert_eq!(s.number("p", 0.0, 0.1).expect("ok"), 0.1);
        assert_eq!(s.integer("seed").expect("ok"), None);
        assert!(s.boolean("flag", true).expect("ok"));
    }

    #[test]
    fn regexes_anchor_at_the_start_only() {
        let config = json!({"r": ["cached\\w*", "a|b"]});
        let res = section(&config).regexes("r").expect("valid");
        assert!(res[0].is_match("cached-assets"));
        assert!(!res[0].is_match("my-cached"));
        assert!(res[1].is_match("bob") && !res[1].is_match("carol"));
    }
}
