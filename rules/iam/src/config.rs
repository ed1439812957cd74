//! The iam config: `allowed`, regexes of user names that may change freely, read as
//! [`Pattern`]s: as the original's `re.match`, anchored at the start of the name but not at its
//! end, so `deploy` allows `deploy-bot` and `deployer` but not `bot-deploy`. A pattern that does
//! not compile fails the rule up front instead of being skipped.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::pattern::Pattern;

/// `plugin.iam`; by default nobody is allowed.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Patterns of the user names that are not checked.
    pub allowed: Vec<Pattern>,
}

impl Settings for Config {}

impl Config {
    /// Whether the user may change without an alert.
    pub fn allows(&self, user: &str) -> bool {
        self.allowed.iter().any(|pattern| pattern.is_match(user))
    }
}

#[cfg(test)]
mod tests {
    use reddalert_rule_sdk::serde_json;
    use reddalert_rule_sdk::testing::Harness;

    use super::*;
    use crate::Iam;

    fn allowed(patterns: Value) -> Config {
        serde_json::from_value(json!({ "allowed": patterns })).expect("valid")
    }

    #[test]
    fn patterns_anchor_at_the_start_only() {
        let allowed = allowed(json!(["deploy", "ci-[0-9]+$"]));
        assert!(allowed.allows("deploy"));
        assert!(allowed.allows("deploy-bot"));
        assert!(!allowed.allows("bot-deploy"));
        assert!(allowed.allows("ci-42"));
        assert!(!allowed.allows("ci-42x"));
        assert!(!allowed.allows("alice"));
    }

    #[test]
    fn alternation_stays_inside_the_anchor() {
        let allowed = allowed(json!(["a|b"]));
        assert!(allowed.allows("bob"));
        assert!(!allowed.allows("carol"), "`a|b` must not become `^a|b`");
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        let error = |v: Value| {
            let run = Harness::<Iam>::new()
                .config(json!({ "allowed": v }))
                .data(IAM_USERS, "[]")
                .run();
            format!("{:#}", run.expect_err("rejected"))
        };
        assert_eq!(
            error(json!(["ok", "[a-"])),
            r#"iam: allowed[1]: "[a-" is not a valid regex (unclosed character class)"#
        );
        assert_eq!(
            error(json!(["(?<=x)y"])),
            r#"iam: allowed[0]: "(?<=x)y" is not a valid regex (look-around, including look-ahead and look-behind, is not supported)"#
        );
        assert_eq!(
            error(json!([7])),
            "iam: allowed[0]: invalid type: integer `7`, expected a string"
        );
        assert_eq!(
            error(json!("deploy")),
            r#"iam: allowed: invalid type: string "deploy", expected a sequence"#
        );
    }
}
