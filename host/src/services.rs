//! The host services one rule gets during one evaluation ([`HostServices`]): its log lines go
//! to the host's log under its name, and its data-dependent EDDA queries are checked against
//! what it declared, validated, counted against a per-run budget and served from the run's
//! shared cache; a batch of them (`fetch-many`) is the same queries run a few at a time on the
//! host's pool, each counted, the ones past the budget answering `limit-exceeded`. Network,
//! Chef and S3 calls go to the rule's [`RuleCapabilities`], which checks them against its
//! declaration and the operator's grant; without one (as in `test-rule`) every such call
//! answers `denied`. Host calls end by the rule's deadline: an EDDA request is cut at it, a
//! capability call still under way at it answers `timeout` then, and one made after it
//! answers `timeout` at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::capabilities::RuleCapabilities;
use crate::config::CapabilityConfig;
use crate::contract::{
    Capability, EddaCallError, HostServices, HttpResponse, LogLevel, NetError, ObjectListing,
    Query, Window,
};
use crate::edda::{EddaClient, EddaError};

#[cfg(test)]
mod tests;

/// How many queries of one `fetch-many` batch are in flight at once: enough to hide EDDA's
/// latency (the iam rule's 10,000 `_diff` requests), few enough to stay polite to one EDDA.
pub(crate) const EDDA_BATCH_CONCURRENCY: usize = 8;

pub struct RuleServices {
    rule: String,
    capabilities_declared: Vec<Capability>,
    edda: Arc<EddaClient>,
    window: Window,
    queries_left: AtomicU64,
    capabilities: Option<Arc<RuleCapabilities>>,
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

    /// Runs `call` on the rule's capabilities, unless none are granted here (`denied`) or
    /// its deadline has passed (`timeout`). With a deadline, the call runs on its own thread
    /// and the rule gets `timeout` when the deadline comes first: a host call never outlives
    /// the rule (the abandoned request ends by its own timeout, its answer dropped).
    fn call<R: Send + 'static>(
        &self,
        capability: Capability,
        timed_out: impl FnOnce() -> R,
        call: impl FnOnce(&RuleCapabilities) -> R + Send + 'static,
    ) -> Result<R, NetError> {
        let c = self.granted(capability)?.clone();
        let Some(deadline) = self.deadline else {
            return Ok(call(&c));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(call(&c));
        });
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(result) => Ok(result),
            Err(_) => {
                let name = crate::capabilities::capability_name(capability);
                tracing::warn!(rule = %self.rule, capability = name, "capability call cut at the rule's deadline");
                Ok(timed_out())
            }
        }
    }

    /// The rule's capabilities, unless none are granted here (`denied`) or its deadline has
    /// passed (`timeout`: a call made after it would outlive the rule).
    fn granted(&self, capability: Capability) -> Result<&Arc<RuleCapabilities>, NetError> {
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
        self.capabilities = Some(Arc::new(RuleCapabilities::new(
            config,
            &self.rule,
            &self.capabilities_declared,
        )));
        self
    }

    /// Whether the rule declared the `edda` capability (a refusal is logged, naming the first
    /// query).
    fn edda_declared(&self, queries: &[Query]) -> bool {
        let declared = self.capabilities_declared.contains(&Capability::Edda);
        if !declared && let Some(query) = queries.first() {
            tracing::warn!(rule = %self.rule, path = %query.path, queries = queries.len(), "refused an EDDA query: the rule did not declare the edda capability");
        }
        declared
    }

    /// Takes up to `n` queries from the rule's budget; returns how many it got.
    fn admit_edda(&self, n: usize) -> usize {
        let mut admitted = 0;
        let _ = self
            .queries_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                admitted = usize::try_from(left).unwrap_or(usize::MAX).min(n);
                Some(left - admitted as u64)
            });
        admitted
    }

    /// One admitted query: validated, from the run's cache or EDDA, cut at the deadline.
    fn edda_one(&self, query: &Query) -> Result<String, EddaCallError> {
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
}

impl HostServices for RuleServices {
    fn log(&self, level: LogLevel, message: &str) {
        log_for(&self.rule, level, message);
    }

