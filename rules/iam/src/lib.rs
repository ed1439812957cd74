//! The `iam` rule: IAM users changed in the run's window that were added to a group, or that
//! are new. For each changed user (ids from `aws/iamUsers` in the window, de-duplicated) it
//! asks EDDA for `aws/iamUsers/<name>;_diff=200` over the window and compares the group sets
//! of every pair of adjacent revisions; groups that appear alert as `"Groups the user has been
//! added to: a, b"`. When EDDA answers 400 "_diff requires at least 2 documents" the user has
//! only one revision, so it is new: the rule fetches the user and alerts `"New user has been
//! added"` with the document. A user that is gone (404 or 410) is logged and skipped. The
//! queries go to the host in batches (`fetch-many`), which it runs concurrently: one query at
//! a time, 5,000 changed users took 10,000 round trips in a row.
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

/// Users whose queries go to the host in one batch: many more than the host runs at once, so
/// its workers stay busy, few enough that a batch of `_diff` texts stays small in memory.
const CHUNK: usize = 256;

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
        let users: Vec<&str> = users
            .iter()
            .map(String::as_str)
            .filter(|user| checked(&config, user))
            .collect();
        let mut out = Output::new();
        for chunk in users.chunks(CHUNK) {
            for (user, details) in check(chunk)? {
                out.alert(user, details);
            }
        }
        Ok(out)
    }
}

/// Whether a changed user is to be checked: not allowed by the config, and one EDDA can be
/// asked about.
fn checked(config: &Config, user: &str) -> bool {
    if config.allows(user) {
        log(Level::Debug, &format!("iam: {user:?} is allowed, skipped"));
        return false;
    }
    if user.contains(',') {
        // EDDA reads a comma in an id as a list of ids, so this user cannot be asked for.
        log(
            Level::Warn,
            &format!("iam: {user:?} cannot be queried (a comma in an EDDA id), skipped"),
        );
        return false;
    }
    true
}

/// What one user's `_diff` says.
enum Found {
    /// Groups added: the alert's details.
    Added(Value),
    /// No group added, or the user is gone.
    Nothing,
    /// A single revision: a new user, whose document is the alert.
    New,
}

/// The alerts of a chunk of changed users, in their order. Their `_diff`s are fetched in one
/// batch, then the documents of the new ones in another; the first failure in user order
/// fails the rule with the same error as when each user was asked in turn.
fn check<'a>(users: &[&'a str]) -> Result<Vec<(&'a str, Value)>> {
    let queries: Vec<Query> = users
        .iter()
        .map(|user| Query::windowed(format!("aws/iamUsers/{user};_diff=200")))
        .collect();
    let mut found = Vec::new();
    let mut failure = None;
    for (user, answer) in users.iter().zip(fetch_all(&queries)?) {
        match read_diff(user, answer) {
            Ok(f) => found.push((*user, f)),
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    let new: Vec<Query> = found
        .iter()
        .filter(|(_, f)| matches!(f, Found::New))
        .map(|(user, _)| Query::current(format!("aws/iamUsers/{user}")))
        .collect();
    let mut documents = fetch_all(&new)?.into_iter();
    let mut alerts = Vec::new();
    for (user, f) in found {
        let details = match f {
            Found::Added(details) => Some(details),
            Found::Nothing => None,
            Found::New => match documents.next() {
                Some(document) => new_user(user, document)?,
                None => bail!("the host answered fewer documents than were asked for"),
            },
        };
        alerts.extend(details.map(|d| (user, d)));
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(alerts),
    }
}

/// One batch, with one answer per query.
fn fetch_all(queries: &[Query]) -> Result<Vec<Result<String, EddaError>>> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let answers = edda_query_many(queries);
    if answers.len() != queries.len() {
        bail!(
            "the host answered {} of {} EDDA queries",
            answers.len(),
            queries.len()
        );
    }
    Ok(answers)
}

/// What EDDA's answer to one user's `_diff` says.
fn read_diff(user: &str, answer: Result<String, EddaError>) -> Result<Found> {
    match answer {
        Ok(text) => {
            let added = diff::groups_added(&text)
                .with_context(|| format!("failed to read the _diff of IAM user {user:?}"))?;
            if added.is_empty() {
                return Ok(Found::Nothing);
            }
            let message = format!("Groups the user has been added to: {}", added.join(", "));
            Ok(Found::Added(json!({"message": message, "groups": added})))
        }
        Err(EddaError::Http {
            status: 400,
            message,
            ..
        }) if message.contains(SINGLE_REVISION) => Ok(Found::New),
        Err(err) if is_gone(&err) => {
            log(
                Level::Info,
                &format!("iam: {user:?} is gone ({err}), skipped"),
            );
            Ok(Found::Nothing)
        }
        Err(err) => {
            Err(err).with_context(|| format!("failed to fetch the _diff of IAM user {user:?}"))
        }
    }
}

/// The alert for a user with a single revision: its current document.
fn new_user(user: &str, answer: Result<String, EddaError>) -> Result<Option<Value>> {
    match answer {
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
