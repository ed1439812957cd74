//! Revisions held in memory: what the test kit's fake EDDA serves, usually loaded from a fixture
//! directory (`tests/fixtures/edda/<scenario>/<dotted.collection>.json`, each a JSON array of
//! revisions), and what the SQLite store is loaded from in tests and the benchmark.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::source::{Doc, Filter, Source, SourceError, Stored};
use crate::{ROOT_COLLECTIONS, account_root};

/// One revision of a resource, as fixtures write it: valid over `[stime, ltime)`, `ltime ==
/// None` meaning live.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Revision {
    pub id: String,
    pub stime: i64,
    #[serde(default)]
    pub ltime: Option<i64>,
    /// AWS creation time; when absent the envelope uses the first `stime` seen for the id.
    #[serde(default)]
    pub ctime: Option<i64>,
    pub data: serde_json::Value,
}

/// Dotted collection name -> revisions in insertion order.
///
/// Root names come from [`ROOT_COLLECTIONS`]. A name `<account>.<root>` (e.g.
/// `prod.us-east-1.aws.securityGroups`) is served as a per-account collection, and the bare root
/// then acts as EDDA's merged view over every account.
#[derive(Debug, Default, Clone)]
pub struct Store {
    collections: BTreeMap<String, Collection>,
}

#[derive(Debug, Default, Clone)]
struct Collection {
    /// `ftime` is filled in when read, from `first`.
    revisions: Vec<Stored>,
    /// The first `stime` of each id.
    first: HashMap<String, i64>,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Loads every `<dotted.collection.name>.json` file in `dir`, each a JSON array of revisions
    /// `{"id": "...", "stime": 123, "ltime": null, "ctime": 1 (optional), "data": {...}}`.
    pub fn from_dir(dir: &Path) -> std::io::Result<Store> {
        let mut store = Store::new();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.sort();
        for path in paths {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(collection) = name.strip_suffix(".json") else {
                continue;
            };
            let text = std::fs::read_to_string(&path)?;
            let revs: Vec<Revision> = serde_json::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
            for rev in revs {
                store.insert(collection, rev);
            }
        }
        Ok(store)
    }

    /// Appends a revision; callers close the previous revision themselves (set its `ltime`).
    pub fn insert(&mut self, collection: &str, rev: Revision) {
        let coll = self.collections.entry(collection.to_owned()).or_default();
        let first = coll.first.entry(rev.id.clone()).or_insert(rev.stime);
        *first = (*first).min(rev.stime);
        coll.revisions.push(Stored {
            data: Doc::new(&rev.data),
            id: rev.id,
            stime: rev.stime,
            ltime: rev.ltime,
            ctime: rev.ctime,
            ftime: 0,
        });
    }

    /// The revisions stored under exactly this dotted name, in insertion order.
    pub fn revisions(&self, collection: &str) -> Vec<Revision> {
        self.stored(collection)
            .into_iter()
            .map(|s| Revision {
                data: serde_json::from_str(s.data.text()).unwrap_or_default(),
                id: s.id,
                stime: s.stime,
                ltime: s.ltime,
                ctime: s.ctime,
            })
            .collect()
    }

    /// Every collection's name, sorted.
    pub fn collection_names(&self) -> impl Iterator<Item = &str> {
        self.collections.keys().map(String::as_str)
    }

    /// The revisions of a collection with their `ftime`, in insertion order.
    pub(crate) fn stored(&self, collection: &str) -> Vec<Stored> {
        self.filtered(collection, &Filter::All)
    }

    fn filtered(&self, collection: &str, filter: &Filter) -> Vec<Stored> {
        let Some(coll) = self.collections.get(collection) else {
            return Vec::new();
        };
        coll.revisions
            .iter()
            .filter(|rev| filter.matches(rev))
            .map(|rev| Stored {
                ftime: coll.first.get(&rev.id).copied().unwrap_or(rev.stime),
                ..rev.clone()
            })
            .collect()
    }
}

impl Source for Store {
    fn holds(&self, collection: &str) -> Result<bool, SourceError> {
        Ok(self.collections.contains_key(collection))
    }

    fn accounts_of(&self, root: &str) -> Result<Vec<String>, SourceError> {
        debug_assert!(ROOT_COLLECTIONS.contains(&root));
        Ok(self
            .collections
            .keys()
            .filter(|name| account_root(name) == Some(root))
            .cloned()
            .collect())
    }

    fn revisions(&self, collection: &str, filter: &Filter) -> Result<Vec<Stored>, SourceError> {
        Ok(self.filtered(collection, filter))
    }
}
