//! Typed serde models of the EDDA documents the stock rules read.
//!
//! EDDA serves AWS SDK for Java v1 beans: camelCase keys, a `class` key on every object, every
//! property present and `null` when unset, dates as epoch milliseconds and tags flattened
//! (`{"key": "Name", "value": "x", "Name": "x"}`). The models keep only the fields rules use,
//! accept `null` anywhere, and ignore the rest, which makes parsing several times faster than
//! going through `serde_json::Value`.

mod ec2;
mod elb;
mod iam;
mod route53;

pub use ec2::*;
pub use elb::*;
pub use iam::*;
pub use route53::*;

use serde::{Deserialize, Deserializer};

/// Collection paths of the stock rules' queries.
pub const INSTANCES: &str = "view/instances;_expand";
/// Security groups, expanded.
pub const SECURITY_GROUPS: &str = "aws/securityGroups;_expand";
/// Classic load balancers, expanded.
pub const LOAD_BALANCERS: &str = "aws/loadBalancers;_expand";
/// IAM user names (ids only).
pub const IAM_USERS: &str = "aws/iamUsers";
/// Route 53 record sets, expanded.
pub const HOSTED_RECORDS: &str = "aws/hostedRecords;_expand";

/// Deserialises `null` as the type's default (EDDA writes unset lists and maps as `null` in
/// places, and a rule should not care).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
