//! The Chef side of the check: which public address each Chef node answers on, and what an
//! event about a Chef-managed host says about its node.
//!
//! A node's address is Ohai's `cloud.public_ipv4` when set (and not empty), else its
//! `ipaddress`, as the original's last version read it (its partial search asked for both):
//! a cloud node without a public IPv4 is still matched by its main address. Nodes without
//! either, or with an internal address (a private network, loopback…) or text that is not an
//! address, are left out: they cannot be matched with an instance's public IP. When two nodes
//! share an address the later one wins.

use std::collections::BTreeMap;
use std::net::IpAddr;

use reddalert_rule_sdk::chef::{
    Attribute, NODE_CLOUD, NODE_FQDN, NODE_IPADDRESS, NODE_MACHINENAME, NODE_NAME, NODE_OS,
    NODE_OS_VERSION, NODE_PLATFORM,
};
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json::Map;
use reddalert_rule_util::dns::is_internal_ip;

/// The node attributes the rule asks the Chef server for.
pub const ATTRIBUTES: [Attribute; 8] = [
    NODE_NAME,
    NODE_CLOUD,
    NODE_IPADDRESS,
    NODE_MACHINENAME,
    NODE_FQDN,
    NODE_PLATFORM,
    NODE_OS,
    NODE_OS_VERSION,
];

/// The address a node is matched on, if it has a usable public one.
pub fn public_ip(node: &ChefNode) -> Option<&str> {
    let cloud_ip = node.cloud.as_ref().and_then(|c| set(&c.public_ipv4));
    let ip = cloud_ip.or_else(|| set(&node.ipaddress))?;
    (ip.parse::<IpAddr>().is_ok() && !is_internal_ip(ip)).then_some(ip)
}

/// A set attribute: present and not empty, as the original's Python truth test read it.
fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Nodes by their public address.
pub fn by_public_ip(nodes: Vec<ChefNode>) -> BTreeMap<String, ChefNode> {
    let mut hosts = BTreeMap::new();
    for node in nodes {
        if let Some(ip) = public_ip(&node) {
            hosts.insert(ip.to_owned(), node);
        }
    }
    hosts
}

/// Whether Ohai says the node is an EC2 instance.
pub fn is_ec2(node: &ChefNode) -> bool {
    node.cloud.as_ref().and_then(|c| c.provider.as_deref()) == Some("ec2")
}

/// The node's fields in a `chef_managed` event, under the original's names.
pub fn describe(node: &ChefNode) -> Map<String, Value> {
    let mut map = Map::new();
    let fields = [
        ("chef_node_name", &node.name),
        ("hostname", &node.machinename),
        ("fqdn", &node.fqdn),
        ("platform", &node.platform),
        ("operating_system", &node.os),
        ("operating_system_version", &node.os_version),
    ];
    for (key, value) in fields {
        map.insert(key.to_owned(), json!(value));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use reddalert_rule_sdk::chef::ChefCloud;

    fn node(cloud: Option<Option<&str>>, ipaddress: Option<&str>) -> ChefNode {
        ChefNode {
            cloud: cloud.map(|ip| ChefCloud {
                public_ipv4: ip.map(str::to_owned),
                ..ChefCloud::default()
            }),
            ipaddress: ipaddress.map(str::to_owned),
            ..ChefNode::default()
        }
    }

    #[test]
    fn nodes_match_on_their_public_ipv4_else_on_their_ipaddress() {
        assert_eq!(
            public_ip(&node(Some(Some("54.1.2.3")), Some("10.0.0.1"))),
            Some("54.1.2.3")
        );
        assert_eq!(
            public_ip(&node(Some(None), Some("54.1.2.3"))),
            Some("54.1.2.3")
        );
        assert_eq!(
            public_ip(&node(Some(Some("")), Some("54.1.2.3"))),
            Some("54.1.2.3")
        );
        assert_eq!(public_ip(&node(Some(None), Some("10.0.0.1"))), None);
        assert_eq!(
            public_ip(&node(None, Some("198.51.100.20"))),
            Some("198.51.100.20")
        );
    }

    #[test]
    fn internal_and_malformed_addresses_are_left_out() {
        assert_eq!(public_ip(&node(None, Some("10.0.0.5"))), None);
        assert_eq!(public_ip(&node(None, Some("not-an-ip"))), None);
        assert_eq!(public_ip(&node(None, None)), None);
    }
}
