//! What a rule's `info` may declare. The name is printed in every output, the status file and
//! the log, so it is a plain identifier (`[a-z0-9][a-z0-9_-]{0,63}`) that can forge no line
//! and hide no escape; the queries, texts and default config are bounded so that a module
//! cannot make the host fetch, store or print without end (what the engine copies out of the
//! guest to get here is bounded too). A module that declares more is refused alone, with the
//! bound named.

use reddalert_models::archive::Collection;

use crate::contract::{
    Form, MAX_DEFAULT_CONFIG_BYTES, MAX_INFO_TEXT_BYTES, MAX_NAME_BYTES, MAX_QUERIES,
    MAX_QUERY_BYTES, RuleInfo, is_rule_name,
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
    let longest_query = (info.queries.iter())
        .map(|q| q.query.path.len())
        .max()
        .unwrap_or(0);
    let config_len = info.default_config.to_string().len();
    if let Some(why) = archive_forms(info) {
        return Err(why);
    }
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

/// An archive is asked only of a collection that has one, and no query both as JSON and as an
/// archive: the guest finds its answers by path, so one path cannot come in two forms.
fn archive_forms(info: &RuleInfo) -> Option<String> {
    for (i, d) in info.queries.iter().enumerate() {
        let path = &d.query.path;
        if d.form == Form::Archive && Collection::of_query(path).is_none() {
            let shown: String = path.chars().take(200).collect();
            return Some(format!(
                "declares the query {shown:?} as an archive, which only the expanded \
                 view/instances, aws/securityGroups and aws/hostedRecords have (declare it as JSON)"
            ));
        }
        if (info.queries[..i].iter()).any(|e| &e.query.path == path && e.form != d.form) {
            let shown: String = path.chars().take(200).collect();
            return Some(format!(
                "declares the query {shown:?} both as JSON and as an archive"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check_info;
    use crate::contract::{Declared, Form, Query, RuleInfo, is_rule_name};

    fn info(queries: &[(&str, Form)]) -> RuleInfo {
        RuleInfo {
            name: "r".into(),
            version: "1".into(),
            description: String::new(),
            queries: (queries.iter())
                .map(|(path, form)| Declared {
                    query: Query {
                        path: (*path).to_owned(),
                        window: false,
                        updated_only: false,
                    },
                    form: *form,
                })
                .collect(),
            capabilities: Vec::new(),
            default_config: serde_json::json!({}),
        }
    }

    #[test]
    fn archives_are_asked_only_of_collections_that_have_one_and_in_one_form() {
        let instances = "view/instances;_expand";
        assert!(check_info(&info(&[(instances, Form::Archive)])).is_ok());
        // The same query twice in one form is what a 0.1 rule may have declared: still loads.
        assert!(check_info(&info(&[(instances, Form::Json), (instances, Form::Json)])).is_ok());
        let why = check_info(&info(&[("aws/loadBalancers;_expand", Form::Archive)])).unwrap_err();
        assert!(
            why.contains("\"aws/loadBalancers;_expand\" as an archive"),
            "{why}"
        );
        let why = check_info(&info(&[
            (instances, Form::Json),
            (instances, Form::Archive),
        ]))
        .unwrap_err();
        assert!(why.contains("both as JSON and as an archive"), "{why}");
    }

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
