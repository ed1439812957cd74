//! What an alert tells about a permission: the ports, protocol and CIDRs, the instances in
//! the group (so that someone can tell what is exposed), the region and the account. The
//! instances are indexed by group once per run: a scan of every instance per group would be
//! quadratic on accounts with thousands of each.

use std::collections::HashMap;

use reddalert_rule_sdk::prelude::*;

/// Instances by the id of each security group they are in, each list sorted by instance id.
pub struct Machines<'a> {
    by_group: HashMap<&'a str, Vec<&'a Instance>>,
}

impl<'a> Machines<'a> {
    /// Indexes `instances` by security group.
    pub fn index(instances: &'a [Instance]) -> Machines<'a> {
        let mut by_group: HashMap<&'a str, Vec<&'a Instance>> = HashMap::new();
        for instance in instances {
            for group in &instance.security_groups {
                let members = by_group.entry(group.group_id.as_str()).or_default();
                // An instance listing one group twice is still one machine.
                if !members
                    .iter()
                    .any(|m| m.instance_id == instance.instance_id)
                {
                    members.push(instance);
                }
            }
        }
        for members in by_group.values_mut() {
            members.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        }
        Machines { by_group }
    }

    /// The instances in the group, sorted by instance id.
    pub fn in_group(&self, group_id: &str) -> &[&'a Instance] {
        self.by_group.get(group_id).map_or(&[], Vec::as_slice)
    }
}

/// The part of the details shared by every permission of one group.
pub struct GroupContext {
    machines: Vec<String>,
    ip_addresses: Vec<String>,
    region: Option<String>,
    account: Option<String>,
}

impl GroupContext {
    /// Describes the group's machines once.
    pub fn new(group: &SecurityGroup, machines: &[&Instance]) -> GroupContext {
        // Empty strings count as missing, as the original's `public or private` did.
        let ip = |m: &Instance| {
            let present = |a: &Option<String>| a.clone().filter(|a| !a.is_empty());
            present(&m.public_ip_address).or_else(|| present(&m.private_ip_address))
        };
        GroupContext {
            machines: machines
                .iter()
                .map(|m| {
                    let tags: Vec<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
                    let ip = ip(m).unwrap_or_else(|| "none".to_owned());
                    format!("{} ({ip}): {}", m.instance_id, tags.join(","))
                })
                .collect(),
            ip_addresses: machines.iter().filter_map(|m| ip(m)).collect(),
            region: machines.iter().find_map(|m| region(m)),
            account: group.owner_id.clone(),
        }
    }

    /// The address port probes try: the first machine's public, else private, IP.
    pub fn probe_ip(&self) -> Option<&str> {
        self.ip_addresses.first().map(String::as_str)
    }

    /// The details of one alerting permission open to `cidrs`, with the outcome of its probe
    /// (see [`crate::probe`]). `ipRanges` lists its IPv4 and IPv6 CIDRs (the original, blind
    /// to IPv6, had only the IPv4 ones); a machine without an address shows `none` where the
    /// original printed Python's `None`.
    pub fn details(
        &self,
        perm: &IpPermission,
        cidrs: &[String],
        (port_open, note): (Option<bool>, Option<String>),
    ) -> Value {
        json!({
            "fromPort": perm.from_port,
            "toPort": perm.to_port,
            "ipProtocol": perm.ip_protocol,
            "ipRanges": cidrs,
            "machines": self.machines,
            "ipAddresses": self.ip_addresses,
            "port_open": port_open,
            "port_open_note": note,
            "awsRegion": self.region,
            "awsAccount": self.account,
        })
    }
}

/// The region of an instance: its availability zone without the trailing zone letters.
fn region(instance: &Instance) -> Option<String> {
    let zone = instance.placement.as_ref()?.availability_zone.as_deref()?;
    let region = zone.trim_end_matches(|c: char| c.is_ascii_lowercase());
    (!region.is_empty()).then(|| region.to_owned())
}