    fn edda(&self, query: &Query) -> Result<String, EddaCallError> {
        if !self.edda_declared(std::slice::from_ref(query)) {
            return Err(EddaCallError::Denied);
        }
        match self.admit_edda(1) {
            0 => Err(EddaCallError::LimitExceeded),
            _ => self.edda_one(query),
        }
    }

    fn edda_many(&self, queries: &[Query]) -> Vec<Result<String, EddaCallError>> {
        if !self.edda_declared(queries) {
            return queries.iter().map(|_| Err(EddaCallError::Denied)).collect();
        }
        let admitted = self.admit_edda(queries.len());
        tracing::debug!(rule = %self.rule, queries = queries.len(), admitted, "EDDA batch from the rule");
        // A panic in a fetch is a host bug: that query answers a transport error.
        let mut results: Vec<Result<String, EddaCallError>> = crate::pool::map(
            &queries[..admitted],
            EDDA_BATCH_CONCURRENCY,
            |q| format!("fetching {} for {}", q.path, self.rule),
            |q| self.edda_one(q),
        )
        .into_iter()
        .map(|r| r.unwrap_or_else(|panic| Err(EddaCallError::Transport(panic))))
        .collect();
        results.extend(
            queries[admitted..]
                .iter()
                .map(|_| Err(EddaCallError::LimitExceeded)),
        );
        results
    }

    fn http_get(&self, url: &str, follow_redirects: bool) -> Result<HttpResponse, NetError> {
        let url = url.to_owned();
        self.call(Capability::Http, timeout, move |c| {
            c.http_get(&url, follow_redirects)
        })?
    }

    fn http_get_many(&self, requests: &[(String, bool)]) -> Vec<Result<HttpResponse, NetError>> {
        let (n, requests) = (requests.len(), requests.to_vec());
        self.call(
            Capability::Http,
            || timeouts(n),
            move |c| c.http_get_many(&requests),
        )
        .unwrap_or_else(|err| (0..n).map(|_| Err(err.clone())).collect())
    }

    fn tcp_probe(&self, host: &str, port: u16) -> Result<bool, NetError> {
        let host = host.to_owned();
        self.call(Capability::TcpProbe, timeout, move |c| {
            c.tcp_probe(&host, port)
        })?
    }

    fn tcp_probe_many(&self, targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
        let (n, targets) = (targets.len(), targets.to_vec());
        self.call(
            Capability::TcpProbe,
            || timeouts(n),
            move |c| c.tcp_probe_many(&targets),
        )
        .unwrap_or_else(|err| (0..n).map(|_| Err(err.clone())).collect())
    }

    fn chef_search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        let (query, attributes) = (query.to_owned(), attributes.to_owned());
        self.call(Capability::Chef, timeout, move |c| {
            c.chef_search(&query, &attributes)
        })?
    }

    fn s3_list_buckets(&self) -> Result<Vec<String>, NetError> {
        self.call(Capability::S3, timeout, |c| c.s3_list_buckets())?
    }

    fn s3_bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        let bucket = bucket.to_owned();
        self.call(Capability::S3, timeout, move |c| {
            c.s3_bucket_location(&bucket)
        })?
    }

    fn s3_list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        let (bucket, prefix) = (bucket.to_owned(), prefix.to_owned());
        let delimiter = delimiter.map(str::to_owned);
        self.call(Capability::S3, timeout, move |c| {
            c.s3_list_objects(&bucket, &prefix, delimiter.as_deref())
        })?
    }

    fn s3_bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        let bucket = bucket.to_owned();
        self.call(Capability::S3, timeout, move |c| c.s3_bucket_acl(&bucket))?
    }

    fn s3_object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.call(Capability::S3, timeout, move |c| {
            c.s3_object_acl(&bucket, &key)
        })?
    }
}

/// What a single call cut at the deadline answers.
fn timeout<T>() -> Result<T, NetError> {
    Err(NetError::Timeout)
}

/// What a batch cut at the deadline answers: `timeout` for each item.
fn timeouts<T>(n: usize) -> Vec<Result<T, NetError>> {
    (0..n).map(|_| Err(NetError::Timeout)).collect()
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
