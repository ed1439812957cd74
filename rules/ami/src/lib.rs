//! The ami rule: alerts about instances launched from an AMI that was first seen inside the
//! run's window, a port of the original reddalert's `ami` plugin.
//!
//! It reads the current `view/instances;_expand` and remembers, per AMI, the earliest launch
//! time it has ever seen (state `{"first_seen": {"ami-…": ms}}`, the original's shape, so an
//! original status file carries over). Each run folds the current instances into that map
//! (keeping the minimum, and keeping AMIs no longer in use). An AMI whose first-seen time is
//! at or after the window's `since` gets one alert per instance launched at or after `since`
//! whose [`service_type`] is not in `allowed_tags`; the alert id is the AMI id and its details
//! are the instance report. Alerts are ordered by AMI id, then launch time, then instance id.
//!
//! Like the original, terminated instances count: EDDA's current view keeps them for about an
//! hour, and a short-lived instance of a new AMI is worth reporting. An instance without a
//! `launchTime` counts as launched at 0 (long ago); one without an `imageId` is skipped (EDDA
//! always sets both; the original would crash on either). On a first run `since` is 0, so
//! every AMI in use is reported once, as the original did.

use std::collections::BTreeMap;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::report::{ReportContext, report_queries, service_type};

/// The rule.
pub struct Ami;

/// What the rule keeps between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmiState {
    /// AMI id → earliest launch time of its instances ever seen, epoch ms.
    #[serde(default)]
    pub first_seen: BTreeMap<String, u64>,
}

/// `plugin.ami`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AmiConfig {
    /// Service types (see [`service_type`]) whose instances are never reported.
    pub allowed_tags: Vec<String>,
}

impl Settings for AmiConfig {}

impl Rule for Ami {
    fn info() -> Info {
        Info {
            name: "ami".into(),
            version: String::new(),
            description: "instances launched from an AMI first seen in the window".into(),
            queries: [vec![Query::current(INSTANCES_SELECTED)], report_queries()].concat(),
            capabilities: vec![],
            default_config: default_config::<AmiConfig>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let config: AmiConfig = input.config()?;
        let state: AmiState = input
            .state()
            .context("ami: the stored state is not {\"first_seen\": {\"ami-…\": ms}}")?;
        let instances: Vec<Instance> = input.data.get(INSTANCES_SELECTED)?;
        let since = input.window.since_ms;

        let mut by_ami: BTreeMap<&str, Vec<(u64, &Instance)>> = BTreeMap::new();
        for instance in instances.iter().filter(|i| !i.image_id.is_empty()) {
            let started = instance.launch_time.unwrap_or(0);
            by_ami
                .entry(&instance.image_id)
                .or_default()
                .push((started, instance));
        }

        let mut first_seen = state.first_seen;
        for (ami, group) in &by_ami {
            if let Some(earliest) = group.iter().map(|(started, _)| *started).min() {
                first_seen
                    .entry((*ami).to_owned())
                    .and_modify(|seen| *seen = (*seen).min(earliest))
                    .or_insert(earliest);
            }
        }

        let context = ReportContext::from_data(&input.data)?;
        let mut out = Output::new();
        for (ami, mut group) in by_ami {
            if first_seen.get(ami).is_none_or(|&seen| seen < since) {
                continue;
            }
            group.sort_by(|(a, x), (b, y)| (a, &x.instance_id).cmp(&(b, &y.instance_id)));
            for (started, instance) in group {
                // Always true while first_seen ≤ every launch time; kept as the original
                // states the rule, so a change to the merging cannot report old instances.
                let new = started >= since;
                if new && !config.allowed_tags.contains(&service_type(instance)) {
                    out.alert(ami, context.report(instance));
                }
            }
        }
        out.with_state(AmiState { first_seen })
    }
}

reddalert_rule_sdk::register!(Ami);

#[cfg(test)]
mod tests;
