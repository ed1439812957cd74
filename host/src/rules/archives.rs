//! The archive form of declared collections (interface 0.2.0): a query's answer in a window is
//! parsed into the typed models and archived at most once per command, by the first rule that
//! asks for it, and the same bytes are handed to every rule that asks after it. Rules evaluate
//! in parallel, so a rule that asks while the archive is being made waits for it rather than
//! making its own. A body that does not fit the models fails the rules that asked for the
//! archive, with the reason, and no other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use reddalert_models::archive::Collection;

use crate::contract::{Query, Window};

type Made = Result<Arc<[u8]>, String>;

/// One answer's archive: made once, by whichever rule asks first.
type Cell = Arc<OnceLock<Made>>;

/// The archives made so far in one command.
#[derive(Default)]
pub(crate) struct Archives {
    cells: Mutex<HashMap<(Query, Window), Cell>>,
}

impl Archives {
    /// The archive of `query`'s answer in `window`, made from `body` by the first caller.
    pub(crate) fn get(&self, query: &Query, window: Window, body: &str) -> Made {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            cells.entry((query.clone(), window)).or_default().clone()
        };
        cell.get_or_init(|| make(query, body)).clone()
    }

    /// The bytes of the archives held, for the run's figures.
    pub(crate) fn bytes(&self) -> usize {
        let cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells
            .values()
            .filter_map(|cell| cell.get()?.as_ref().ok().map(|a| a.len()))
            .sum()
    }
}

fn make(query: &Query, body: &str) -> Made {
    let collection = Collection::of_query(&query.path).ok_or_else(|| {
        // The checks of `info` refuse such a rule at load time; this is their backstop.
        format!("{:?} is not a collection with an archive form", query.path)
    })?;
    let started = Instant::now();
    let archive = collection
        .archive(body.as_bytes())
        .map_err(|err| err.to_string())?;
    tracing::debug!(
        query = %query.path,
        json_bytes = body.len(),
        archive_bytes = archive.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "archived"
    );
    Ok(Arc::from(archive.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(path: &str) -> Query {
        Query {
            path: path.to_owned(),
            window: false,
            updated_only: false,
        }
    }

    const WINDOW: Window = Window {
        since_ms: 0,
        until_ms: 1,
    };

    #[test]
    fn each_answer_is_archived_once_and_shared() {
        let archives = Archives::default();
        let q = query("view/instances;_expand");
        let body = r#"[{"instanceId": "i-1", "tags": [{"key": "Name", "value": "web"}]}]"#;
        let first = archives.get(&q, WINDOW, body).unwrap();
        let again = archives.get(&q, WINDOW, "not even JSON").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "made twice");
        assert_eq!(archives.bytes(), first.len());

        // Another window is another answer.
        let later = Window {
            since_ms: 1,
            until_ms: 2,
        };
        assert!(archives.get(&q, later, "[]").unwrap().len() < first.len());
    }

    #[test]
    fn an_answer_the_models_cannot_read_fails_with_the_reason_every_time() {
        let archives = Archives::default();
        let q = query("aws/securityGroups;_expand");
        let why = archives
            .get(&q, WINDOW, r#"{"groupId": "sg-1"}"#)
            .unwrap_err();
        assert!(why.contains("SecurityGroup model"), "{why}");
        assert_eq!(archives.get(&q, WINDOW, "[]").unwrap_err(), why);
        let why = archives
            .get(&query("aws/loadBalancers;_expand"), WINDOW, "[]")
            .unwrap_err();
        assert!(
            why.contains("not a collection with an archive form"),
            "{why}"
        );
    }
}
