//! The newtag rule: alerts about a `service_name` tag value that only new instances carry, a
//! port of the original reddalert's `newtag` plugin.
//!
//! It reads the current `view/instances;_expand` and groups the instances by their
//! `service_name` tag value. A value all of whose instances launched at or after the window's
//! `since` is a service nobody had before: it gets one alert per instance, with the tag value
//! as id and the instance report as details. `testapp` is never reported, nor an empty value
//! (which the missingtag rule treats as no tag). Alerts are ordered by tag value, then launch
//! time, then instance id. The rule keeps no state and reads no config.
//!
//! Like the original, terminated instances count: EDDA's current view keeps them for about an
//! hour, so an old instance just terminated still marks its service as known, and a
//! short-lived new service is still reported. An instance without a `launchTime` counts as launched at 0
//! (long ago), so its group is not new. On a first run `since` is 0 and every value is new.

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::report::{ReportContext, report_queries};

/// The tag whose values name services.
pub const SERVICE_TAG: &str = "service_name";
/// A value that marks test instances, never reported.
pub const IGNORED_VALUE: &str = "testapp";

/// The rule.
pub struct NewTag;

impl Rule for NewTag {
    fn info() -> Info {
        Info {
            name: "newtag".into(),
            version: String::new(),
            description: "service_name tag values that only instances launched in the window carry"
                .into(),
            queries: [vec![Query::current(INSTANCES_SELECTED)], report_queries()].concat(),
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let since = input.window.since_ms;

        let mut by_value: BTreeMap<&str, Vec<(u64, &Instance)>> = BTreeMap::new();
        for instance in &instances {
            let Some(value) = tag(&instance.tags, SERVICE_TAG) else {
                continue;
            };
            if value.is_empty() || value == IGNORED_VALUE {
                continue;
            }
            let started = instance.launch_time.unwrap_or(0);
            by_value.entry(value).or_default().push((started, instance));
        }

        let context = ReportContext::from_data(&input.data)?;
        let mut out = Output::new();
        for (value, mut group) in by_value {
            if group.iter().any(|&(started, _)| started < since) {
                continue;
            }
            group.sort_by(|(a, x), (b, y)| (a, &x.instance_id).cmp(&(b, &y.instance_id)));
            for (_, instance) in group {
                out.alert(value, context.report(instance));
            }
        }
        Ok(out)
    }
}

reddalert_rule_sdk::register!(NewTag);

#[cfg(test)]
mod tests;
