//! What a rule's `info` may declare. The name is printed in every output, the status file and
//! the log, so it is a plain identifier (`[a-z0-9][a-z0-9_-]{0,63}`) that can forge no line
//! and hide no escape; the queries, texts and default config are bounded so that a module
//! cannot make the host fetch, store or print without end (what the engine copies out of the
//! guest to get here is bounded too). A module that declares more is refused alone, with the
//! bound named.

use crate::contract::{
    MAX_DEFAULT_CONFIG_BYTES, MAX_INFO_TEXT_BYTES, MAX_NAME_BYTES, MAX_QUERIES, MAX_QUERY_BYTES,
    RuleInfo, is_rule_name,
};

pub(crate) fn check_info(info: &RuleInfo) -> Result<(), String> {
    if !is_rule_name(&info.name) {
        let shown: String = info.name.chars().take(80).collect();
        return Err(format!(
            "declares the name {shown:?} ({} bytes), which is not a rule name: \
             [a-z0-9][a-z0-9_-]{{0,63}}",
            info.name.len()
        ));
    }
    if info.queries.len() > MAX_QUERIES {
        return Err(format!(
            "declares {} queries; at most {MAX_QUERIES} are accepted",
            info.queries.len()
        ));
    }
    let too_long = |what: &str, len: usize, cap: usize| {
        (len > cap).then(|| format!("declares {what} of {len} bytes; at most {cap} are accepted"))
    };
    let longest_query = info.queries.iter().map(|q| q.path.len()).max().unwrap_or(0);
    let config_len = info.default_config.to_string().len();
    [
        too_long("a version", info.version.len(), MAX_NAME_BYTES),
        too_long("a description", info.description.len(), MAX_INFO_TEXT_BYTES),
        too_long("a query", longest_query, MAX_QUERY_BYTES),
        too_long("a default config", config_len, MAX_DEFAULT_CONFIG_BYTES),
    ]
    .into_iter()
    .flatten()
    .next()
    .map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use crate::contract::is_rule_name;

    #[test]
    fn rule_names_follow_the_documented_grammar() {
        for good in [
            "secgroups",
            "sso_unprotected",
            "ami-py",
            "r2",
            "0day",
            &"a".repeat(64),
        ] {
            assert!(is_rule_name(good), "{good:?}");
        }
        for bad in [
            "",
            "Secgroups",
            "-x",
            "_x",
            "../x",
            "a b",
            "evil\nRule: secgroups",
            "x\u{1b}[31m",
            "é",
            &"a".repeat(65),
        ] {
            assert!(!is_rule_name(bad), "{bad:?}");
        }
    }
}
