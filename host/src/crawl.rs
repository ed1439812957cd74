//! `reddalert crawl`: reading an AWS account the way EDDA's crawler did and recording what
//! changed in the account's store. `command` is the cron job (accounts, lock, credentials,
//! recording, retention) and `metrics` what it tells monitoring; below it every AWS call the
//! crawl makes, each read to its last page (`ec2`, `elb`, `iam`, `route53`, through the `api`
//! trait the AWS client implements), and what is made of the answers: EDDA's documents,
//! converted from AWS's XML (`xml`) by tables cut from botocore's service models (`model`,
//! `document`). `account` reads every collection of an account, each all or nothing.

mod account;
mod api;
mod command;
mod document;
mod ec2;
mod elb;
mod iam;
mod metrics;
mod model;
mod route53;
#[cfg(test)]
mod tests;
mod xml;

use anyhow::{Result, bail};
use serde_json::Value;

pub(crate) use account::read_account;
pub(crate) use api::{Api, Service};
pub(crate) use command::run;

/// One resource as AWS described it now, as EDDA recorded it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resource {
    /// EDDA's id in its collection.
    pub id: String,
    /// When AWS says the resource was created (epoch ms), for the resources that say.
    pub ctime: Option<i64>,
    /// EDDA's document.
    pub data: Value,
}

/// The collections the crawl keeps: those the stock rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Collection {
    Instances,
    SecurityGroups,
    LoadBalancers,
    IamUsers,
    HostedZones,
    HostedRecords,
}

impl Collection {
    pub(crate) const ALL: [Collection; 6] = [
        Collection::Instances,
        Collection::SecurityGroups,
        Collection::LoadBalancers,
        Collection::IamUsers,
        Collection::HostedZones,
        Collection::HostedRecords,
    ];

    /// EDDA's root collection name.
    pub(crate) fn root(self) -> &'static str {
        match self {
            Collection::Instances => "view.instances",
            Collection::SecurityGroups => "aws.securityGroups",
            Collection::LoadBalancers => "aws.loadBalancers",
            Collection::IamUsers => "aws.iamUsers",
            Collection::HostedZones => "aws.hostedZones",
            Collection::HostedRecords => "aws.hostedRecords",
        }
    }

    /// Whether the collection is read per region (and kept per region as
    /// `<region>.<root>`), or once for the account (IAM and Route 53 are global).
    pub(crate) fn regional(self) -> bool {
        matches!(
            self,
            Collection::Instances | Collection::SecurityGroups | Collection::LoadBalancers
        )
    }
}

/// A document's string member that is its id.
fn id_of(data: &Value, key: &str) -> Result<String> {
    match data.get(key).and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => bail!("an answer without its {key}"),
    }
}

/// A document's time member (epoch ms), when it has one.
fn epoch_ms_of(data: &Value, key: &str) -> Option<i64> {
    data.get(key).and_then(Value::as_i64)
}
