//! The engine tests' harness: every request is answered twice, from the in-memory store and
//! from the same revisions loaded into a SQLite store (read as of its clock), and the two
//! answers must be byte-identical; the tests then hold the answer to EDDA's documented one.

use serde_json::Value;

use crate::sqlite::{AsOf, import};
use crate::{ROOT_COLLECTIONS, Reply, Store, handle};

pub(crate) struct Fixture {
    memory: Store,
    sqlite: AsOf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub(crate) fn new(memory: Store) -> Fixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("store.sqlite");
        import(&path, &memory, 1, ROOT_COLLECTIONS).expect("import");
        let sqlite = AsOf::open(&path, 1, None).expect("open the store");
        Fixture {
            memory,
            sqlite,
            _dir: dir,
        }
    }
}

pub(crate) fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/edda")
}

pub(crate) fn basic() -> Fixture {
    Fixture::new(Store::from_dir(&fixtures_dir().join("basic")).expect("basic fixtures"))
}

pub(crate) struct Resp(Reply);

impl Resp {
    pub(crate) fn status(&self) -> u16 {
        self.0.status
    }
    pub(crate) fn content_type(&self) -> &str {
        self.0.content_type
    }
    pub(crate) fn body(&self) -> &[u8] {
        &self.0.body
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.body.clone()).expect("utf-8 body")
    }
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.0.body).expect("JSON body")
    }
}

/// GET `/edda/api/v2/<path>` from both sources; they must agree byte for byte.
pub(crate) fn get(fixture: &Fixture, path: &str) -> Resp {
    let target = format!("/edda/api/v2/{path}");
    let memory = handle(&fixture.memory, "GET", &target);
    let sqlite = handle(&fixture.sqlite, "GET", &target);
    assert_eq!(
        (sqlite.status, String::from_utf8_lossy(&sqlite.body)),
        (memory.status, String::from_utf8_lossy(&memory.body)),
        "the SQLite store and the in-memory store answer {path} differently"
    );
    Resp(memory)
}

pub(crate) fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|i| i.as_str().expect("id"))
        .collect()
}
