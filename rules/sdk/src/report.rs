//! The instance report shared by the rules that alert about instances (ami, newtag,
//! missingtag, non_chef), written once so that every rule describes an instance the same way.
//!
//! A rule declares [`report_queries`] beside its own `view/instances;_expand`, builds one
//! [`ReportContext`] per evaluation with [`ReportContext::from_data`] (two hash maps, so
//! reporting N instances costs O(N)), and turns each instance it alerts about into an
//! [`InstanceReport`]. The JSON keeps the original reddalert's field names and shapes, so
//! dashboards built on its Elasticsearch documents keep working:
//!
//! ```json
//! {
//!   "instanceId": "i-0a1b2c3d4e5f60718",
//!   "tags": {"Name": "web-v042", "service_name": "web"},
//!   "keyName": "ops",
//!   "started": 1514764800000,
//!   "service_type": "web",
//!   "elbs": [
//!     {
//!       "DNSName": "web-frontend-1234567890.us-east-1.elb.amazonaws.com",
//!       "instances": ["i-0a1b2c3d4e5f60718", "i-0f0e0d0c0b0a09080"],
//!       "ports": [80, 443]
//!     }
//!   ],
//!   "open_ports": [[{"port": 443, "range": "0.0.0.0/0"}, {"port": 22, "range": "10.0.0.0/8"}]],
//!   "publicIpAddress": "54.12.34.56",
//!   "privateIpAddress": "10.0.1.23",
//!   "awsRegion": "us-east-1",
//!   "awsAccount": "123456789012"
//! }
//! ```
//!
//! `elbs` holds one [`ElbSummary`] per classic load balancer that lists the instance, ordered
//! by load balancer name. `open_ports` holds one list per security group of the instance, in
//! the instance's order, of one [`OpenPort`] per ingress permission and CIDR (a group missing
//! from EDDA gives an empty list).

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::models::{
    Instance, LOAD_BALANCERS_SELECTED, LoadBalancer, SECURITY_GROUPS_SELECTED, SecurityGroup, tag,
    tags_map,
};
use crate::types::{Data, Query};

#[cfg(test)]
mod tests;

/// Paths of the queries the report reads, besides the rule's own instances query.
pub const REPORT_QUERIES: [&str; 2] = [LOAD_BALANCERS_SELECTED, SECURITY_GROUPS_SELECTED];

/// Tag keys whose first present, non-empty value names an instance's service, in lookup order.
pub const SERVICE_TYPE_TAGS: [&str; 4] = [
    "service_name",
    "Name",
    "aws:cloudformation:stack-name",
    "aws:autoscaling:groupName",
];

/// The current-state queries of [`REPORT_QUERIES`], to declare after `Query::current(INSTANCES)`.
pub fn report_queries() -> Vec<Query> {
    REPORT_QUERIES
        .iter()
        .map(|path| Query::current(*path))
        .collect()
}

/// What an instance is: the first non-empty value among the [`SERVICE_TYPE_TAGS`], else its
/// AMI id. Empty values are skipped, as the original's `or` chain skipped them.
pub fn service_type(instance: &Instance) -> String {
    SERVICE_TYPE_TAGS
        .iter()
        .find_map(|key| tag(&instance.tags, key).filter(|value| !value.is_empty()))
        .unwrap_or(&instance.image_id)
        .to_owned()
}

/// The region of an availability zone: `us-east-1c` → `us-east-1`; `None` when nothing is left.
pub fn region_of(availability_zone: &str) -> Option<String> {
    let region = availability_zone.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    (!region.is_empty()).then(|| region.to_owned())
}

/// The account id of an ARN (its fifth `:`-separated field), when it has a non-empty one.
pub fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|account| !account.is_empty())
        .map(str::to_owned)
}

/// A load balancer that lists the instance, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElbSummary {
    /// The load balancer's DNS name (`null` when EDDA has none).
    #[serde(rename = "DNSName")]
    pub dns_name: Option<String>,
    /// Every instance id registered with it, in EDDA's order.
    pub instances: Vec<String>,
    /// The front-end port (`loadBalancerPort`) of each listener.
    pub ports: Vec<i64>,
}

/// One CIDR an ingress permission opens, with the permission's last port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenPort {
    /// The permission's `toPort`; `null` for protocol `-1` (all traffic).
    pub port: Option<i64>,
    /// An IPv4 or IPv6 CIDR.
    pub range: String,
}

