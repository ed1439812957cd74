//! The `elbs` rule: classic load balancers created or changed in the run's window with a
//! listener on a front-end port (`loadBalancerPort`) outside `allowed_ports`. One alert per
//! load balancer (id: its name) with its `canonicalHostedZoneName`, `numberOfInstances` and
//! `listenerDescriptions` echoed as EDDA served them; revisions of one load balancer with the
//! same details are reported once. Ported from Prezi's reddalert, which read the same query
//! and reported the same details.
//!
//! Config (`plugin.elbs`):
//! - `allowed_ports` (`[80, 443]`): front-end ports that may be open, 0..=65535. A listener
//!   whose port is missing or not a number alerts, since nothing says it is allowed.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use reddalert_rule_sdk::prelude::*;

/// The rule type registered with the host.
pub struct Elbs;

/// The part of an `aws.loadBalancers` document this rule reads. The listeners stay raw JSON
/// so that the alert shows them with every field EDDA has, not just the ones modelled.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Elb {
    load_balancer_name: String,
    #[serde(default)]
    canonical_hosted_zone_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    instances: Vec<Value>,
    #[serde(default, deserialize_with = "nullable")]
    listener_descriptions: Vec<Value>,
}

impl Elb {
    /// A listener whose port is missing or not a port alerts: nothing says it is allowed.
    fn is_suspicious(&self, allowed: &BTreeSet<u16>) -> bool {
        self.listener_descriptions.iter().any(|description| {
            let port = description
                .pointer("/listener/loadBalancerPort")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok());
            port.is_none_or(|port| !allowed.contains(&port))
        })
    }

    fn details(&self) -> Value {
        json!({
            "canonicalHostedZoneName": self.canonical_hosted_zone_name,
            "numberOfInstances": self.instances.len(),
            "listenerDescriptions": self.listener_descriptions,
        })
    }
}

/// `plugin.elbs`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    /// Front-end ports that may be open.
    allowed_ports: BTreeSet<u16>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_ports: [80, 443].into(),
        }
    }
}

impl Settings for Config {}

impl Rule for Elbs {
    fn info() -> Info {
        Info {
            name: "elbs".into(),
            version: String::new(),
            description: "changed load balancers listening on ports that are not allowed".into(),
            queries: vec![Query::updated(LOAD_BALANCERS)],
            capabilities: vec![],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let Config { allowed_ports } = input.config()?;
        let elbs: Vec<Elb> = input.data.get(LOAD_BALANCERS)?;
        // Keyed by name and rendered details: one alert per distinct revision, in a stable order.
        let mut alerts: BTreeMap<(String, String), Value> = BTreeMap::new();
        for elb in elbs.iter().filter(|elb| elb.is_suspicious(&allowed_ports)) {
            let details = elb.details();
            alerts.insert(
                (elb.load_balancer_name.clone(), details.to_string()),
                details,
            );
        }
        let mut out = Output::new();
        for ((id, _), details) in alerts {
            out.alert(id, details);
        }
        Ok(out)
    }
}

reddalert_rule_sdk::register!(Elbs);
