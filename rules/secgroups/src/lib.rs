//! The `secgroups` rule: security groups changed in the run's window whose ingress rules open
//! ports to the outside. A permission alerts when its protocol is not in `allowed_protocols`,
//! one of its CIDRs (IPv4 or IPv6) is not inside any `whitelisted_ips` network, and its ports
//! are a range or a single port not in `allowed_ports` (missing ports count as −1 and 65536);
//! `whitelisted_entries["<groupId> (<groupName>)"]["<port>" or "<from>-<to>"]` silences a
//! permission whose every CIDR it lists. One alert per distinct permission, with the group's
//! instances, their addresses, region and account, and `port_open`: whether a TCP connect to
//! the group's first machine succeeds on one of the ports (through the host's `tcp-probe`
//! capability; `null` with a `port_open_note` when not probed, see [`probe`]). Ported from
//! Prezi's reddalert; unlike the
//! original it reads networks by containment (not string equality), looks at IPv6 ranges, and
//! keeps every permission of a group instead of the last one.
//!
//! Config (`plugin.secgroups`):
//! - `allowed_ports` (`[]`): single ports that may be open to the world, 0..=65535.
//! - `allowed_protocols` (`["icmp"]`): protocols that never alert (`-1` means all traffic).
//! - `whitelisted_ips` (`[]`): CIDR networks (a bare address means one host) whose subnets
//!   may be opened; an entry that is not one (the original's configs held comment-like
//!   strings, which its string comparison never matched) is ignored with a warning.
//! - `whitelisted_entries` (`{}`): per group, per port (range), the CIDRs that group may open;
//!   use `"-1-65536"` (or the original's `"None"`) for a permission without ports.

mod config;
mod decide;
mod details;
pub mod probe;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;

use crate::config::Config;
use crate::details::{GroupContext, Machines};
use crate::probe::Probes;

/// The rule type registered with the host.
pub struct Secgroups;

impl Rule for Secgroups {
    fn info() -> Info {
        Info {
            name: "secgroups".into(),
            version: String::new(),
            description: "changed security groups that open ports to the outside".into(),
            queries: vec![
                Query::updated(SECURITY_GROUPS),
                Query::current(INSTANCES_SELECTED),
            ],
            capabilities: vec![Capability::TcpProbe],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let config: Config = input.config()?;
        let groups: Vec<SecurityGroup> = input.data.get(SECURITY_GROUPS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let machines = Machines::index(&instances);
        let mut contexts: Vec<GroupContext> = Vec::new();
        let mut alerting = Vec::new();
        for group in &groups {
            let id = format!("{} ({})", group.group_id, group.group_name);
            let mut context = None;
            for perm in &group.ip_permissions {
                let cidrs = perm.cidrs();
                if !decide::is_alerting(&config, &id, perm, &cidrs) {
                    continue;
                }
                let index = *context.get_or_insert_with(|| {
                    contexts.push(GroupContext::new(group, machines.in_group(&group.group_id)));
                    contexts.len() - 1
                });
                let plan = probe::plan(perm, contexts[index].probe_ip());
                alerting.push((id.clone(), index, perm, cidrs, plan));
            }
        }
        // Every probe of the run in one batch, which the host runs concurrently.
        let probes = Probes::run(alerting.iter().map(|(.., plan)| plan));
        // Several revisions of one group in the window repeat its permissions: keyed by id and
        // rendered details, each distinct alert is kept once and the order is stable.
        let mut alerts: BTreeMap<(String, String), Value> = BTreeMap::new();
        for (id, index, perm, cidrs, plan) in alerting {
            let details = contexts[index].details(perm, &cidrs, probes.outcome(&plan));
            alerts.insert((id, details.to_string()), details);
        }
        let mut out = Output::new();
        for ((id, _), details) in alerts {
            out.alert(id, details);
        }
        Ok(out)
    }
}

reddalert_rule_sdk::register!(Secgroups);
