//! Whether one ingress permission deserves an alert, exactly as the original decided it: the
//! protocol is not allowed, some CIDR lies outside every whitelisted network, and the ports
//! form a range or a single port that is not allowed; unless the group's whitelisted entry for
//! that port (range) lists every CIDR of the permission.

use reddalert_rule_sdk::prelude::*;

use crate::config::{Config, PortKey, Ports, parse_cidr};

/// The permission's ports, with a missing `fromPort` read as −1 and a missing `toPort` as
/// 65536 (protocol `-1` has neither), so that such a permission always counts as a range.
pub fn ports(perm: &IpPermission) -> Ports {
    (perm.from_port.unwrap_or(-1), perm.to_port.unwrap_or(65536))
}

/// Whether `perm` of the group `group_key` (`"<groupId> (<groupName>)"`), open to `cidrs`,
/// should be reported.
pub fn is_alerting(
    config: &Config,
    group_key: &str,
    perm: &IpPermission,
    cidrs: &[String],
) -> bool {
    !is_whitelisted_entry(config, group_key, perm, cidrs) && is_suspicious(config, perm, cidrs)
}

fn is_suspicious(config: &Config, perm: &IpPermission, cidrs: &[String]) -> bool {
    if config.allowed_protocols.contains(&perm.ip_protocol) {
        return false;
    }
    if !cidrs.iter().any(|cidr| !is_whitelisted_ip(config, cidr)) {
        return false;
    }
    let (from, to) = ports(perm);
    from != to || !u16::try_from(from).is_ok_and(|p| config.allowed_ports.contains(&p))
}

/// A CIDR that does not parse is not inside anything: it alerts rather than hides.
fn is_whitelisted_ip(config: &Config, cidr: &str) -> bool {
    parse_cidr(cidr).is_some_and(|net| config.whitelisted_ips.iter().any(|w| w.0.contains(&net)))
}

fn is_whitelisted_entry(
    config: &Config,
    group_key: &str,
    perm: &IpPermission,
    cidrs: &[String],
) -> bool {
    let Some(listed) = config
        .whitelisted_entries
        .get(group_key)
        .and_then(|e| e.get(&PortKey(ports(perm))))
    else {
        return false;
    };
    // An empty list whitelists nothing, as in the original.
    !listed.is_empty()
        && cidrs.iter().all(|cidr| {
            parse_cidr(cidr).is_some_and(|net| listed.iter().any(|l| l.0.trunc() == net.trunc()))
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A permission with no ranges, for the decision and probe tests.
    pub(crate) fn perm(protocol: &str, from: Option<i64>, to: Option<i64>) -> IpPermission {
        IpPermission {
            ip_protocol: protocol.into(),
            from_port: from,
            to_port: to,
            ip_ranges: vec![],
            ipv4_ranges: vec![],
            ipv6_ranges: vec![],
        }
    }

    fn config(section: Value) -> Config {
        reddalert_rule_sdk::serde_json::from_value(section).expect("valid test config")
    }

    #[test]
    fn missing_ports_read_as_the_widest_range() {
        assert_eq!(ports(&perm("-1", None, None)), (-1, 65536));
        assert_eq!(ports(&perm("tcp", Some(22), None)), (22, 65536));
    }

    #[test]
    fn single_allowed_port_does_not_alert_but_a_range_does() {
        let c = config(json!({"allowed_ports": [80, 81]}));
        let world = ["0.0.0.0/0".to_owned()];
        assert!(!is_suspicious(&c, &perm("tcp", Some(80), Some(80)), &world));
        assert!(is_suspicious(&c, &perm("tcp", Some(80), Some(81)), &world));
        assert!(is_suspicious(&c, &perm("tcp", Some(22), Some(22)), &world));
        assert!(is_suspicious(&c, &perm("tcp", None, Some(80)), &world));
    }

    #[test]
    fn no_cidr_means_nothing_is_open_to_the_outside() {
        let c = config(json!({}));
        assert!(!is_suspicious(&c, &perm("tcp", Some(22), Some(22)), &[]));
    }

    #[test]
    fn unparsable_cidr_counts_as_outside() {
        let c = config(json!({"whitelisted_ips": ["0.0.0.0/0"]}));
        assert!(is_suspicious(
            &c,
            &perm("tcp", Some(22), Some(22)),
            &["garbage".to_owned()]
        ));
    }

    #[test]
    fn entry_with_empty_list_whitelists_nothing() {
        let c = config(json!({"whitelisted_entries": {"sg-1 (a)": {"22": []}}}));
        let world = ["0.0.0.0/0".to_owned()];
        assert!(!is_whitelisted_entry(
            &c,
            "sg-1 (a)",
            &perm("tcp", Some(22), Some(22)),
            &world
        ));
    }
}
