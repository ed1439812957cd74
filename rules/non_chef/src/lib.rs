//! The `non_chef` rule: instances with a public IP that no Chef node has, that is instances
//! nobody configures with Chef, a port of the original reddalert's plugin; plus a
//! `chef_managed` event for every host Chef does manage.
//!
//! It reads the current `view/instances;_expand` (and the instance report's load balancers
//! and security groups) and asks the Chef server, through the host's `chef` capability, for
//! every node's name, public address and platform (see [`hosts`]). An instance alerts when it
//! has a public IP that no node has, is not excluded, was launched inside the run's window
//! shifted back three hours (the time an instance has to register with Chef) and was never
//! reported before; the state `{"first_seen": {"<instance id>": <launch ms>}}` (the original's
//! shape) remembers it. The alert id is `<keyName or instance id>-<service_type>` and the
//! details the instance report.
//!
//! Excluded are instances of Elastic Beanstalk, CloudFormation, CloudBees and EMR (by their
//! tags), and those whose `service_name` tag, else `Name` tag, matches one of the
//! `excluded_instances` regexes (anchored at the start, as Python's `re.match`).
//!
//! `chef_managed` events: the original emitted them under a second plugin name so that other
//! tools could run conformity checks on each managed host. A rule here reports under its own
//! name, so they are `non_chef` alerts whose details carry `"event": "chef_managed"`: one per
//! not-excluded instance whose public IP a node has (the instance report plus the node's
//! `chef_node_name`, `hostname`, `fqdn`, `platform`, `operating_system`,
//! `operating_system_version`), and one per node outside EC2 (by the IP no instance has and
//! a provider other than `ec2`), with id the node name. They go to the outputs, where such
//! tools read them; the state would hide them. `chef_managed_events: false` turns them off.
//! Alerts come first by instance id, then events by instance id, then events by node address.
//!
//! Config (`plugin.non_chef`):
//! - `excluded_instances` (`[]`): regexes of service names never reported.
//! - `chef_managed_events` (`true`): emit the `chef_managed` events.
//!
//! A key left out or `null` keeps its default; another key is warned about and ignored. The
//! original's Chef settings (`chef_server_url`, `client_key_file`, `client_name`) are the
//! host's now: it takes them out of this section.
//!
//! Without the `chef` capability, or when the Chef server lists no usable node, the check is
//! skipped (logged) and the state kept: every instance would otherwise look unmanaged. A
//! failing Chef search fails the rule. Differences from the original: an instance without a
//! key pair gets its instance id in the alert id (the original wrote `None`); a node without
//! a name gets its address as the event id; malformed node addresses are skipped instead of
//! crashing the run.

pub mod hosts;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::report::{ReportContext, report_queries};
use reddalert_rule_util::pattern::Pattern;

/// The rule type registered with the host.
pub struct NonChef;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Instance id → launch time, epoch ms, of every instance reported.
    #[serde(default)]
    pub first_seen: BTreeMap<String, u64>,
}

/// `plugin.non_chef`; a key set to `null` keeps its default (the SDK's rule).
#[derive(Debug, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    /// Service names never reported.
    excluded_instances: Vec<Pattern>,
    /// Emit the `chef_managed` events.
    chef_managed_events: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            excluded_instances: Vec::new(),
            chef_managed_events: true,
        }
    }
}

impl Settings for Config {}

const NAME: &str = "non_chef";
/// The time an instance has to register with Chef.
const CHEF_DELAY_MS: i64 = 3 * 60 * 60 * 1000;
/// Tags of instances that Chef does not manage by design.
const UNMANAGED_TAGS: [&str; 4] = [
    "elasticbeanstalk:environment-name",
    "aws:cloudformation:stack-name",
    "cloudbees:pse:type",
    "aws:elasticmapreduce:instance-group-role",
];

impl Rule for NonChef {
    fn info() -> Info {
        Info {
            name: NAME.into(),
            version: String::new(),
            description: "public instances that no Chef node manages".into(),
            queries: [vec![Query::current(INSTANCES_SELECTED)], report_queries()].concat(),
            capabilities: vec![Capability::Chef],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let Config {
            excluded_instances: excluded,
            chef_managed_events: events,
        } = input.config()?;
        let mut state: State = input
            .state()
            .context("non_chef: the stored state is not {\"first_seen\": {\"i-…\": ms}}")?;
        let mut instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        let context = ReportContext::from_data(&input.data)?;

        let unchanged = Output::unchanged(&input);
        let chef_hosts = match chef_search_nodes::<ChefNode>("*:*", &hosts::ATTRIBUTES) {
            Ok(nodes) => hosts::by_public_ip(nodes),
            Err(NetError::Denied) => {
                log(
                    Level::Warn,
                    "non_chef: check skipped: the chef capability is not granted to this rule",
                );
                return Ok(unchanged);
            }
            Err(err) => bail!("non_chef: the Chef node search failed: {err}"),
        };
        if chef_hosts.is_empty() {
            log(
                Level::Warn,
                "non_chef: check skipped: no Chef node has a public address",
            );
            return Ok(unchanged);
        }

        let since = i64::try_from(input.window.since_ms)? - CHEF_DELAY_MS;
        let until = i64::try_from(input.window.until_ms)? - CHEF_DELAY_MS;
        let mut out = Output::new();
        let mut managed = Vec::new();
        for instance in &instances {
            let Some(ip) = public_ip(instance) else {
                continue;
            };
            if is_excluded(instance, &excluded) {
                continue;
            }
            let mut report = context.report(instance);
            let id = format!(
                "{}-{}",
                report
                    .key_name
                    .clone()
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| instance.instance_id.clone()),
                report.service_type
            );
            match chef_hosts.get(ip) {
                None => {
                    let started = i64::try_from(report.started)?;
                    let new = !state.first_seen.contains_key(&instance.instance_id);
                    if new && (since..=until).contains(&started) {
                        state
                            .first_seen
                            .insert(instance.instance_id.clone(), report.started);
                        out.alert(id, report);
                    }
                }
                Some(node) => {
                    report.extra = hosts::describe(node);
                    report.extra.insert("event".into(), json!("chef_managed"));
                    managed.push(Alert::new(id, report));
                }
            }
        }
        let ec2_ips: BTreeSet<&str> = instances.iter().filter_map(public_ip).collect();
        for (ip, node) in &chef_hosts {
            if !ec2_ips.contains(ip.as_str()) && !hosts::is_ec2(node) {
                let mut details = hosts::describe(node);
                details.insert("publicIpAddress".into(), json!(ip));
                details.insert("event".into(), json!("chef_managed"));
                managed.push(Alert::new(
                    node.name.clone().unwrap_or_else(|| ip.clone()),
                    details,
                ));
            }
        }
        if events {
            out.alerts.extend(managed);
        }
        out.with_state(state)
    }
}

/// The instance's public IP, when it has one (the original also skipped the text `null`).
fn public_ip(instance: &Instance) -> Option<&str> {
    let ip = instance.public_ip_address.as_deref()?;
    (!ip.is_empty() && ip != "null").then_some(ip)
}

fn is_excluded(instance: &Instance, excluded: &[Pattern]) -> bool {
    if UNMANAGED_TAGS
        .iter()
        .any(|key| tag(&instance.tags, key).is_some())
    {
        return true;
    }
    let service = [
        tag(&instance.tags, "service_name"),
        tag(&instance.tags, "Name"),
    ]
    .into_iter()
    .flatten()
    .find(|name| !name.is_empty());
    service.is_some_and(|name| excluded.iter().any(|re| re.is_match(name)))
}

reddalert_rule_sdk::register!(NonChef);
