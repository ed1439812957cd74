//! The `iam` rule: IAM users changed in the run's window that were added to a group, or that
//! are new. For each changed user (ids from `aws/iamUsers` in the window, de-duplicated) it
//! asks EDDA for `aws/iamUsers/<name>;_diff=200` over the window and compares the group sets
//! of every pair of adjacent revisions; groups that appear alert as `"Groups the user has been
//! added to: a, b"`. When EDDA answers 400 "_diff requires at least 2 documents" the user has
//! only one revision, so it is new: the rule fetches the user and alerts `"New user has been
//! added"` with the document. A user that is gone (404 or 410) is logged and skipped.
//!
//! Config (`plugin.iam`):
//! - `allowed` (`[]`): regexes of user names that may change freely; a user matching one is
//!   not checked at all. As in the original (Python's `re.match`) a pattern must match at the
//!   start of the name but may stop before its end: `deploy` allows `deploy-bot`.
//!
//! Ported from Prezi's reddalert. Differences: groups are compared as sets, so a group line
//! that only gained or lost its trailing comma no longer counts as "added"; the details are
//! JSON objects (`message` plus `groups` or `user`) rather than text; added groups are sorted.

mod config;
pub mod diff;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json;

use crate::config::Config;

/// EDDA's answer to `_diff` on a resource with a single revision in the window.
const SINGLE_REVISION: &str = "_diff requires at least 2 documents";

/// The rule type registered with the host.
pub struct Iam;

impl Rule for Iam {
    fn info() -> Info {
        Info {
            name: "iam".into(),
            version: String::new(),
            description: "new IAM users and users added to groups".into(),
            queries: vec![Query::updated(IAM_USERS)],
            capabilities: vec![Capability::Edda],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let config: Config = input.config()?;
        // The id list repeats a user once per revision created in the window.
        let users: BTreeSet<String> = input
            .data
            .get::<Vec<String>>(IAM_USERS)?
            .into_iter()
            .collect();
        let mut out = Output::new();
        for user in &users {
            if config.allows(user) {
                log(Level::Debug, &format!("iam: {user:?} is allowed, skipped"));
                continue;
            }
            if user.contains(',') {
                // EDDA reads a comma in an id as a list of ids, so this user cannot be asked for.
                log(
                    Level::Warn,
                    &format!("iam: {user:?} cannot be queried (a comma in an EDDA id), skipped"),
                );
                continue;
            }
            if let Some(details) = check(user)? {
                out.alert(user.as_str(), details);
            }
        }
        Ok(out)
    }
}

/// The alert details for one changed user, if any.
fn check(user: &str) -> Result<Option<Value>> {
    match edda_query(&Query::windowed(format!("aws/iamUsers/{user};_diff=200"))) {
        Ok(text) => {
            let added = diff::groups_added(&text)
                .with_context(|| format!("failed to read the _diff of IAM user {user:?}"))?;
            if added.is_empty() {
                return Ok(None);
            }
            let message = format!("Groups the user has been added to: {}", added.join(", "));
            Ok(Some(json!({"message": message, "groups": added})))
        }
        Err(EddaError::Http {
            status: 400,
            message,
            ..
        }) if message.contains(SINGLE_REVISION) => new_user(user),
        Err(err) if is_gone(&err) => {
            log(
                Level::Info,
                &format!("iam: {user:?} is gone ({err}), skipped"),
            );
            Ok(None)
        }
        Err(err) => {
            Err(err).with_context(|| format!("failed to fetch the _diff of IAM user {user:?}"))
        }
    }
}

/// The alert for a user with a single revision: its current document.
fn new_user(user: &str) -> Result<Option<Value>> {
    match edda_query(&Query::current(format!("aws/iamUsers/{user}"))) {
        Ok(body) => {
            let doc: Value = serde_json::from_str(&body).with_context(|| {
                format!("failed to parse the document of new IAM user {user:?}")
            })?;
            Ok(Some(
                json!({"message": "New user has been added", "user": doc}),
            ))
        }
        // Created and deleted inside the window.
        Err(err) if is_gone(&err) => {
            log(
                Level::Info,
                &format!("iam: new user {user:?} is already gone ({err}), skipped"),
            );
            Ok(None)
        }
        Err(err) => Err(err).with_context(|| format!("failed to fetch new IAM user {user:?}")),
    }
}

fn is_gone(err: &EddaError) -> bool {
    matches!(
        err,
        EddaError::Http {
            status: 404 | 410,
            ..
        }
    )
}

reddalert_rule_sdk::register!(Iam);
