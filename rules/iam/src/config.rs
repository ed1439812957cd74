//! The iam config: `allowed`, regexes of user names that may change freely. The original
//! applied each with Python's `re.match`, which anchors at the start of the name but not at
//! its end, so `deploy` allows `deploy-bot` and `deployer` but not `bot-deploy`; the patterns
//! are compiled as `^(?:<pattern>)` to keep exactly that. A pattern that does not compile
//! fails the rule up front instead of being skipped.

use reddalert_rule_sdk::prelude::*;
use regex::Regex;

/// The default config: nobody is allowed.
pub fn defaults() -> Value {
    json!({"allowed": []})
}

/// The validated `allowed` patterns.
#[derive(Debug)]
pub struct Allowed(Vec<Regex>);

impl Allowed {
    /// Validates the merged config section.
    pub fn from_config(config: &Value) -> Result<Allowed> {
        let Value::Object(map) = config else {
            bail!("iam: the config is not a JSON object: {config}");
        };
        for key in map.keys().filter(|k| k.as_str() != "allowed") {
            log(
                Level::Warn,
                &format!("iam: unknown config key {key:?} is ignored"),
            );
        }
        let patterns = match map.get("allowed") {
            None => return Ok(Allowed(Vec::new())),
            Some(Value::Array(patterns)) => patterns,
            Some(other) => bail!("iam: allowed: expected a list, got {other}"),
        };
        let compile = |value: &Value| {
            let Some(pattern) = value.as_str() else {
                bail!("iam: allowed: {value} is not a regex (a string)");
            };
            // Checked alone first, so that the error shows the user's pattern, not ours.
            if let Err(err) = Regex::new(pattern) {
                let reason = err.to_string();
                let reason = reason
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                bail!("iam: allowed: {value} is not a valid regex ({reason})");
            }
            Regex::new(&format!("^(?:{pattern})"))
                .with_context(|| format!("iam: allowed: {value} cannot be anchored"))
        };
        Ok(Allowed(
            patterns.iter().map(compile).collect::<Result<_>>()?,
        ))
    }

    /// Whether the user may change without an alert.
    pub fn allows(&self, user: &str) -> bool {
        self.0.iter().any(|re| re.is_match(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: Value) -> Result<Allowed> {
        Allowed::from_config(&json!({ "allowed": patterns }))
    }

    #[test]
    fn patterns_anchor_at_the_start_only() {
        let allowed = allowed(json!(["deploy", "ci-[0-9]+$"])).expect("valid");
        assert!(allowed.allows("deploy"));
        assert!(allowed.allows("deploy-bot"));
        assert!(!allowed.allows("bot-deploy"));
        assert!(allowed.allows("ci-42"));
        assert!(!allowed.allows("ci-42x"));
        assert!(!allowed.allows("alice"));
    }

    #[test]
    fn alternation_stays_inside_the_anchor() {
        let allowed = allowed(json!(["a|b"])).expect("valid");
        assert!(allowed.allows("bob"));
        assert!(!allowed.allows("carol"), "`a|b` must not become `^a|b`");
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let error = |v: Value| format!("{:#}", allowed(v).expect_err("rejected"));
        assert_eq!(
            error(json!(["ok", "[a-"])),
            r#"iam: allowed: "[a-" is not a valid regex (unclosed character class)"#
        );
        assert_eq!(
            error(json!(["(?<=x)y"])),
            r#"iam: allowed: "(?<=x)y" is not a valid regex (look-around, including look-ahead and look-behind, is not supported)"#
        );
        assert_eq!(
            error(json!([7])),
            "iam: allowed: 7 is not a regex (a string)"
        );
        assert_eq!(
            error(json!("deploy")),
            r#"iam: allowed: expected a list, got "deploy""#
        );
        let err = Allowed::from_config(&json!([])).expect_err("not an object");
        assert_eq!(
            format!("{err:#}"),
            "iam: the config is not a JSON object: []"
        );
    }
}
