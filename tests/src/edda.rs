//! A faithful fake of Netflix EDDA's read API (`GET <base>/v2/<collection>[/<id>][;args][:(selector)]`),
//! for integration tests of the EDDA client. It follows `shared/reference/edda-api.md`: the raw,
//! undecoded request target is parsed with EDDA's own regexes, matrix and select arguments and the
//! time-window rules behave like `CollectionResource`, documents are written with sorted keys, and
//! errors have EDDA's status codes and messages. Data comes from a [`Store`] of revisions, usually
//! loaded from a fixture directory (`tests/fixtures/edda/<scenario>/<dotted.collection>.json`).
//! [`Fault`]s let a test make the server misbehave the way proxies and containers do.

mod args;
mod diff;
mod json;
mod matcher;
mod query;
mod route;
mod selection;
mod selector;
mod server;
#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_query;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use server::FakeEdda;

/// The 36 root collections EDDA registers (reference §1.3); anything else is a 400.
pub const ROOT_COLLECTIONS: [&str; 36] = [
    "aws.addresses",
    "aws.autoScalingGroups",
    "aws.scalingPolicies",
    "aws.alarms",
    "aws.images",
    "aws.loadBalancers",
    "view.loadBalancerInstances",
    "aws.launchConfigurations",
    "aws.instances",
    "view.instances",
    "aws.securityGroups",
    "aws.snapshots",
    "aws.tags",
    "aws.volumes",
    "aws.buckets",
    "aws.iamUsers",
    "aws.iamGroups",
    "aws.iamRoles",
    "aws.iamPolicies",
    "aws.iamVirtualMFADevices",
    "view.simpleQueues",
    "aws.reservedInstances",
    "group.autoScalingGroups",
    "aws.hostedZones",
    "aws.hostedRecords",
    "aws.databases",
    "aws.databaseSubnets",
    "aws.cacheClusters",
    "aws.subnets",
    "aws.stacks",
    "aws.scalingActivities",
    "aws.scheduledActions",
    "aws.vpcs",
    "aws.reservedInstancesOfferings",
    "aws.loadBalancersV2",
    "aws.targetGroups",
];

/// One stored revision of a resource: valid over `[stime, ltime)`, `ltime == None` meaning live.
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

/// The served data: dotted collection name -> revisions in "crawl" (insertion) order.
///
/// Root names come from [`ROOT_COLLECTIONS`]. A name `<account>.<root>` (e.g.
/// `prod.us-east-1.aws.securityGroups`) is served as a per-account collection, and the bare root
/// then acts as EDDA's merged view over every account.
#[derive(Debug, Default, Clone)]
pub struct Store {
    collections: BTreeMap<String, Vec<Revision>>,
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// Load every `<dotted.collection.name>.json` file in `dir`, each a JSON array of revisions
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

    /// Append a revision; callers close the previous revision themselves (set its `ltime`).
    pub fn insert(&mut self, collection: &str, rev: Revision) {
        self.collections
            .entry(collection.to_string())
            .or_default()
            .push(rev);
    }

    /// The revisions stored under exactly this dotted name.
    pub fn revisions(&self, collection: &str) -> &[Revision] {
        self.collections
            .get(collection)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether EDDA would answer for this name: a root, or `<account>.<root>` present in the store.
    pub(crate) fn is_registered(&self, name: &str) -> bool {
        ROOT_COLLECTIONS.contains(&name)
            || (self.collections.contains_key(name) && account_root(name).is_some())
    }

    /// The collections a query on `name` reads: a root fans out to its per-account collections.
    pub(crate) fn sources(&self, name: &str) -> (Vec<&[Revision]>, bool) {
        let mut out = vec![self.revisions(name)];
        let mut merged = false;
        if ROOT_COLLECTIONS.contains(&name) {
            for (coll, revs) in &self.collections {
                if account_root(coll) == Some(name) {
                    out.push(revs);
                    merged = true;
                }
            }
        }
        (out, merged)
    }
}

/// For `<account>.<root>` the root name, else `None`.
fn account_root(name: &str) -> Option<&'static str> {
    ROOT_COLLECTIONS.iter().copied().find(|root| {
        name.len() > root.len() + 1
            && name.ends_with(root)
            && name.as_bytes()[name.len() - root.len() - 1] == b'.'
    })
}

/// Misbehaviour injected by a test for the following requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 500 with a servlet container's HTML error page.
    Status500Html,
    /// 200 `text/html` `<html>proxy error</html>`.
    NonJson,
    /// The real response's headers, with a Content-Length larger than the half body that is sent.
    Truncated,
    /// Sleep this long before answering normally.
    Hang(Duration),
    /// Answer with this status and an EDDA-shaped JSON error body.
    Status(u16),
}

/// `tests/fixtures/edda`: each sub-directory is a scenario for [`Store::from_dir`].
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/edda")
}
