//! The host services one rule gets during one evaluation ([`HostServices`]): its log lines go
//! to the host's log under its name, and its data-dependent EDDA queries are checked against
//! what it declared, validated, counted against a per-run budget and served from the run's
//! shared cache; a batch of them (`fetch-many`) is the same queries run a few at a time on the
//! host's pool, each counted, the ones past the budget answering `limit-exceeded`. The bytes
//! of the answers are budgeted too, per call and per run ([`EddaBudget`]): an answer that
//! would take a call past either is refused (`limit-exceeded`, one warning naming the budget)
//! and read no further than what is left, so a rule cannot make the host hold more. Network,
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

/// What a rule's data-dependent EDDA queries may cost in one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct EddaBudget {
    /// Queries (`edda_queries_per_rule`); each query of a batch counts.
    pub queries: u64,
    /// Bytes of the answers of one call (`limits.edda_call_mib`).
    pub call_bytes: u64,
    /// Bytes of the answers of the whole evaluation (`limits.edda_run_mib`).
    pub run_bytes: u64,
}

pub struct RuleServices {
    rule: String,
    capabilities_declared: Vec<Capability>,
    edda: Arc<EddaClient>,
    window: Window,
    queries_left: AtomicU64,
    call_bytes: u64,
    run_bytes: u64,
    bytes_left: AtomicU64,
    /// Answers refused for their bytes this evaluation, per budget (call, run): said once,
    /// when the evaluation ends.
    refused: [AtomicU64; 2],
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
        budget: EddaBudget,
    ) -> RuleServices {
        RuleServices {
            rule: rule.to_owned(),
            capabilities_declared: capabilities.to_vec(),
            edda,
            window,
            queries_left: AtomicU64::new(budget.queries),
            call_bytes: budget.call_bytes,
            run_bytes: budget.run_bytes,
            bytes_left: AtomicU64::new(budget.run_bytes),
            refused: [AtomicU64::new(0), AtomicU64::new(0)],
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

    /// The bytes one call may hand over: the call's budget, or what is left of the run's.
    fn allowance(&self) -> Allowance {
        let run_left = self.bytes_left.load(Ordering::Relaxed);
        let (bytes, bound) = if self.call_bytes <= run_left {
            (self.call_bytes, Bound::Call)
        } else {
            (run_left, Bound::Run)
        };
        Allowance {
            left: AtomicU64::new(bytes),
            taken: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            bound,
        }
    }

    /// Charges the run's budget with what the call handed over, and counts what it refused.
    fn settle(&self, allowance: &Allowance) {
        let taken = allowance.taken.load(Ordering::Relaxed);
        let _ = self
            .bytes_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(taken))
            });
        self.refused[allowance.bound as usize]
            .fetch_add(allowance.refused.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// One admitted query: validated, from the run's cache or EDDA, cut at the deadline and
    /// at the bytes the call may still hand over.
    fn edda_one(&self, query: &Query, allowance: &Allowance) -> Result<Arc<str>, EddaCallError> {
        // Once the call's bytes are spent, the rest is not fetched at all.
        if allowance.refused.load(Ordering::Relaxed) > 0
            || allowance.left.load(Ordering::Relaxed) == 0
        {
            allowance.refused.fetch_add(1, Ordering::Relaxed);
            return Err(EddaCallError::LimitExceeded);
        }
        tracing::debug!(rule = %self.rule, path = %query.path, "EDDA query from the rule");
        let fetched = self.edda.fetch_for_rule(
            query,
            self.window,
            self.deadline,
            allowance.left.load(Ordering::Relaxed),
        );
        if let Err(err @ EddaError::Deadline { .. }) = &fetched {
            tracing::warn!(rule = %self.rule, "EDDA request cut at the rule's deadline: {err}");
        }
        match fetched {
            Ok(body) if allowance.take(body.len() as u64) => Ok(body),
            Ok(_) | Err(EddaError::TooLarge { .. }) => {
                allowance.refused.fetch_add(1, Ordering::Relaxed);
                Err(EddaCallError::LimitExceeded)
            }
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

/// The bytes one call may still hand over, shared by the fetches of a batch: each answer
/// takes its size when it arrives, or is refused and dropped there.
struct Allowance {
    left: AtomicU64,
    taken: AtomicU64,
    /// Answers refused for their bytes (or not fetched once the bytes were spent).
    refused: AtomicU64,
    /// The budget that bounds the call.
    bound: Bound,
}

/// Which byte budget bounds a call.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Call = 0,
    Run = 1,
}

impl Drop for RuleServices {
    /// Says once per evaluation, per budget, how many answers were refused for their bytes.
    fn drop(&mut self) {
        for (bound, (key, limit, per)) in [
            (
                Bound::Call,
                ("limits.edda_call_mib", self.call_bytes, "per call"),
            ),
            (
                Bound::Run,
                ("limits.edda_run_mib", self.run_bytes, "per run"),
            ),
        ] {
            let refused = self.refused[bound as usize].load(Ordering::Relaxed);
            if refused > 0 {
                tracing::warn!(
                    rule = %self.rule,
                    refused,
                    "refused EDDA answers: they would take the rule past {key} ({} {per}), so \
                     they answered limit-exceeded; raise it under [limits.rule.{}] if the rule \
                     needs more",
                    bytes_text(limit),
                    self.rule
                );
            }
        }
    }
}

impl Allowance {
    fn take(&self, bytes: u64) -> bool {
        let taken = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok();
        if taken {
            self.taken.fetch_add(bytes, Ordering::Relaxed);
        }
        taken
    }
}

impl HostServices for RuleServices {
    fn log(&self, level: LogLevel, message: &str) {
        log_for(&self.rule, level, message);
    }

    fn edda(&self, query: &Query) -> Result<Arc<str>, EddaCallError> {
        if !self.edda_declared(std::slice::from_ref(query)) {
            return Err(EddaCallError::Denied);
        }
        if self.admit_edda(1) == 0 {
            return Err(EddaCallError::LimitExceeded);
        }
        let allowance = self.allowance();
        let answer = self.edda_one(query, &allowance);
        self.settle(&allowance);
        answer
    }

    fn edda_many(&self, queries: &[Query]) -> Vec<Result<Arc<str>, EddaCallError>> {
        if !self.edda_declared(queries) {
            return queries.iter().map(|_| Err(EddaCallError::Denied)).collect();
        }
        let admitted = self.admit_edda(queries.len());
        tracing::debug!(rule = %self.rule, queries = queries.len(), admitted, "EDDA batch from the rule");
        let allowance = self.allowance();
        // A panic in a fetch is a host bug: that query answers a transport error.
        let mut results: Vec<Result<Arc<str>, EddaCallError>> = crate::pool::map(
            &queries[..admitted],
            EDDA_BATCH_CONCURRENCY,
            |q| format!("fetching {} for {}", q.path, self.rule),
            |q| self.edda_one(q, &allowance),
        )
        .into_iter()
        .map(|r| r.unwrap_or_else(|panic| Err(EddaCallError::Transport(panic))))
        .collect();
        self.settle(&allowance);
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

/// `n MiB` for the whole MiB the config sets, else bytes.
fn bytes_text(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
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

/// Logs a guest's line under its rule's name, escaped: a line end or a terminal escape in it
/// can forge no log line of its own.
pub fn log_for(rule: &str, level: LogLevel, message: &str) {
    let message = crate::contract::escape_text(message);
    match level {
        LogLevel::Error => tracing::error!(rule, "{message}"),
        LogLevel::Warn => tracing::warn!(rule, "{message}"),
        LogLevel::Info => tracing::info!(rule, "{message}"),
        LogLevel::Debug => tracing::debug!(rule, "{message}"),
        LogLevel::Trace => tracing::trace!(rule, "{message}"),
    }
}
