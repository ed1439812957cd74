//! Netflix EDDA's read API over stored revisions, for every part of reddalert that answers
//! EDDA queries without EDDA: the run reading a SQLite store (`edda = "store:PATH"`),
//! `reddalert serve-edda`, and the test kit's fake EDDA server. One engine serves them all, so
//! a rule cannot tell whether its answer came from EDDA, the store or the fake; the engine is
//! therefore tested against EDDA's documented answers (`shared/reference/edda-api.md`), never
//! against itself.
//!
//! A request is answered as EDDA's `CollectionResource` does ([`route`]): EDDA's regexes split
//! the raw path, matrix arguments become EDDA's query ([`query`]), which runs over the
//! revisions a [`Source`] gives ([`source`]: the in-memory [`Store`], or
//! [`sqlite::AsOf`]), with EDDA's two matching engines ([`matcher`]); documents come back
//! through field selectors ([`selector`], [`selection`], [`projection`]), `_meta`, `_pp` and
//! `_diff`, written with sorted keys ([`json`]), which is also the canonical text the store
//! keeps and compares.

mod args;
mod diff;
pub mod json;
mod matcher;
mod memory;
pub mod projection;
mod query;
mod render;
pub mod route;
mod selection;
mod selector;
pub mod source;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_query;
#[cfg(test)]
mod tests_render;

pub use memory::{Revision, Store};
pub use route::{Reply, answer, handle};
pub use source::{Doc, Filter, Source, SourceError, Stored};

/// The 36 root collections EDDA registers (reference §1.3); anything else is a 400.
pub const ROOT_COLLECTIONS: [&str; 36] = [
    "aws.addresses",
    "aws.autoScalingGroups",
    "aws.scalingPolicies",
    "aws.alarms",
    "aws.images",
    "aws.loadBalancers",
    "view.loadBalancerInstances",
    "aws.launchConfigurations",
    "aws.instances",
    "view.instances",
    "aws.securityGroups",
    "aws.snapshots",
    "aws.tags",
    "aws.volumes",
    "aws.buckets",
    "aws.iamUsers",
    "aws.iamGroups",
    "aws.iamRoles",
    "aws.iamPolicies",
    "aws.iamVirtualMFADevices",
    "view.simpleQueues",
    "aws.reservedInstances",
    "group.autoScalingGroups",
    "aws.hostedZones",
    "aws.hostedRecords",
    "aws.databases",
    "aws.databaseSubnets",
    "aws.cacheClusters",
    "aws.subnets",
    "aws.stacks",
    "aws.scalingActivities",
    "aws.scheduledActions",
    "aws.vpcs",
    "aws.reservedInstancesOfferings",
    "aws.loadBalancersV2",
    "aws.targetGroups",
];

/// For `<account>.<root>` the root name, else `None`.
pub fn account_root(name: &str) -> Option<&'static str> {
    ROOT_COLLECTIONS.iter().copied().find(|root| {
        name.len() > root.len() + 1
            && name.ends_with(root)
            && name.as_bytes()[name.len() - root.len() - 1] == b'.'
    })
}
