//! Chef server node search through the host (capability `chef`).
//!
//! The host holds the Chef client key, signs the requests, pages through the results and
//! retries server errors; the rule names a search query and the attributes it wants, in Chef's
//! partial-search form (result name → path in the node's merged attributes, where Ohai's
//! automatic attributes sit at the top: `["cloud", "public_ipv4"]`; `["name"]` is the node's
//! name), and gets one row per node: an object of those names to their values (`null` where a
//! node lacks the attribute). Asking for a few
//! attributes keeps the answer small on a server with thousands of nodes. [`ChefNode`] models
//! the attributes the stock rules read; the `NODE_*` constants request them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::models::nullable;
use crate::net::NetError;

/// One partial-search attribute: the name it gets in each row, and its path in the node.
pub type Attribute = (&'static str, &'static [&'static str]);

/// The node's name.
pub const NODE_NAME: Attribute = ("name", &["name"]);
/// Ohai's `cloud` object (present on cloud instances): public addresses and the provider.
pub const NODE_CLOUD: Attribute = ("cloud", &["cloud"]);
/// The node's main IP address.
pub const NODE_IPADDRESS: Attribute = ("ipaddress", &["ipaddress"]);
/// The node's network interfaces and their addresses.
pub const NODE_INTERFACES: Attribute = ("interfaces", &["network", "interfaces"]);
/// The machine's host name.
pub const NODE_MACHINENAME: Attribute = ("machinename", &["machinename"]);
/// The fully qualified domain name.
pub const NODE_FQDN: Attribute = ("fqdn", &["fqdn"]);
/// The platform (`ubuntu`, `centos`, …).
pub const NODE_PLATFORM: Attribute = ("platform", &["platform"]);
/// The operating system (`linux`, …).
pub const NODE_OS: Attribute = ("os", &["os"]);
/// The operating system's version.
pub const NODE_OS_VERSION: Attribute = ("os_version", &["os_version"]);

/// A node row with the attributes of the `NODE_*` constants; each is empty when not requested
/// or not set on the node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChefNode {
    /// The node's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Ohai's `cloud` object; `None` on nodes outside a cloud.
    #[serde(default)]
    pub cloud: Option<ChefCloud>,
    /// The main IP address.
    #[serde(default)]
    pub ipaddress: Option<String>,
    /// Interface name → interface.
    #[serde(default, deserialize_with = "nullable")]
    pub interfaces: BTreeMap<String, ChefInterface>,
    /// Host name.
    #[serde(default)]
    pub machinename: Option<String>,
    /// Fully qualified domain name.
    #[serde(default)]
    pub fqdn: Option<String>,
    /// Platform.
    #[serde(default)]
    pub platform: Option<String>,
    /// Operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// Operating system version.
    #[serde(default)]
    pub os_version: Option<String>,
}

/// Ohai's `cloud` attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChefCloud {
    /// The primary public IPv4 address.
    #[serde(default)]
    pub public_ipv4: Option<String>,
    /// Every public address.
    #[serde(default, deserialize_with = "nullable")]
    pub public_ips: Vec<String>,
    /// `ec2`, `gce`, …
    #[serde(default)]
    pub provider: Option<String>,
}

/// One network interface of a node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChefInterface {
    /// Address (IPv4, IPv6 or MAC) → its family and details.
    #[serde(default, deserialize_with = "nullable")]
    pub addresses: BTreeMap<String, Value>,
}

/// Searches the Chef server's nodes with `query` (`*:*` for all) and returns one row per node
/// with the requested `attributes`, parsed into `T` ([`ChefNode`], or a map for raw rows).
pub fn chef_search_nodes<T: DeserializeOwned>(
    query: &str,
    attributes: &[Attribute],
) -> Result<Vec<T>, NetError> {
    let attributes = attributes_json(attributes);
    #[cfg(target_family = "wasm")]
    let rows = crate::bindings::chef::search_nodes(query, &attributes)
        .map_err(crate::net::error_from_wit)?;
    #[cfg(not(target_family = "wasm"))]
    let rows = canned_search(query, &attributes)?;
    serde_json::from_str(&rows).map_err(|err| {
        NetError::Transport(format!("the Chef search rows are not as expected: {err}"))
    })
}

/// The partial-search body: `{"<name>": ["path", "to", "attribute"], …}`.
fn attributes_json(attributes: &[Attribute]) -> String {
    let body: serde_json::Map<String, Value> = attributes
        .iter()
        .map(|(name, path)| ((*name).to_owned(), Value::from(path.to_vec())))
        .collect();
    Value::Object(body).to_string()
}

/// Canned answers for a native test run, given to [`crate::testing::Harness`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Canned {
    pub(crate) searches: HashMap<String, Result<String, NetError>>,
    pub(crate) denied: bool,
}

thread_local! {
    static CANNED: RefCell<Canned> = RefCell::new(Canned::default());
}

/// Installs the answers for one run (the harness clears them after it with the default).
pub(crate) fn install(canned: Canned) {
    CANNED.with(|c| *c.borrow_mut() = canned);
}

#[cfg(not(target_family = "wasm"))]
fn canned_search(query: &str, attributes: &str) -> Result<String, NetError> {
    CANNED.with(|c| {
        let c = c.borrow();
        if c.denied {
            return Err(NetError::Denied);
        }
        c.searches.get(query).cloned().unwrap_or_else(|| {
            Err(NetError::Transport(format!(
                "no canned answer for chef_search_nodes({query:?}, {attributes}) in the test: add it with Harness::chef"
            )))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_sent_as_partial_search_paths() {
        assert_eq!(
            attributes_json(&[NODE_NAME, NODE_CLOUD, NODE_INTERFACES]),
            r#"{"cloud":["cloud"],"interfaces":["network","interfaces"],"name":["name"]}"#
        );
    }

    #[test]
    fn rows_parse_into_nodes_with_missing_attributes_empty() {
        let mut canned = Canned::default();
        let rows = r#"[
            {"name": "web-1", "cloud": {"provider": "ec2", "public_ipv4": "54.1.2.3",
             "public_ips": ["54.1.2.3"], "local_ipv4": "10.0.0.1"},
             "interfaces": {"eth0": {"addresses": {"10.0.0.1": {"family": "inet"}}}}},
            {"name": "colo-1", "cloud": null, "ipaddress": "198.51.100.20", "interfaces": null}
        ]"#;
        canned.searches.insert("*:*".into(), Ok(rows.into()));
        install(canned);
        let nodes = chef_search_nodes::<ChefNode>("*:*", &[NODE_NAME, NODE_CLOUD]);
        install(Canned::default());
        let nodes = nodes.expect("rows parse");
        assert_eq!(
            nodes[0].cloud.as_ref().and_then(|c| c.provider.as_deref()),
            Some("ec2")
        );
        assert_eq!(nodes[0].interfaces["eth0"].addresses.len(), 1);
        assert_eq!(nodes[1].cloud, None);
        assert_eq!(nodes[1].ipaddress.as_deref(), Some("198.51.100.20"));
        assert!(nodes[1].interfaces.is_empty());
    }

    #[test]
    fn an_uncanned_search_says_what_to_can() {
        let err = chef_search_nodes::<ChefNode>("role:web", &[NODE_NAME]).expect_err("no answer");
        assert_eq!(
            err,
            NetError::Transport(
                r#"no canned answer for chef_search_nodes("role:web", {"name":["name"]}) in the test: add it with Harness::chef"#
                    .into()
            )
        );
    }
}
