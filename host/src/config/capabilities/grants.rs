//! What the operator granted one rule (`[grant.<rule>]`): the capabilities beyond EDDA, the
//! hosts its HTTP requests and TCP probes may reach, and a call limit. The checks made with
//! them at connection time live with the clients (`crate::capabilities`).

use anyhow::{Context as _, Result, bail};
use ipnet::IpNet;
use std::net::IpAddr;

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

/// A host name as patterns and checks compare it: no brackets, no trailing dot, lowercase.
pub(crate) fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}
