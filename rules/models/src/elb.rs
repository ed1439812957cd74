//! Classic load balancers: `aws.loadBalancers`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::nullable;

/// An `aws.loadBalancers` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The ELB's name (its EDDA id).
    pub load_balancer_name: String,
    /// Its DNS name.
    #[serde(rename = "DNSName", default)]
    pub dns_name: Option<String>,
    /// Its canonical hosted zone name.
    #[serde(default)]
    pub canonical_hosted_zone_name: Option<String>,
    /// Registered instances.
    #[serde(default, deserialize_with = "nullable")]
    pub instances: Vec<ElbInstance>,
    /// Listeners, kept as EDDA served them (alerts echo them).
    #[serde(default, deserialize_with = "nullable")]
    pub listener_descriptions: Vec<ListenerDescription>,
}

/// An instance registered with an ELB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElbInstance {
    /// `i-…`.
    pub instance_id: String,
}

/// A listener and its policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerDescription {
    /// The listener.
    pub listener: Listener,
    /// Policy names.
    #[serde(default, deserialize_with = "nullable")]
    pub policy_names: Vec<Value>,
}

/// A listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Front-end port.
    pub load_balancer_port: i64,
    /// Back-end port.
    #[serde(default)]
    pub instance_port: Option<i64>,
    /// Front-end protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Back-end protocol.
    #[serde(default)]
    pub instance_protocol: Option<String>,
    /// Certificate, for HTTPS/SSL listeners.
    #[serde(rename = "SSLCertificateId", default)]
    pub ssl_certificate_id: Option<String>,
}
