//! The host services one rule gets during one evaluation ([`HostServices`]): its log lines go
//! to the host's log under its name, and its data-dependent EDDA queries are checked against
//! what it declared, validated, counted against a per-run budget and served from the run's
//! shared cache. Network, Chef and S3 calls go to the rule's [`RuleCapabilities`], which checks
//! them against its declaration and the operator's grant; without one (as in `test-rule`)
//! every such call answers `denied`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::capabilities::{CapabilityConfig, RuleCapabilities};
use crate::contract::{
    Capability, EddaCallError, HostServices, HttpResponse, LogLevel, NetError, ObjectListing,
    Query, Window,
};
use crate::edda::{EddaClient, EddaError};

pub struct RuleServices {
    rule: String,
    capabilities_declared: Vec<Capability>,
    edda: Arc<EddaClient>,
    window: Window,
    queries_left: AtomicU64,
    capabilities: Option<RuleCapabilities>,
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
            capabilities_declared: capabilities.to_vec(),
            edda,
            window,
            queries_left: AtomicU64::new(budget),
            capabilities: None,
        }
    }

    /// Gives the rule the capabilities its config grants (and it declared).
    pub fn with_capabilities(mut self, config: &CapabilityConfig) -> RuleServices {
        self.capabilities = Some(RuleCapabilities::new(
            config,
            &self.rule,
            &self.capabilities_declared,
        ));
        self
    }
}

impl HostServices for RuleServices {
    fn log(&self, level: LogLevel, message: &str) {
        log_for(&self.rule, level, message);
    }

    fn edda(&self, query: &Query) -> Result<String, EddaCallError> {
        if !self.capabilities_declared.contains(&Capability::Edda) {
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

    fn net_denied(&self, capability: Capability) -> NetError {
        let name = crate::capabilities::capability_name(capability);
        tracing::warn!(rule = %self.rule, capability = name, "refused a capability call: no capability is granted here");
        NetError::Denied
    }

    fn http_get(&self, url: &str, follow_redirects: bool) -> Result<HttpResponse, NetError> {
        match &self.capabilities {
            Some(c) => c.http_get(url, follow_redirects),
            None => Err(self.net_denied(Capability::Http)),
        }
    }

    fn http_get_many(&self, requests: &[(String, bool)]) -> Vec<Result<HttpResponse, NetError>> {
        match &self.capabilities {
            Some(c) => c.http_get_many(requests),
            None => denied_all(self.net_denied(Capability::Http), requests.len()),
        }
    }

    fn tcp_probe(&self, host: &str, port: u16) -> Result<bool, NetError> {
        match &self.capabilities {
            Some(c) => c.tcp_probe(host, port),
            None => Err(self.net_denied(Capability::TcpProbe)),
        }
    }

    fn tcp_probe_many(&self, targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
        match &self.capabilities {
            Some(c) => c.tcp_probe_many(targets),
            None => denied_all(self.net_denied(Capability::TcpProbe), targets.len()),
        }
    }

    fn chef_search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        match &self.capabilities {
            Some(c) => c.chef_search(query, attributes),
            None => Err(self.net_denied(Capability::Chef)),
        }
    }

    fn s3_list_buckets(&self) -> Result<Vec<String>, NetError> {
        match &self.capabilities {
            Some(c) => c.s3_list_buckets(),
            None => Err(self.net_denied(Capability::S3)),
        }
    }

    fn s3_bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        match &self.capabilities {
            Some(c) => c.s3_bucket_location(bucket),
            None => Err(self.net_denied(Capability::S3)),
        }
    }

    fn s3_list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        match &self.capabilities {
            Some(c) => c.s3_list_objects(bucket, prefix, delimiter),
            None => Err(self.net_denied(Capability::S3)),
        }
    }

    fn s3_bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        match &self.capabilities {
            Some(c) => c.s3_bucket_acl(bucket),
            None => Err(self.net_denied(Capability::S3)),
        }
    }

    fn s3_object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        match &self.capabilities {
            Some(c) => c.s3_object_acl(bucket, key),
            None => Err(self.net_denied(Capability::S3)),
        }
    }
}

fn denied_all<T>(err: NetError, n: usize) -> Vec<Result<T, NetError>> {
    (0..n).map(|_| Err(err.clone())).collect()
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
