//! The missingtag rule: alerts about instances launched without a `service_name` tag, a port
//! of the original reddalert's `missingtag` plugin.
//!
//! It reads the current `view/instances;_expand` (the selected fields), as an archive of the
//! typed models read in place (interface 0.2.0). An instance launched strictly after the
//! window's `since` (the original's `>`, where ami and newtag use `>=`) with no
//! `service_name` tag, or an empty one, gets one alert: the id is its [`service_type`] (its
//! `Name`, CloudFormation stack or auto scaling group, else its AMI id), or its instance id
//! when that is empty, and the details are its instance report. Alerts are ordered by id,
//! then launch time, then instance id. The rule keeps no state and reads no config.
//!
//! Like the original, terminated instances count: EDDA's current view keeps them for about an
//! hour, and an untagged instance that lived for minutes is still worth a look. An instance
//! without a `launchTime` counts as launched at 0 (long ago) and is never reported. On a first
//! run `since` is 0, so every untagged instance is reported once.

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::report::{ReportContext, report_queries, service_type};

/// The tag every instance should carry.
pub const SERVICE_TAG: &str = "service_name";

/// The rule.
pub struct MissingTag;

/// The alert id of an untagged instance: its service type, else its instance id.
pub fn alert_id(instance: &Instance) -> String {
    let service = service_type(instance);
    if service.is_empty() {
        instance.instance_id.clone()
    } else {
        service
    }
}

impl Rule for MissingTag {
    fn info() -> Info {
        Info {
            name: "missingtag".into(),
            version: String::new(),
            description: "instances launched in the window without a service_name tag".into(),
            queries: [
                vec![Query::current(INSTANCES_SELECTED).archived()],
                report_queries(),
            ]
            .concat(),
            capabilities: vec![],
            default_config: json!({}),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        // Read in place; only the instances reported become owned models.
        let instances = input.data.archived::<Instance>(INSTANCES_SELECTED)?;
        let since = input.window.since_ms;

        let mut untagged: Vec<(String, u64, Instance)> = instances
            .iter()
            .filter(|i| i.tag(SERVICE_TAG).is_none_or(str::is_empty))
            .filter(|i| i.launch_time().unwrap_or(0) > since)
            .map(|i| {
                let instance = i.to_model();
                (alert_id(&instance), i.launch_time().unwrap_or(0), instance)
            })
            .collect();
        untagged
            .sort_by(|(a, t, x), (b, u, y)| (a, t, &x.instance_id).cmp(&(b, u, &y.instance_id)));

        let context = ReportContext::from_data(&input.data)?;
        let mut out = Output::new();
        for (id, _, instance) in untagged {
            out.alert(id, context.report(&instance));
        }
        Ok(out)
    }
}

reddalert_rule_sdk::register!(MissingTag);

#[cfg(test)]
mod tests;