/// The description of one instance that alerts carry as their details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceReport {
    /// `i-…`.
    #[serde(rename = "instanceId")]
    pub instance_id: String,
    /// Its tags as a key → value map.
    pub tags: BTreeMap<String, String>,
    /// Its SSH key pair name.
    #[serde(rename = "keyName")]
    pub key_name: Option<String>,
    /// Its launch time, epoch ms (0 when EDDA has none).
    pub started: u64,
    /// See [`service_type`].
    pub service_type: String,
    /// The load balancers that list it, by name.
    pub elbs: Vec<ElbSummary>,
    /// Per security group, the ports and CIDRs its ingress permissions open.
    pub open_ports: Vec<Vec<OpenPort>>,
    /// Public IPv4 address.
    #[serde(rename = "publicIpAddress")]
    pub public_ip_address: Option<String>,
    /// Private IPv4 address.
    #[serde(rename = "privateIpAddress")]
    pub private_ip_address: Option<String>,
    /// The region of its availability zone.
    #[serde(rename = "awsRegion")]
    pub aws_region: Option<String>,
    /// The account in its instance profile ARN.
    #[serde(rename = "awsAccount")]
    pub aws_account: Option<String>,
    /// Rule-specific fields serialised beside the others (non_chef adds Chef node data);
    /// empty unless a rule fills it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The load balancers and security groups of one evaluation, indexed for reporting.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    elbs: Vec<ElbSummary>,
    elbs_by_instance: HashMap<String, Vec<usize>>,
    ports_by_group: HashMap<String, Vec<OpenPort>>,
}

impl ReportContext {
    /// Indexes load balancers by the instances they list and groups by id.
    pub fn new(load_balancers: &[LoadBalancer], groups: &[SecurityGroup]) -> ReportContext {
        let mut sorted: Vec<&LoadBalancer> = load_balancers.iter().collect();
        sorted.sort_by(|a, b| a.load_balancer_name.cmp(&b.load_balancer_name));
        let mut elbs = Vec::with_capacity(sorted.len());
        let mut elbs_by_instance: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, lb) in sorted.into_iter().enumerate() {
            let instances: Vec<String> =
                lb.instances.iter().map(|i| i.instance_id.clone()).collect();
            for id in &instances {
                let indexes = elbs_by_instance.entry(id.clone()).or_default();
                // An id listed twice in one ELB still names that ELB once.
                if indexes.last() != Some(&index) {
                    indexes.push(index);
                }
            }
            let ports = lb
                .listener_descriptions
                .iter()
                .map(|d| d.listener.load_balancer_port);
            elbs.push(ElbSummary {
                dns_name: lb.dns_name.clone(),
                instances,
                ports: ports.collect(),
            });
        }
        let ports_by_group = groups
            .iter()
            .map(|group| {
                let ports = group.ip_permissions.iter().flat_map(|perm| {
                    perm.cidrs().into_iter().map(|range| OpenPort {
                        port: perm.to_port,
                        range,
                    })
                });
                (group.group_id.clone(), ports.collect())
            })
            .collect();
        ReportContext {
            elbs,
            elbs_by_instance,
            ports_by_group,
        }
    }

    /// Parses the bodies of [`REPORT_QUERIES`] (which the rule must declare) and indexes them.
    pub fn from_data(data: &Data) -> Result<ReportContext> {
        let load_balancers: Vec<LoadBalancer> = data.get(LOAD_BALANCERS_SELECTED)?;
        let groups: Vec<SecurityGroup> = data.get(SECURITY_GROUPS_SELECTED)?;
        Ok(ReportContext::new(&load_balancers, &groups))
    }

    /// The report of one instance.
    pub fn report(&self, instance: &Instance) -> InstanceReport {
        let elbs = self
            .elbs_by_instance
            .get(&instance.instance_id)
            .map(|indexes| indexes.iter().map(|&i| self.elbs[i].clone()).collect())
            .unwrap_or_default();
        let open_ports = instance
            .security_groups
            .iter()
            .map(|group| {
                self.ports_by_group
                    .get(&group.group_id)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let zone = instance
            .placement
            .as_ref()
            .and_then(|p| p.availability_zone.as_deref());
        let arn = instance
            .iam_instance_profile
            .as_ref()
            .and_then(|p| p.arn.as_deref());
        InstanceReport {
            instance_id: instance.instance_id.clone(),
            tags: tags_map(&instance.tags),
            key_name: instance.key_name.clone(),
            started: instance.launch_time.unwrap_or(0),
            service_type: service_type(instance),
            elbs,
            open_ports,
            public_ip_address: instance.public_ip_address.clone(),
            private_ip_address: instance.private_ip_address.clone(),
            aws_region: zone.and_then(region_of),
            aws_account: arn.and_then(account_of),
            extra: Map::new(),
        }
    }
}
