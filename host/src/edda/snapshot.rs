//! Snapshot directories: one file per query holding what EDDA answered, so the demo account
//! and rule authors can run without an EDDA server. The window is not applied to snapshots:
//! a file is what EDDA returned for that query, whatever the window was. An HTTP error is
//! saved as EDDA's `{code,name,message}` body and replays as that error (the iam rule reads
//! the 400 of a `_diff` on a new user as "new user").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Cached, EddaError};
use crate::contract::Query;

/// The file name of a query's snapshot: the query path with `/` written as `.`, then the
/// window arguments without their times (`;_since` for a windowed query, `;_updated` for an
/// updated-only one), then `.json`. So `aws/securityGroups;_expand` updated in the window is
/// `aws.securityGroups;_expand;_since;_updated.json`, and the current state of the same
/// collection is `aws.securityGroups;_expand.json`. A field selector the host can apply (a
/// key list) is not part of the name: the file holds whole documents and the host selects from
/// them when it replays (`view/instances;_expand:(instanceId)` reads
/// `view.instances;_expand.json`). One only EDDA can answer (a filter) stays in the name.
pub fn file_name(query: &Query) -> String {
    match super::projection::applicable(&query.path) {
        Some((base, _)) => named(base, query),
        None => named(&query.path, query),
    }
}

/// The name a file saved for a query with its field selector had (older hosts saved such
/// files); a replay still reads one when it is there.
pub(crate) fn selected_file_name(query: &Query) -> String {
    named(&query.path, query)
}

fn named(path: &str, query: &Query) -> String {
    let mut name = path.replace('/', ".");
    if query.window {
        name.push_str(";_since");
        if query.updated_only {
            name.push_str(";_updated");
        }
    }
    name.push_str(".json");
    name
}

pub fn file_path(dir: &Path, query: &Query) -> PathBuf {
    dir.join(file_name(query))
}

/// What a snapshot file holds for one response: the body, or EDDA's error body for an HTTP
/// error. Other failures (a body that is not JSON or was cut short, EDDA unreachable, a
/// missing file) have no file form, so there is `None` to save.
pub fn file_contents(response: &Result<Arc<str>, EddaError>) -> Option<String> {
    match response {
        Ok(body) => Some(body.to_string()),
        Err(EddaError::Status {
            status,
            name,
            message,
            ..
        }) => {
            let mut body = serde_json::json!({"code": status, "message": message});
            if let Some(name) = name {
                body["name"] = name.as_str().into();
            }
            Some(body.to_string())
        }
        Err(_) => None,
    }
}

/// The answer to `query` from the snapshot directory `dir`, read no further than `max_bytes`.
pub(super) fn fetch(dir: &Path, query: &Query, max_bytes: Option<u64>) -> Cached {
    let path = file_path(dir, query);
    if let Some(limit) = max_bytes
        && std::fs::metadata(&path).is_ok_and(|m| m.len() > limit)
    {
        return Err(EddaError::TooLarge {
            url: path.display().to_string(),
            limit,
        });
    }
    // A query with a key list reads the file of the whole documents and selects; a file saved
    // for the selector itself (as hosts before selectors were applied here saved it) wins. A
    // filter's file is named with its selector (`file_path` keeps it) and read as it is.
    if let Some((_, selector)) = super::projection::applicable(&query.path) {
        let saved = dir.join(selected_file_name(query));
        if !saved.is_file() {
            let text = read_snapshot(&path, query)?;
            // Selecting parses the whole body: no separate check is needed.
            return super::select(&selector, &text).map_err(|reason| EddaError::Snapshot {
                path,
                reason: format!(
                    "failed to apply the field selector of {:?}: {reason}",
                    query.path
                ),
            });
        }
        let text = read_snapshot(&saved, query)?;
        return super::check_body(&saved.display().to_string(), text, query);
    }
    let text = read_snapshot(&path, query)?;
    super::check_body(&path.display().to_string(), text, query)
}

/// A snapshot file's text; a snapshot of an EDDA error (say the 400 of a `_diff` on a new
/// user) replays as that error.
fn read_snapshot(path: &Path, query: &Query) -> Result<String, EddaError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(EddaError::MissingSnapshot {
                query: query.path.clone(),
                path: path.to_owned(),
            });
        }
        Err(err) => {
            return Err(EddaError::Snapshot {
                path: path.to_owned(),
                reason: err.to_string(),
            });
        }
    };
    if let Ok(body) = serde_json::from_str::<super::ErrorBody>(&text) {
        return Err(EddaError::Status {
            url: path.display().to_string(),
            status: body.code,
            name: body.name,
            message: body.message,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use crate::contract::Query;

    fn q(path: &str, window: bool, updated_only: bool) -> Query {
        Query {
            path: path.into(),
            window,
            updated_only,
        }
    }

    #[test]
    fn names_files_after_the_query_and_its_window_kind() {
        assert_eq!(
            super::file_name(&q("aws/securityGroups;_expand", false, false)),
            "aws.securityGroups;_expand.json"
        );
        assert_eq!(
            super::file_name(&q("aws/securityGroups;_expand", true, true)),
            "aws.securityGroups;_expand;_since;_updated.json"
        );
        assert_eq!(
            super::file_name(&q("aws/iamUsers/alice;_diff=200", true, false)),
            "aws.iamUsers.alice;_diff=200;_since.json"
        );
    }

    #[test]
    fn a_key_list_is_left_out_of_the_name_and_a_filter_kept_in_it() {
        let selected = q("view/instances;_expand:(instanceId,tags)", false, false);
        assert_eq!(super::file_name(&selected), "view.instances;_expand.json");
        assert_eq!(
            super::selected_file_name(&selected),
            "view.instances;_expand:(instanceId,tags).json"
        );
        assert_eq!(
            super::file_name(&q("aws/securityGroups;_expand:(groupId~/sg-/)", true, true)),
            "aws.securityGroups;_expand:(groupId~.sg-.);_since;_updated.json"
        );
    }
}
