//! The `route53unknown` rule: Route 53 `A` and `CNAME` records that point at something the
//! account does not own, a port of the original reddalert's plugin of the same name.
//!
//! Known addresses are the instances' public IPs (`view/instances;_expand`) and every address
//! the Chef server knows for its nodes (Ohai's `cloud.public_ips` and the addresses of every
//! network interface), fetched through the host's `chef` capability. A record value alerts
//! when it is not a known IP, not an internal (private, loopback, link-local) address, not a
//! name under `legit_domains` and not the `ec2-a-b-c-d…` name of a known IP (see
//! [`reddalert_rule_util::dns`]). Each (record name, value) pair alerts once: the state
//! `{"known": ["<name>-<value>", …]}` (the original's shape) holds the pairs found on the last
//! run, so a pair that disappears and comes back alerts again. The alert id is the record name
//! and its details the value. Alerts are ordered by name, then value.
//!
//! Config (`plugin.route53unknown`):
//! - `zone` (`""`): read only the records of this hosted zone (`example.com.`); empty reads all.
//! - `legit_domains` (`[]`): domains whose names are ours wherever they point; an empty one
//!   (`""`, `"."`) is an error, as it would make every name legit.
//!
//! A key left out or `null` keeps its default; another key is warned about and ignored. The
//! original's Chef settings (`chef_server_url`, `client_key_file`, `client_name`) are the
//! host's now: it takes them out of this section.
//!
//! Without the `chef` capability the check is skipped (logged) and the state kept: with only
//! the instances' addresses every Chef-managed server outside EC2 would alert. A failing Chef
//! search fails the rule, which keeps its state for the next run.
//!
//! Differences from the original: it alerted on private IPs and never on public ones (its
//! `is_ip_private` test was inverted); legit domains matched any suffix (`evil-example.com`
//! under `example.com`); EC2 names outside us-east-1 were never recognised; of several record
//! sets with one name only the last was read. The zone filter is applied to the shared
//! `aws/hostedRecords;_expand` instead of a per-zone EDDA query.

use std::collections::BTreeSet;

use reddalert_rule_sdk::chef::{NODE_CLOUD, NODE_INTERFACES};
use reddalert_rule_sdk::prelude::*;
use reddalert_rule_util::dns::{
    Domain, KnownIps, Names, is_internal_ip, is_unknown, is_web_record,
};

#[cfg(test)]
mod tests;

/// The rule type registered with the host.
pub struct Route53Unknown;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// `"<record name>-<value>"` of every unknown value found on the last run.
    #[serde(default)]
    pub known: Vec<String>,
}

/// `plugin.route53unknown`; a key set to `null` keeps its default (the SDK's rule).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    /// The hosted zone whose records are read (`example.com.`); empty reads every zone.
    zone: String,
    /// Domains whose names are ours wherever they point.
    legit_domains: Vec<Domain>,
}

impl Settings for Config {}

impl Config {
    fn names(&self) -> Names {
        Names::new(&self.zone, &self.legit_domains, &[])
    }
}

const NAME: &str = "route53unknown";

impl Rule for Route53Unknown {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: String::new(),
            description:
                "Route 53 records pointing at addresses and names the account does not own".into(),
            queries: vec![
                Query::current(HOSTED_RECORDS),
                Query::current(INSTANCES_SELECTED),
            ],
            capabilities: vec![Capability::Chef],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let names = input.config::<Config>()?.names();
        let state: State = input
            .state()
            .context("route53unknown: the stored state is not {\"known\": [\"<name>-<value>\"]}")?;
        let records: Vec<HostedRecord> = input.data.get(HOSTED_RECORDS)?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;

        let nodes = match chef_search_nodes::<ChefNode>("*:*", &[NODE_CLOUD, NODE_INTERFACES]) {
            Ok(nodes) => nodes,
            Err(NetError::Denied) => {
                log(
                    Level::Warn,
                    "route53unknown: check skipped: the chef capability is not granted to this rule",
                );
                return Ok(Output::unchanged(&input));
            }
            Err(err) => bail!("route53unknown: the Chef node search failed: {err}"),
        };
        let mut known = KnownIps::from_instances(&instances);
        known.extend(nodes.into_iter().flat_map(node_addresses));

        let mut unknown: BTreeSet<(&str, &str)> = BTreeSet::new();
        for record in records
            .iter()
            .filter(|r| names.in_zone(r) && is_web_record(r))
        {
            for value in record.resource_records.iter().map(|r| r.value.as_str()) {
                if !is_internal_ip(value) && is_unknown(value, &known, &names) {
                    unknown.insert((record.name.as_str(), value));
                }
            }
        }

        let mut out = Output::new();
        let mut next = State::default();
        for (name, value) in unknown {
            let key = format!("{name}-{value}");
            if !state.known.contains(&key) {
                out.alert(name, value);
            }
            next.known.push(key);
        }
        out.with_state(next)
    }
}

/// Every address a Chef node has: its cloud public IPs and its interfaces' addresses.
fn node_addresses(node: ChefNode) -> Vec<String> {
    let cloud = node.cloud.unwrap_or_default();
    let interfaces = node.interfaces.into_values();
    let addresses = interfaces.flat_map(|i| i.addresses.into_keys());
    cloud
        .public_ips
        .into_iter()
        .chain(cloud.public_ipv4)
        .chain(addresses)
        .collect()
}

reddalert_rule_sdk::register!(Route53Unknown);
