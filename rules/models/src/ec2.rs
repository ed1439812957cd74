//! EC2 documents: `aws.securityGroups` and `view.instances`.

use std::collections::BTreeMap;

use rkyv::{Archive, Deserialize as RkyvDeserialize, Serialize as RkyvSerialize};
use serde::{Deserialize, Serialize};

use super::nullable;

/// A flattened EC2/ELB tag; only `key` and `value` are read.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value (`null` when unset).
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// Tags as a sorted map.
pub fn tags_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// The value of one tag, if present.
pub fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// An `aws.securityGroups` document.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    /// `sg-…`.
    pub group_id: String,
    /// Group name.
    #[serde(default, deserialize_with = "nullable")]
    pub group_name: String,
    /// The owning account id.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// The VPC, when in one.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Ingress rules.
    #[serde(default, deserialize_with = "nullable")]
    pub ip_permissions: Vec<IpPermission>,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<Tag>,
}

/// One ingress (or egress) permission.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    pub ip_protocol: String,
    /// First port; `null` for protocol `-1`.
    #[serde(default)]
    pub from_port: Option<i64>,
    /// Last port; `null` for protocol `-1`.
    #[serde(default)]
    pub to_port: Option<i64>,
    /// IPv4 CIDRs (the SDK's deprecated flat list).
    #[serde(default, deserialize_with = "nullable")]
    pub ip_ranges: Vec<String>,
    /// IPv4 CIDRs as objects (newer SDKs).
    #[serde(default, deserialize_with = "nullable")]
    pub ipv4_ranges: Vec<IpRange>,
    /// IPv6 CIDRs.
    #[serde(default, deserialize_with = "nullable")]
    pub ipv6_ranges: Vec<Ipv6Range>,
}

impl IpPermission {
    /// The IPv4 and IPv6 CIDRs this permission opens to, each once, in document order.
    pub fn cidrs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let v4 = self.ipv4_ranges.iter().filter_map(|r| r.cidr_ip.clone());
        let v6 = self.ipv6_ranges.iter().filter_map(|r| r.cidr_ipv6.clone());
        for cidr in self.ip_ranges.iter().cloned().chain(v4).chain(v6) {
            if !out.contains(&cidr) {
                out.push(cidr);
            }
        }
        out
    }
}

/// An IPv4 range.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct IpRange {
    /// The CIDR.
    #[serde(default)]
    pub cidr_ip: Option<String>,
}

/// An IPv6 range.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct Ipv6Range {
    /// The CIDR.
    #[serde(default)]
    pub cidr_ipv6: Option<String>,
}

/// A `view.instances` document.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// `i-…`.
    pub instance_id: String,
    /// The AMI it was launched from.
    #[serde(default, deserialize_with = "nullable")]
    pub image_id: String,
    /// The SSH key pair name.
    #[serde(default)]
    pub key_name: Option<String>,
    /// Launch time, epoch ms.
    #[serde(default)]
    pub launch_time: Option<u64>,
    /// `running`, `terminated`, …
    #[serde(default)]
    pub state: Option<InstanceState>,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<Tag>,
    /// Security groups.
    #[serde(default, deserialize_with = "nullable")]
    pub security_groups: Vec<GroupIdentifier>,
    /// Availability zone.
    #[serde(default)]
    pub placement: Option<Placement>,
    /// Instance profile (its ARN carries the account id).
    #[serde(default)]
    pub iam_instance_profile: Option<IamInstanceProfile>,
    /// Public IPv4 address.
    #[serde(default)]
    pub public_ip_address: Option<String>,
    /// Private IPv4 address.
    #[serde(default)]
    pub private_ip_address: Option<String>,
}

/// Instance state.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct InstanceState {
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// A security group reference on an instance.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct GroupIdentifier {
    /// `sg-…`.
    #[serde(default, deserialize_with = "nullable")]
    pub group_id: String,
    /// Group name.
    #[serde(default, deserialize_with = "nullable")]
    pub group_name: String,
}

/// Placement.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// `us-east-1c`.
    #[serde(default)]
    pub availability_zone: Option<String>,
}

/// Instance profile.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct IamInstanceProfile {
    /// `arn:aws:iam::<account>:instance-profile/<name>`.
    #[serde(default)]
    pub arn: Option<String>,
}

impl ArchivedTag {
    /// Tag key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Tag value (empty when unset).
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl ArchivedInstance {
    /// The value of one tag, if present (what [`tag`] is to the model).
    pub fn tag(&self, key: &str) -> Option<&str> {
        (self.tags.iter())
            .find(|t| t.key.as_str() == key)
            .map(|t| t.value.as_str())
    }

    /// Launch time, epoch ms.
    pub fn launch_time(&self) -> Option<u64> {
        self.launch_time.as_ref().map(|t| t.to_native())
    }

    /// The state's name (`running`, `terminated`, …), when known.
    pub fn state_name(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.name.as_str())
    }

    /// The owned model: what a rule reports or keeps of the few instances it picked.
    pub fn to_model(&self) -> Instance {
        owned(self)
    }
}

impl ArchivedSecurityGroup {
    /// The owned model.
    pub fn to_model(&self) -> SecurityGroup {
        owned(self)
    }
}

/// Deserialises an archived model. Nothing in these models can fail to (rancor's `Panic` is the
/// error type that cannot be made: a failure would panic inside rkyv instead).
fn owned<T, A>(archived: &A) -> T
where
    A: rkyv::Deserialize<T, rkyv::rancor::Strategy<rkyv::de::Pool, rkyv::rancor::Panic>>,
{
    match rkyv::deserialize::<T, rkyv::rancor::Panic>(archived) {
        Ok(model) => model,
        Err(never) => match never {},
    }
}
