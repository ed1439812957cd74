//! The secgroups config, validated up front into typed values: a port outside 0..=65535, a
//! CIDR that does not parse or a value of the wrong type fails the rule with a message naming
//! the key and the value, because a whitelist entry that is silently dropped would turn into
//! alerts nobody can explain (or, worse, a port list that silently allows nothing).
//!
//! One exception (issue 10): a `whitelisted_ips` entry that is not a network is dropped with a
//! warning naming it. The original compared the entries as strings, so operators' configs
//! carry comment-like entries that it never matched; failing the rule on them would silence
//! every security-group alert, while dropping a whitelist entry can only add alerts.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ipnet::IpNet;
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json::Map;

/// A permission's port range with missing ports already read as −1 (from) and 65536 (to).
pub type Ports = (i64, i64);

/// The validated `plugin.secgroups` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Single ports that may be open to the world.
    pub allowed_ports: BTreeSet<i64>,
    /// Protocols (`icmp`, `udp`, `-1`, …) that never alert.
    pub allowed_protocols: Vec<String>,
    /// Networks a CIDR may sit inside without alerting.
    pub whitelisted_ips: Vec<IpNet>,
    /// `"<groupId> (<groupName>)"` → port range → networks (truncated) that entry accepts.
    pub whitelisted_entries: HashMap<String, HashMap<Ports, Vec<IpNet>>>,
}

/// The config keys and their defaults, as the original shipped them.
pub fn defaults() -> Value {
    json!({
        "allowed_ports": [],
        "allowed_protocols": ["icmp"],
        "whitelisted_ips": [],
        "whitelisted_entries": {},
    })
}

impl Config {
    /// Validates the merged config section.
    pub fn from_value(config: &Value) -> Result<Config> {
        let Value::Object(map) = config else {
            bail!("secgroups: the config is not a JSON object: {config}");
        };
        let defaults = defaults();
        for key in map.keys().filter(|k| defaults.get(k.as_str()).is_none()) {
            log(
                Level::Warn,
                &format!("secgroups: unknown config key {key:?} is ignored"),
            );
        }
        let get = |key: &str| {
            map.get(key)
                .or_else(|| defaults.get(key))
                .unwrap_or(&Value::Null)
        };
        let (whitelisted_ips, warnings) = whitelisted_ips(get("whitelisted_ips"))?;
        for warning in &warnings {
            log(Level::Warn, warning);
        }
        let mut whitelisted_entries = HashMap::new();
        for (group, ports) in object("whitelisted_entries", get("whitelisted_entries"))? {
            whitelisted_entries.insert(group.clone(), entry(group, ports)?);
        }
        Ok(Config {
            allowed_ports: list("allowed_ports", get("allowed_ports"))?
                .iter()
                .map(|v| port("allowed_ports", v))
                .collect::<Result<_>>()?,
            allowed_protocols: list("allowed_protocols", get("allowed_protocols"))?
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => bail!("secgroups: allowed_protocols: {other} is not a protocol name"),
                })
                .collect::<Result<_>>()?,
            whitelisted_ips,
            whitelisted_entries,
        })
    }
}

/// The networks of a `whitelisted_ips` list, and a warning naming each entry that is not one
/// (a CIDR, or a bare address meaning one host), which is left out.
pub fn whitelisted_ips(value: &Value) -> Result<(Vec<IpNet>, Vec<String>)> {
    let mut nets = Vec::new();
    let mut warnings = Vec::new();
    for entry in list("whitelisted_ips", value)? {
        match entry.as_str().and_then(parse_cidr) {
            Some(net) => nets.push(net),
            None => warnings.push(format!(
                "secgroups: whitelisted_ips: {entry} is not a CIDR network or an IP address: ignored"
            )),
        }
    }
    Ok((nets, warnings))
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

fn list<'a>(key: &str, value: &'a Value) -> Result<&'a Vec<Value>> {
    match value {
        Value::Array(items) => Ok(items),
        other => bail!("secgroups: {key}: expected a list, got {other}"),
    }
}

fn object<'a>(key: &str, value: &'a Value) -> Result<&'a Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => bail!("secgroups: {key}: expected an object, got {other}"),
    }
}

fn port(key: &str, value: &Value) -> Result<i64> {
    match value.as_i64() {
        Some(p) if (0..=65535).contains(&p) => Ok(p),
        _ => bail!("secgroups: {key}: {value} is not a port (0..=65535)"),
    }
}

fn cidr(key: &str, value: &Value) -> Result<IpNet> {
    match value.as_str().and_then(parse_cidr) {
        Some(net) => Ok(net),
        None => bail!("secgroups: {key}: {value} is not a CIDR network"),
    }
}

/// One group's entry: `"<port>"` or `"<from>-<to>"` (ports −1..=65536, so that the keys of
/// ICMP and all-traffic permissions can be written) → the CIDRs it accepts. The original built
/// the key from the raw ports, so an all-traffic permission's key was `"None"`: still accepted.
fn entry(group: &str, value: &Value) -> Result<HashMap<Ports, Vec<IpNet>>> {
    let key = format!("whitelisted_entries: {}", Value::String(group.to_owned()));
    let mut out = HashMap::new();
    for (range, cidrs) in object(&key, value)? {
        let Some(ports) = port_key(range) else {
            bail!("secgroups: {key}: {range:?} is not a port or a port range");
        };
        let key = format!("{key}: {range:?}");
        let nets = list(&key, cidrs)?
            .iter()
            .map(|v| cidr(&key, v).map(|net| net.trunc()))
            .collect::<Result<Vec<_>>>()?;
        out.insert(ports, nets);
    }
    Ok(out)
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
