//! The host policy a rule's HTTP requests and TCP probes must pass. Targets are checked on the
//! name the rule gave *and* on every address that name resolves to, at connection time, so a
//! DNS name (or a redirect) cannot smuggle a request to loopback, a private network or the
//! cloud metadata address unless `allow_private` is granted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::capabilities::{HostPattern, HostPolicy, normalize};

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

impl HostPattern {
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
