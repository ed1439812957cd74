//! A regular expression an operator writes in a rule's config, applied as the original applied
//! its patterns with Python's `re.match`: anchored at the start of the text but not at its
//! end, so `deploy` matches `deploy-bot` and `deployer` but not `bot-deploy`. It reads from and
//! writes back to the operator's text, so a config type holding it derives its default config
//! and reports a pattern that does not compile with the config key's path and the operator's
//! pattern (not the anchored one).

use std::fmt;

use reddalert_rule_sdk::serde::de::{self, Deserializer};
use reddalert_rule_sdk::serde::{Deserialize, Serialize, Serializer};
use regex::Regex;

/// A regex anchored at the start of the text only, as written in the config.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles `source`; the error is the regex crate's reason, without its diagram.
    pub fn new(source: &str) -> Result<Pattern, String> {
        // Checked alone first, so that the error is about the operator's pattern.
        Regex::new(source).map_err(|err| {
            let reason = err.to_string();
            let reason = reason.lines().last().unwrap_or_default();
            format!(
                "{source:?} is not a valid regex ({})",
                reason.trim_start_matches("error: ")
            )
        })?;
        let regex = Regex::new(&format!("^(?:{source})")).map_err(|err| err.to_string())?;
        Ok(Pattern {
            source: source.to_owned(),
            regex,
        })
    }

    /// Whether the pattern matches at the start of `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The pattern as the operator wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pattern, D::Error> {
        let source = String::deserialize(deserializer)?;
        Pattern::new(&source).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use reddalert_rule_sdk::serde_json::{self, json};

    use super::*;

    #[test]
    fn patterns_anchor_at_the_start_only() {
        let deploy = Pattern::new("deploy").unwrap();
        assert!(deploy.is_match("deploy-bot") && deploy.is_match("deployer"));
        assert!(!deploy.is_match("bot-deploy"));
        let either = Pattern::new("a|b").unwrap();
        assert!(either.is_match("bob") && !either.is_match("carol"));
    }

    #[test]
    fn patterns_read_and_write_the_operators_text() {
        let read: Vec<Pattern> = serde_json::from_value(json!(["cached\\w*"])).unwrap();
        assert_eq!(read[0].as_str(), "cached\\w*");
        assert_eq!(serde_json::to_value(&read).unwrap(), json!(["cached\\w*"]));
        let err = serde_json::from_value::<Pattern>(json!("(x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""(x" is not a valid regex (unclosed group)"#
        );
        assert!(serde_json::from_value::<Pattern>(json!(3)).is_err());
    }
}
