//! Which Route 53 names point outside the account, as the original's `plugins/route53.py`
//! decided it. A record value is *unknown* when it is not a known IP address (an instance's
//! public IP, or a Chef node's for `route53unknown`), not a name under one of the
//! `legit_domains`, and not an `ec2-a-b-c-d…` name of a known IP. A record is *external*
//! when it is an `A` or `CNAME` record with an unknown value.
//!
//! Alias records count as the account's own: their targets are AWS resources, and the
//! original, which read only `resourceRecords` (empty for aliases), never found them external.
//! Other record types (MX, TXT, NS, SOA, AAAA) are not where a web name points; the original
//! looked at whichever record of a name EDDA listed last, ours at every `A` and `CNAME` record.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use reddalert_rule_sdk::prelude::*;

/// The record types a web name is resolved through.
pub const WEB_TYPES: [&str; 2] = ["A", "CNAME"];

/// The `zone`, `legit_domains` and `exception_domains` settings shared by the DNS rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Only records of this zone (`example.com.`) are read; `None` reads every zone.
    pub zone: Option<String>,
    /// Domains (normalised) whose names are ours wherever they point.
    pub legit_domains: Vec<String>,
    /// Names (normalised) never fetched by the HTTP rules.
    pub exception_domains: Vec<String>,
}

/// A DNS name without its trailing dot, in lower case: how names are compared.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A domain of `legit_domains` or `exception_domains` as the operator wrote it, read from the
/// config as text; an empty one (`""`, `"."`) would make every name legit, so it does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    /// The domain as names are compared: `.Example.com.` is `example.com`.
    pub fn normalized(&self) -> String {
        normalize(self.0.trim_start_matches('.'))
    }
}

impl Serialize for Domain {
    fn serialize<S: reddalert_rule_sdk::serde::Serializer>(
        &self,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: reddalert_rule_sdk::serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Domain, D::Error> {
        let domain = Domain(String::deserialize(deserializer)?);
        if domain.normalized().is_empty() {
            return Err(reddalert_rule_sdk::serde::de::Error::custom(format!(
                "{:?} is not a domain name",
                domain.0
            )));
        }
        Ok(domain)
    }
}

/// The `zone`, `legit_domains` and `exception_domains` settings as written: the whole config
/// of `route53changed` and `security_headers`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(crate = "reddalert_rule_sdk::serde", default)]
pub struct NameSettings {
    /// Only records of this hosted zone (`example.com.`); empty reads every zone.
    pub zone: String,
    /// Domains whose names are ours wherever they point.
    pub legit_domains: Vec<Domain>,
    /// Names the HTTP rules never fetch.
    pub exception_domains: Vec<Domain>,
}

impl Settings for NameSettings {}

impl NameSettings {
    /// The names these settings describe.
    pub fn names(&self) -> Names {
        Names::new(&self.zone, &self.legit_domains, &self.exception_domains)
    }
}

impl Names {
    /// The names of a rule's `zone` (empty: every zone), `legit_domains` and
    /// `exception_domains` settings.
    pub fn new(zone: &str, legit_domains: &[Domain], exception_domains: &[Domain]) -> Names {
        Names {
            zone: (!zone.is_empty()).then(|| normalize(zone)),
            legit_domains: legit_domains.iter().map(Domain::normalized).collect(),
            exception_domains: exception_domains.iter().map(Domain::normalized).collect(),
        }
    }

    /// Whether the record is in the configured zone (always, without one).
    pub fn in_zone(&self, record: &HostedRecord) -> bool {
        let zone = record.zone.as_ref().and_then(|z| z.name.as_deref());
        match &self.zone {
            None => true,
            Some(wanted) => zone.is_some_and(|z| normalize(z) == *wanted),
        }
    }

