//! What the operator granted one rule, and the host policy its HTTP requests and TCP probes
//! must pass. Targets are checked on the name the rule gave *and* on every address that name
//! resolves to, at connection time, so a DNS name (or a redirect) cannot smuggle a request to
//! loopback, a private network or the cloud metadata address unless `allow_private` is granted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Context as _, Result, bail};
use ipnet::IpNet;

use super::raw::RawGrant;
use crate::contract::Capability;

/// One rule's grant. The default grants nothing.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    pub http: bool,
    pub tcp_probe: bool,
    pub chef: bool,
    pub s3: bool,
    pub hosts: HostPolicy,
    /// Overrides the per-capability call limits of `[capabilities]` for this rule.
    pub max_calls: Option<u64>,
}

impl Grant {
    pub fn from_raw(raw: &RawGrant) -> Result<Grant> {
        let parse = |key: &str, patterns: &[String]| -> Result<Vec<HostPattern>> {
            patterns
                .iter()
                .map(|p| HostPattern::parse(p).with_context(|| format!("in `{key}`")))
                .collect()
        };
        Ok(Grant {
            http: raw.http,
            tcp_probe: raw.tcp_probe,
            chef: raw.chef,
            s3: raw.s3,
            hosts: HostPolicy {
                allow: parse("allow_hosts", &raw.allow_hosts)?,
                deny: parse("deny_hosts", &raw.deny_hosts)?,
                allow_private: raw.allow_private,
            },
            max_calls: raw.max_calls,
        })
    }

    /// Whether the operator granted `capability`. `edda` needs only the rule's declaration.
    pub fn allows(&self, capability: Capability) -> bool {
        match capability {
            Capability::Edda => true,
            Capability::Http => self.http,
            Capability::TcpProbe => self.tcp_probe,
            Capability::Chef => self.chef,
            Capability::S3 => self.s3,
        }
    }
}

/// Where HTTP requests and probes of one rule may go.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    pub allow: Vec<HostPattern>,
    pub deny: Vec<HostPattern>,
    pub allow_private: bool,
}

/// Why a target was refused; shown in the host's log, never to the rule (it gets `denied`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl HostPolicy {
    /// Checks `host` (as the rule wrote it) and the addresses it resolved to.
    pub fn check(&self, host: &str, addrs: &[IpAddr]) -> Result<(), Refusal> {
        let name = normalize(host);
        if let Some(p) = self.deny.iter().find(|p| p.matches(&name, addrs, false)) {
            return Err(Refusal(format!("{host} matches deny_hosts pattern {p}")));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|p| p.matches(&name, addrs, true)) {
            return Err(Refusal(format!("{host} matches no allow_hosts pattern")));
        }
        if !self.allow_private
            && let Some(ip) = addrs.iter().find(|ip| !is_public(**ip))
        {
            return Err(Refusal(format!(
                "{host} resolves to the non-public address {ip} (grant allow_private to permit it)"
            )));
        }
        Ok(())
    }
}

/// A host pattern of `allow_hosts` or `deny_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `example.com`: that name only.
    Name(String),
    /// `*.example.com`: names under it (not the name itself).
    Subdomains(String),
    /// `192.0.2.0/24`, `2001:db8::/32` or one address: the addresses a target resolves to.
    Net(IpNet),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern> {
        let t = text.trim();
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(HostPattern::Net(net));
        }
        if let Ok(ip) = t
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(HostPattern::Net(IpNet::from(ip)));
        }
        let (sub, name) = match t.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let name = normalize(name);
        let valid = !name.is_empty()
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !valid || t.contains('/') {
            bail!(
                "{text:?} is not a host pattern: use a name (example.com), a wildcard \
                 (*.example.com), an IP address or a CIDR (10.0.0.0/8)"
            );
        }
        Ok(if sub {
            HostPattern::Subdomains(name)
        } else {
            HostPattern::Name(name)
        })
    }

    /// For allow patterns a network must hold every address; for deny patterns, any.
    fn matches(&self, name: &str, addrs: &[IpAddr], all: bool) -> bool {
        match self {
            HostPattern::Name(n) => n == name,
            HostPattern::Subdomains(n) => name
                .strip_suffix(n.as_str())
                .is_some_and(|head| head.ends_with('.') && head.len() > 1),
            HostPattern::Net(net) if all => {
                !addrs.is_empty() && addrs.iter().all(|ip| net.contains(&canonical(*ip)))
            }
            HostPattern::Net(net) => addrs.iter().any(|ip| net.contains(&canonical(*ip))),
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostPattern::Name(n) => f.write_str(n),
            HostPattern::Subdomains(n) => write!(f, "*.{n}"),
            HostPattern::Net(net) => write!(f, "{net}"),
        }
    }
}

fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// IPv4 addresses written as IPv6 (`::ffff:127.0.0.1`) are judged as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// Whether an address is on the public internet: not private, loopback, link-local (which
/// holds the cloud metadata service), shared (CGNAT), multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    // NAT64 (64:ff9b::/96) carries an IPv4 address, judged as such.
    if ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let o = ip.octets();
        return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some())
}
