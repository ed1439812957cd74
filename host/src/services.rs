//! The host services one rule gets during one evaluation ([`HostServices`]): its log lines go
//! to the host's log under its name, and its data-dependent EDDA queries are checked against
//! what it declared, validated, counted against a per-run budget and served from the run's
//! shared cache. Network, Chef and S3 capabilities answer `denied` until they are built.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::contract::{Capability, EddaCallError, HostServices, LogLevel, Query, Window};
use crate::edda::{EddaClient, EddaError};

pub struct RuleServices {
    rule: String,
    capabilities: Vec<Capability>,
    edda: Arc<EddaClient>,
    window: Window,
    queries_left: AtomicU64,
}

impl RuleServices {
    pub fn new(
        rule: &str,
        capabilities: &[Capability],
        edda: Arc<EddaClient>,
        window: Window,
        budget: u64,
    ) -> RuleServices {
        RuleServices {
            rule: rule.to_owned(),
            capabilities: capabilities.to_vec(),
            edda,
            window,
            queries_left: AtomicU64::new(budget),
        }
    }
}

impl HostServices for RuleServices {
    fn log(&self, level: LogLevel, message: &str) {
        log_for(&self.rule, level, message);
    }

    fn edda(&self, query: &Query) -> Result<String, EddaCallError> {
        if !self.capabilities.contains(&Capability::Edda) {
            tracing::warn!(rule = %self.rule, path = %query.path, "refused an EDDA query: the rule did not declare the edda capability");
            return Err(EddaCallError::Denied);
        }
        if self
            .queries_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(EddaCallError::LimitExceeded);
        }
        tracing::debug!(rule = %self.rule, path = %query.path, "EDDA query from the rule");
        match self.edda.fetch(query, self.window) {
            Ok(body) => Ok(body.to_string()),
            Err(err) => Err(match err {
                EddaError::InvalidQuery(e) => EddaCallError::InvalidQuery(e.to_string()),
                EddaError::Status {
                    status,
                    name,
                    message,
                    ..
                } => EddaCallError::Http {
                    status,
                    name,
                    message,
                },
                other => EddaCallError::Transport(other.to_string()),
            }),
        }
    }

    fn net_denied(&self, capability: Capability) -> crate::contract::NetError {
        tracing::warn!(rule = %self.rule, ?capability, "refused a capability call: not granted to this rule");
        crate::contract::NetError::Denied
    }
}

/// Logs a guest's line under its rule's name.
pub fn log_for(rule: &str, level: LogLevel, message: &str) {
    match level {
        LogLevel::Error => tracing::error!(rule, "{message}"),
        LogLevel::Warn => tracing::warn!(rule, "{message}"),
        LogLevel::Info => tracing::info!(rule, "{message}"),
        LogLevel::Debug => tracing::debug!(rule, "{message}"),
        LogLevel::Trace => tracing::trace!(rule, "{message}"),
    }
}
