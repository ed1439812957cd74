//! The host services one rule gets during one evaluation ([`HostServices`]): its log lines go
//! to the host's log under its name, and its data-dependent EDDA queries are checked against
//! what it declared, validated, counted against a per-run budget and served from the run's
//! shared cache. Network, Chef and S3 calls go to the rule's [`RuleCapabilities`], which checks
//! them against its declaration and the operator's grant; without one (as in `test-rule`)
//! every such call answers `denied`. Host calls end by the rule's deadline: an EDDA request
//! is cut at it, and a capability call made after it answers `timeout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
    /// When the rule's call must end: host calls made for it end by then too.
    deadline: Option<Instant>,
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
            deadline: None,
        }
    }

    /// Ends the rule's host calls by `deadline` (its evaluation's wall-clock limit).
    pub fn with_deadline(mut self, deadline: Instant) -> RuleServices {
        self.deadline = Some(deadline);
        self
    }

    /// The rule's capabilities, unless none are granted here (`denied`) or its deadline has
    /// passed (`timeout`: a call made after it would outlive the rule).
    fn granted(&self, capability: Capability) -> Result<&RuleCapabilities, NetError> {
        let name = crate::capabilities::capability_name(capability);
        let Some(c) = &self.capabilities else {
            tracing::warn!(rule = %self.rule, capability = name, "refused a capability call: no capability is granted here");
            return Err(NetError::Denied);
        };
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            tracing::warn!(rule = %self.rule, capability = name, "refused a capability call: the rule's deadline has passed");
            return Err(NetError::Timeout);
        }
        Ok(c)
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
        let fetched = match self.deadline {
            Some(deadline) => self.edda.fetch_by(query, self.window, deadline),
            None => self.edda.fetch(query, self.window),
        };
        if let Err(err @ EddaError::Deadline { .. }) = &fetched {
            tracing::warn!(rule = %self.rule, "EDDA request cut at the rule's deadline: {err}");
        }
        match fetched {
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

    fn http_get(&self, url: &str, follow_redirects: bool) -> Result<HttpResponse, NetError> {
        self.granted(Capability::Http)?
            .http_get(url, follow_redirects)
    }

    fn http_get_many(&self, requests: &[(String, bool)]) -> Vec<Result<HttpResponse, NetError>> {
        match self.granted(Capability::Http) {
            Ok(c) => c.http_get_many(requests),
            Err(err) => (0..requests.len()).map(|_| Err(err.clone())).collect(),
        }
    }

    fn tcp_probe(&self, host: &str, port: u16) -> Result<bool, NetError> {
        self.granted(Capability::TcpProbe)?.tcp_probe(host, port)
    }

    fn tcp_probe_many(&self, targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
        match self.granted(Capability::TcpProbe) {
            Ok(c) => c.tcp_probe_many(targets),
            Err(err) => (0..targets.len()).map(|_| Err(err.clone())).collect(),
        }
    }

    fn chef_search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        self.granted(Capability::Chef)?
            .chef_search(query, attributes)
    }

    fn s3_list_buckets(&self) -> Result<Vec<String>, NetError> {
        self.granted(Capability::S3)?.s3_list_buckets()
    }

    fn s3_bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        self.granted(Capability::S3)?.s3_bucket_location(bucket)
    }

    fn s3_list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        self.granted(Capability::S3)?
            .s3_list_objects(bucket, prefix, delimiter)
    }

    fn s3_bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        self.granted(Capability::S3)?.s3_bucket_acl(bucket)
    }

    fn s3_object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        self.granted(Capability::S3)?.s3_object_acl(bucket, key)
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
