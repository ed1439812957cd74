//! One evaluation of one rule, the same for a run, `snapshot` and `test-rule`: the answers to
//! its declared queries (each body as it came, or its archive where the rule asked for one,
//! made once per command: [`super::archives`]), its config sections merged over its defaults
//! in one order, its stored state and its window go in; it runs in its own sandbox under its limits, with host
//! services that end by its deadline and reach beyond EDDA only as far as the caller says
//! ([`Reach`]). What differs between the callers is only where the bodies come from (a run's
//! prefetch, or a fetch now) and how far the rule may reach.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::InstalledRule;
use super::archives::Archives;
use crate::config::{CapabilityConfig, merge_rule_config};
use crate::contract::{Body, Form, Limits, Query, RuleInput, RuleOutput, Window};
use crate::edda::EddaClient;
use crate::engine::Engine;
use crate::services::{EddaBudget, RuleServices};

/// How far a rule may reach beyond EDDA in one evaluation.
#[derive(Clone, Copy)]
pub(crate) enum Reach<'a> {
    /// As far as the operator granted (a run).
    Granted(&'a CapabilityConfig),
    /// Nowhere: `snapshot` and `test-rule` run rules against recorded data, and a rule's
    /// HTTP, TCP, Chef and S3 calls are answered `denied`.
    Nothing,
}

/// What every evaluation of one command shares.
pub(crate) struct Evaluator<'a> {
    pub engine: &'a Engine,
    pub edda: &'a Arc<EddaClient>,
    /// Data-dependent EDDA queries a rule may make per evaluation.
    pub queries_per_rule: u64,
    pub reach: Reach<'a>,
    /// The archives made for the rules that asked for them.
    pub archives: &'a Archives,
}

impl Evaluator<'_> {
    /// Evaluates `rule` over `window`. `sections` are merged over the rule's default config
    /// in order (the config file's `plugin.<name>`, then `test-rule --config`); `bodies`
    /// gives the body of each declared query or why there is none.
    pub fn evaluate(
        &self,
        rule: &InstalledRule,
        window: Window,
        sections: &[Option<&Value>],
        state: Option<Value>,
        limits: &Limits,
        bodies: &dyn Fn(&Query) -> Result<Arc<str>, String>,
    ) -> Result<RuleOutput, String> {
        let info = &rule.info;
        let mut data = Vec::with_capacity(info.queries.len());
        for declared in &info.queries {
            let q = &declared.query;
            let body = bodies(q).map_err(|why| format!("its query {:?} failed: {why}", q.path))?;
            let body = match declared.form {
                Form::Json => Body::Json(body),
                Form::Archive => Body::Archive(
                    self.archives
                        .get(q, window, &body)
                        .map_err(|why| format!("its query {:?} has no archive: {why}", q.path))?,
                ),
            };
            data.push((q.path.clone(), body));
        }
        let config = sections
            .iter()
            .fold(info.default_config.clone(), |merged, section| {
                merge_rule_config(&merged, *section)
            });
        let input = RuleInput {
            config,
            state,
            data,
            window,
        };
        let started = Instant::now();
        let services = RuleServices::new(
            &info.name,
            &info.capabilities,
            self.edda.clone(),
            window,
            EddaBudget {
                queries: self.queries_per_rule,
                call_bytes: limits.edda_call_bytes,
                run_bytes: limits.edda_run_bytes,
            },
        )
        .with_deadline(started + limits.timeout);
        let services = match self.reach {
            Reach::Granted(capabilities) => services.with_capabilities(capabilities),
            Reach::Nothing => services,
        };
        let result = self
            .engine
            .evaluate(&rule.module, limits, Arc::new(services), &input);
        tracing::debug!(rule = %info.name, elapsed_ms = started.elapsed().as_millis() as u64, "evaluated");
        result.map_err(|err| err.to_string())
    }
}
