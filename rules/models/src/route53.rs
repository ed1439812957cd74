//! Route 53 documents: `aws.hostedRecords`.

use rkyv::{Archive, Deserialize as RkyvDeserialize, Serialize as RkyvSerialize};
use serde::{Deserialize, Serialize};

use super::nullable;

/// An `aws.hostedRecords` document (a `ResourceRecordSet` plus its zone).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
#[serde(rename_all = "camelCase")]
pub struct HostedRecord {
    /// `www.example.com.`
    pub name: String,
    /// `A`, `CNAME`, …
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub record_type: String,
    /// Values.
    #[serde(default, deserialize_with = "nullable")]
    pub resource_records: Vec<ResourceRecord>,
    /// Alias target, for alias records.
    #[serde(default)]
    pub alias_target: Option<AliasTarget>,
    /// The zone the record belongs to.
    #[serde(default)]
    pub zone: Option<Zone>,
}

/// One value of a record set.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct ResourceRecord {
    /// An IP address or a name.
    pub value: String,
}

/// An alias target.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct AliasTarget {
    /// The target name.
    #[serde(rename = "DNSName", default)]
    pub dns_name: Option<String>,
}

/// The hosted zone of a record.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize,
)]
#[rkyv(derive(Debug))]
pub struct Zone {
    /// `/hostedzone/Z…`
    #[serde(default)]
    pub id: Option<String>,
    /// `example.com.`
    #[serde(default)]
    pub name: Option<String>,
}