    /// Whether `value` is a legit domain or a name under one. Unlike the original's plain
    /// suffix test, `evil-example.com` is not under `example.com`.
    pub fn is_legit(&self, value: &str) -> bool {
        let value = normalize(value);
        self.legit_domains.iter().any(|d| {
            value == *d
                || value
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// Whether the HTTP rules leave this name alone.
    pub fn is_exception(&self, name: &str) -> bool {
        self.exception_domains.contains(&normalize(name))
    }
}

/// IP addresses known to belong to the account, as text.
#[derive(Debug, Clone, Default)]
pub struct KnownIps(HashSet<String>);

impl KnownIps {
    /// The public IPs of the instances.
    pub fn from_instances(instances: &[Instance]) -> KnownIps {
        let ips = instances.iter().filter_map(|i| i.public_ip_address.clone());
        KnownIps(ips.collect())
    }

    /// Adds more addresses.
    pub fn extend(&mut self, ips: impl IntoIterator<Item = String>) {
        self.0.extend(ips);
    }

    /// Whether the address is known.
    pub fn contains(&self, ip: &str) -> bool {
        self.0.contains(ip)
    }
}

/// The IPv4 address of an EC2 public DNS name (`ec2-54-12-34-56.compute-1.amazonaws.com`,
/// `ec2-54-12-34-56.eu-west-1.compute.amazonaws.com`): its first label read as four octets.
/// The original cut the text at `.compute` and so missed every region but us-east-1.
pub fn ec2_name_ip(value: &str) -> Option<String> {
    let label = value.split('.').next()?.to_ascii_lowercase();
    let octets: Vec<u8> = label
        .strip_prefix("ec2-")?
        .split('-')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d] = octets[..] else {
        return None;
    };
    Some(Ipv4Addr::new(a, b, c, d).to_string())
}

/// Whether a record value is an address that is not routable on the internet (private,
/// loopback, link-local, shared or unspecified). Names are not.
pub fn is_internal_ip(value: &str) -> bool {
    match value.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            let shared = ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64;
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || shared
        }
        Ok(IpAddr::V6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
        }
        Err(_) => false,
    }
}

/// Whether a record value points outside the account.
pub fn is_unknown(value: &str, known: &KnownIps, names: &Names) -> bool {
    if known.contains(value) || names.is_legit(value) {
        return false;
    }
    match ec2_name_ip(value) {
        Some(ip) => !known.contains(&ip),
        None => true,
    }
}

/// Whether the record is an `A` or `CNAME` record (not an alias) with an unknown value.
pub fn is_external(record: &HostedRecord, known: &KnownIps, names: &Names) -> bool {
    is_web_record(record)
        && record
            .resource_records
            .iter()
            .any(|r| is_unknown(&r.value, known, names))
}

/// Whether the record is an `A` or `CNAME` record that is not an alias.
pub fn is_web_record(record: &HostedRecord) -> bool {
    WEB_TYPES.contains(&record.record_type.as_str()) && record.alias_target.is_none()
}

/// Wildcard names (`\052.example.com.` as Route 53 spells `*`) cannot be fetched.
pub fn is_wildcard(name: &str) -> bool {
    name.starts_with("\\052") || name.starts_with('*')
}

/// The names the HTTP rules fetch: in the zone, external, not exceptions, not wildcards; each
/// with its external records, by name (as EDDA spells it, with the trailing dot).
pub fn external_names<'a>(
    records: &'a [HostedRecord],
    known: &KnownIps,
    names: &Names,
) -> BTreeMap<String, Vec<&'a HostedRecord>> {
    let mut out: BTreeMap<String, Vec<&HostedRecord>> = BTreeMap::new();
    for record in records {
        if names.in_zone(record)
            && is_external(record, known, names)
            && !names.is_exception(&record.name)
            && !is_wildcard(&record.name)
        {
            out.entry(record.name.clone()).or_default().push(record);
        }
    }
    out
}

/// The `http://` and `https://` URLs of a name, without its trailing dot, as the original
/// fetched them (and used them as alert ids and state keys).
pub fn urls(name: &str) -> [String; 2] {
    let host = name.trim_end_matches('.');
    [format!("http://{host}"), format!("https://{host}")]
}

/// A record as alerts describe it: `{"type": "CNAME", "values": ["…"]}`.
pub fn describe(record: &HostedRecord) -> Value {
    let values: Vec<&str> = record
        .resource_records
        .iter()
        .map(|r| r.value.as_str())
        .collect();
    json!({"type": record.record_type, "values": values})
}

#[cfg(test)]
mod tests;
