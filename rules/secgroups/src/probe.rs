//! The `port_open` part of an alert: whether the exposed port answers. As in the original, the
//! first machine of the group (by instance id, here the first with an address) is tried on
//! its public, else private, IP, on every port of a TCP permission spanning at most 21 ports
//! (`toPort − fromPort ≤ 20`); `port_open` is true when one connects. Through the host's
//! `tcp-probe` capability, in one concurrent batch for the whole run. When nothing is probed
//! `port_open` is `null` and `port_open_note` says why.

use std::collections::{BTreeSet, HashMap};

use reddalert_rule_sdk::prelude::*;

/// No instance of the group has an address to try.
pub const NO_MACHINE: &str = "not probed: no instance in the group has an IP address";
/// All traffic, or a range wider than the original probed.
pub const WIDE: &str = "not probed: the permission spans more than 21 ports";
/// UDP, ICMP and other protocols cannot be probed with a TCP connect.
pub const NOT_TCP: &str = "not probed: only TCP ports are probed";
/// The host refused: `tcp-probe` is not granted, or its policy does not allow the address
/// (instance addresses are often private: the grant needs `allow_private`).
pub const DENIED: &str =
    "not probed: the host refused (tcp-probe not granted to this rule, or the address not allowed)";

/// What to probe for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing, for this reason.
    Skip(&'static str),
    /// These ports of this address.
    Ports(String, Vec<u16>),
}

/// The plan for a permission whose group's first address is `ip`.
pub fn plan(perm: &IpPermission, ip: Option<&str>) -> Plan {
    let Some(ip) = ip else {
        return Plan::Skip(NO_MACHINE);
    };
    let (from, to) = match (perm.from_port, perm.to_port) {
        (Some(from), Some(to)) if perm.ip_protocol != "-1" => (from, to),
        _ => return Plan::Skip(WIDE),
    };
    if !matches!(perm.ip_protocol.as_str(), "tcp" | "6") {
        return Plan::Skip(NOT_TCP);
    }
    if !(0..=65535).contains(&from) || !(from..=65535).contains(&to) || to - from > 20 {
        return Plan::Skip(WIDE);
    }
    // Nothing listens on port 0: it is never tried.
    let ports = (from.max(1)..=to).filter_map(|p| u16::try_from(p).ok());
    Plan::Ports(ip.to_owned(), ports.collect())
}

/// The answers of one batch of probes.
#[derive(Debug, Default)]
pub struct Probes(HashMap<(String, u16), Result<bool, NetError>>);

impl Probes {
    /// Probes every (address, port) of the plans at once.
    pub fn run<'a>(plans: impl IntoIterator<Item = &'a Plan>) -> Probes {
        let targets: BTreeSet<(String, u16)> = plans
            .into_iter()
            .flat_map(|plan| match plan {
                Plan::Ports(ip, ports) => ports.iter().map(|p| (ip.clone(), *p)).collect(),
                Plan::Skip(_) => Vec::new(),
            })
            .collect();
        if targets.is_empty() {
            return Probes::default();
        }
        let targets: Vec<(String, u16)> = targets.into_iter().collect();
        let results = tcp_probe_many(&targets);
        let denied = results
            .iter()
            .filter(|r| matches!(r, Err(NetError::Denied)))
            .count();
        if denied > 0 {
            log(
                Level::Warn,
                &format!(
                    "secgroups: the host refused {denied} of {} port probes (tcp-probe not granted, or the address not allowed)",
                    results.len()
                ),
            );
        }
        Probes(targets.into_iter().zip(results).collect())
    }

    /// `(port_open, port_open_note)` for a plan.
    pub fn outcome(&self, plan: &Plan) -> (Option<bool>, Option<String>) {
        let (ip, ports) = match plan {
            Plan::Skip(note) => return (None, Some((*note).to_owned())),
            Plan::Ports(ip, ports) => (ip, ports),
        };
        let answers: Vec<&Result<bool, NetError>> = ports
            .iter()
            .filter_map(|p| self.0.get(&(ip.clone(), *p)))
            .collect();
        if answers.iter().any(|a| matches!(a, Ok(true))) {
            return (Some(true), None);
        }
        match answers.iter().find_map(|a| a.as_ref().err()) {
            Some(NetError::Denied) => (None, Some(DENIED.to_owned())),
            Some(err) => (None, Some(format!("not probed: {err}"))),
            None => (Some(false), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::tests::perm;

    #[test]
    fn plans_follow_machine_protocol_and_width() {
        let ip = Some("54.12.34.56");
        let ports = |ports: Vec<u16>| Plan::Ports("54.12.34.56".into(), ports);
        assert_eq!(
            plan(&perm("tcp", Some(22), Some(22)), None),
            Plan::Skip(NO_MACHINE)
        );
        assert_eq!(plan(&perm("tcp", Some(22), Some(22)), ip), ports(vec![22]));
        assert_eq!(
            plan(&perm("6", Some(80), Some(81)), ip),
            ports(vec![80, 81])
        );
        assert_eq!(
            plan(&perm("tcp", Some(8000), Some(8020)), ip),
            ports((8000..=8020).collect())
        );
        assert_eq!(
            plan(&perm("tcp", Some(8000), Some(8021)), ip),
            Plan::Skip(WIDE)
        );
        assert_eq!(plan(&perm("tcp", Some(0), Some(2)), ip), ports(vec![1, 2]));
        assert_eq!(plan(&perm("-1", None, None), ip), Plan::Skip(WIDE));
        assert_eq!(plan(&perm("tcp", Some(22), None), ip), Plan::Skip(WIDE));
        assert_eq!(plan(&perm("tcp", Some(30), Some(20)), ip), Plan::Skip(WIDE));
        assert_eq!(
            plan(&perm("udp", Some(53), Some(53)), ip),
            Plan::Skip(NOT_TCP)
        );
        assert_eq!(
            plan(&perm("icmp", Some(8), Some(-1)), ip),
            Plan::Skip(NOT_TCP)
        );
    }

    #[test]
    fn outcomes_prefer_an_open_port_then_an_error() {
        let answers = |list: Vec<(u16, Result<bool, NetError>)>| {
            Probes(
                list.into_iter()
                    .map(|(p, r)| (("h".to_owned(), p), r))
                    .collect(),
            )
        };
        let plan = Plan::Ports("h".into(), vec![1, 2]);
        let probes = answers(vec![(1, Err(NetError::Timeout)), (2, Ok(true))]);
        assert_eq!(probes.outcome(&plan), (Some(true), None));
        let probes = answers(vec![(1, Ok(false)), (2, Ok(false))]);
        assert_eq!(probes.outcome(&plan), (Some(false), None));
        let probes = answers(vec![(1, Ok(false)), (2, Err(NetError::Timeout))]);
        assert_eq!(
            probes.outcome(&plan),
            (None, Some("not probed: timed out".into()))
        );
        let probes = answers(vec![(1, Err(NetError::Denied)), (2, Err(NetError::Denied))]);
        assert_eq!(probes.outcome(&plan), (None, Some(DENIED.into())));
        assert_eq!(
            Probes::default().outcome(&Plan::Skip(NOT_TCP)),
            (None, Some(NOT_TCP.into()))
        );
    }
}
