//! The secgroups config, read by the SDK into typed values: a port outside 0..=65535, a CIDR
//! that does not parse or a value of the wrong type fails the rule with the key's path,
//! because a whitelist entry that is silently dropped would turn into alerts nobody can
//! explain (or, worse, a port list that silently allows nothing).
//!
//! One exception (issue 10): a `whitelisted_ips` entry that is not a network is dropped with a
//! warning naming it. The original compared the entries as strings, so operators' configs
//! carry comment-like entries that it never matched; failing the rule on them would silence
//! every security-group alert, while dropping a whitelist entry can only add alerts.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use reddalert_rule_sdk::prelude::*;
use serde::de::{Deserializer, Error as _};
use serde::ser::Serializer;

/// A permission's port range with missing ports already read as −1 (from) and 65536 (to).
pub type Ports = (i64, i64);

/// `plugin.secgroups`; its `Default` is the original's shipped defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Single ports that may be open to the world.
    pub allowed_ports: BTreeSet<u16>,
    /// Protocols (`icmp`, `udp`, `-1`, …) that never alert.
    pub allowed_protocols: Vec<String>,
    /// Networks a CIDR may sit inside without alerting.
    #[serde(deserialize_with = "networks_or_warn")]
    pub whitelisted_ips: Vec<Network>,
    /// `"<groupId> (<groupName>)"` → port range → networks that entry accepts.
    pub whitelisted_entries: HashMap<String, HashMap<PortKey, Vec<Network>>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_ports: BTreeSet::new(),
            allowed_protocols: vec!["icmp".into()],
            whitelisted_ips: Vec::new(),
            whitelisted_entries: HashMap::new(),
        }
    }
}

impl Settings for Config {}

/// A CIDR network, or a bare address meaning one host, read and written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(pub IpNet);

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Network, D::Error> {
        let text = String::deserialize(deserializer)?;
        let net = parse_cidr(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not a CIDR network")))?;
        Ok(Network(net))
    }
}

/// `whitelisted_ips`: the entries that are networks; each other one is named in a warning and
/// left out (issue 10, see above).
fn networks_or_warn<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Network>, D::Error> {
    let entries = Vec::<Value>::deserialize(deserializer)?;
    let networks = entries.into_iter().filter_map(|entry| {
        let net = entry.as_str().and_then(parse_cidr).map(Network);
        if net.is_none() {
            log(
                Level::Warn,
                &format!(
                    "secgroups: whitelisted_ips: {entry} is not a CIDR network or an IP address: ignored"
                ),
            );
        }
        net
    });
    Ok(networks.collect())
}

/// Parses a CIDR as EC2 writes it; a bare address means that one host (`/32` or `/128`), as
/// the original read bare IPs in `whitelisted_ips`.
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok()
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// A key of a group's entry: `"<port>"` or `"<from>-<to>"` (ports −1..=65536, so that the keys
/// of ICMP and all-traffic permissions can be written). The original built the key from the
/// raw ports, so an all-traffic permission's key was `"None"`: still accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortKey(pub Ports);

impl Serialize for PortKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            (from, to) if from == to => serializer.collect_str(&from),
            (from, to) => serializer.collect_str(&format_args!("{from}-{to}")),
        }
    }
}

impl<'de> Deserialize<'de> for PortKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PortKey, D::Error> {
        let key = String::deserialize(deserializer)?;
        port_key(&key)
            .map(PortKey)
            .ok_or_else(|| D::Error::custom(format!("{key:?} is not a port or a port range")))
    }
}

fn port_key(key: &str) -> Option<Ports> {
    let bound = |s: &str| s.parse::<i64>().ok().filter(|p| (-1..=65536).contains(p));
    if key == "None" {
        return Some((-1, 65536));
    }
    if let Some(p) = bound(key) {
        return Some((p, p));
    }
    // The split is after the first character, so that a leading "-1" stays a number.
    let at = key.get(1..)?.find('-')? + 1;
    Some((bound(&key[..at])?, bound(&key[at + 1..])?))
}

#[cfg(test)]
mod tests {
    use super::port_key;

    #[test]
    fn port_keys() {
        assert_eq!(port_key("22"), Some((22, 22)));
        assert_eq!(port_key("8000-8100"), Some((8000, 8100)));
        assert_eq!(port_key("-1-65536"), Some((-1, 65536)));
        assert_eq!(port_key("8--1"), Some((8, -1)));
        assert_eq!(port_key("None"), Some((-1, 65536)));
        for bad in ["", "-", "22-", "-22-", "a-b", "70000", "1-2-3", "None-5"] {
            assert_eq!(port_key(bad), None, "{bad:?}");
        }
    }
}
