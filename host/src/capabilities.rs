//! Capabilities: what a rule may reach beyond the EDDA data it is handed (HTTP GETs, TCP
//! probes, Chef node searches, S3 reads). A rule gets one only when it declared it in its
//! `info()` *and* the operator granted it under `[grant.<rule>]`; anything else answers
//! `denied` before any connection is made, and the refusal is logged. Granted calls are counted
//! against per-run limits, traced in the log at debug level, bounded by timeouts, and answer
//! typed errors (`denied`, `timeout`, `http(status)`, `transport(msg)`, `limit-exceeded`).
//! Credentials (the Chef key, AWS keys) stay in the host; batches run on a bounded pool.

mod chef;
mod chef_auth;
mod describe;
mod http;
mod policy;
mod s3;
mod s3_xml;
mod tcp;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

pub use describe::{describe, describe_text};

use crate::config::{CapabilityConfig, ChefSettings, Grant, NetSettings, S3Settings};

use crate::contract::{Capability, HttpResponse, NetError, ObjectListing};

/// How a capability call failed inside the host: a policy refusal (logged, `denied` to the
/// rule) or an error the rule sees as is.
#[derive(Debug)]
enum CallError {
    Refused(policy::Refusal),
    Net(NetError),
}

/// Whether ureq gave up waiting (its own timeout, or a socket's).
fn is_timeout(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// The capabilities of one rule during one run.
pub struct RuleCapabilities {
    rule: String,
    declared: Vec<Capability>,
    grant: Grant,
    net: NetSettings,
    chef_settings: Option<ChefSettings>,
    s3_settings: S3Settings,
    budgets: [Budget; 4],
    http: OnceLock<http::HttpClient>,
    chef: OnceLock<Result<chef::ChefClient, String>>,
    s3: OnceLock<Result<s3::S3Client, String>>,
}

/// Calls left of one capability, and whether running out was already logged.
struct Budget {
    limit: u64,
    left: AtomicU64,
    warned: AtomicBool,
}

/// The budget of a capability. `edda` has its own budget (`edda_queries_per_rule`) in the
/// rule's services and never comes here; it shares the last slot only to keep this total.
fn slot(capability: Capability) -> usize {
    match capability {
        Capability::Http => 0,
        Capability::TcpProbe => 1,
        Capability::Chef => 2,
        Capability::S3 | Capability::Edda => 3,
    }
}

/// The name used in logs and config (`tcp-probe`).
pub fn capability_name(capability: Capability) -> &'static str {
    match capability {
        Capability::Edda => "edda",
        Capability::Http => "http",
        Capability::TcpProbe => "tcp-probe",
        Capability::Chef => "chef",
        Capability::S3 => "s3",
    }
}

impl RuleCapabilities {
    pub fn new(config: &CapabilityConfig, rule: &str, declared: &[Capability]) -> RuleCapabilities {
        let grant = config.grant_for(rule);
        let limits = config.net.max_calls;
        let budget = |default: u64| {
            let limit = grant.max_calls.unwrap_or(default);
            Budget {
                limit,
                left: AtomicU64::new(limit),
                warned: AtomicBool::new(false),
            }
        };
        RuleCapabilities {
            rule: rule.to_owned(),
            declared: declared.to_vec(),
            budgets: [
                budget(limits.http),
                budget(limits.tcp_probe),
                budget(limits.chef),
                budget(limits.s3),
            ],
            grant,
            net: config.net,
            chef_settings: config.chef.clone(),
            s3_settings: config.s3.clone(),
            http: OnceLock::new(),
            chef: OnceLock::new(),
            s3: OnceLock::new(),
        }
    }

    /// Admits up to `n` calls of `capability`: how many fit in the budget, or `denied`.
    fn admit(&self, capability: Capability, n: usize, what: &str) -> Result<usize, NetError> {
        let name = capability_name(capability);
        if !self.declared.contains(&capability) {
            tracing::warn!(rule = %self.rule, capability = name, target = what, "refused a capability call: the rule did not declare {name} in its info()");
            return Err(NetError::Denied);
        }
        if !self.grant.allows(capability) {
            let key = name.replace('-', "_");
            tracing::warn!(rule = %self.rule, capability = name, target = what, "refused a capability call: not granted (set {key} = true under [grant.{}])", self.rule);
            return Err(NetError::Denied);
        }
        let budget = &self.budgets[slot(capability)];
        let mut admitted = 0;
        let _ = budget
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                admitted = left.min(n as u64) as usize;
                Some(left - admitted as u64)
            });
        if admitted < n && !budget.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(rule = %self.rule, capability = name, "per-run call limit reached; further calls answer limit-exceeded");
        }
        Ok(admitted)
    }

    fn finish<T>(
        &self,
        capability: Capability,
        target: &str,
        started: Instant,
        result: Result<T, CallError>,
    ) -> Result<T, NetError> {
        let name = capability_name(capability);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(value) => {
                tracing::debug!(rule = %self.rule, capability = name, target, elapsed_ms, "capability call succeeded");
                Ok(value)
            }
            Err(CallError::Refused(why)) => {
                tracing::warn!(rule = %self.rule, capability = name, target, "refused a capability call: {why}");
                Err(NetError::Denied)
            }
            Err(CallError::Net(err)) => {
                tracing::debug!(rule = %self.rule, capability = name, target, elapsed_ms, error = ?err, "capability call failed");
                Err(err)
            }
        }
    }

    fn http_client(&self) -> &http::HttpClient {
        self.http
            .get_or_init(|| http::HttpClient::new(&self.net, self.grant.hosts.clone()))
    }

    fn http_one(&self, url: &str, follow: bool) -> Result<HttpResponse, NetError> {
        let started = Instant::now();
        let result = self.http_client().get(url, follow);
        self.finish(Capability::Http, url, started, result)
    }

    pub fn http_get(&self, url: &str, follow: bool) -> Result<HttpResponse, NetError> {
        match self.admit(Capability::Http, 1, url)? {
            0 => Err(NetError::LimitExceeded),
            _ => self.http_one(url, follow),
        }
    }

    pub fn http_get_many(
        &self,
        requests: &[(String, bool)],
    ) -> Vec<Result<HttpResponse, NetError>> {
        let what = format!("{} URLs", requests.len());
        self.batch(Capability::Http, requests, &what, |(url, follow)| {
            self.http_one(url, *follow)
        })
    }

    fn probe_one(&self, host: &str, port: u16) -> Result<bool, NetError> {
        let started = Instant::now();
        let target = format!("{host}:{port}");
        let result = tcp::probe(host, port, self.net.tcp_timeout, &self.grant.hosts);
        self.finish(Capability::TcpProbe, &target, started, result)
    }

    pub fn tcp_probe(&self, host: &str, port: u16) -> Result<bool, NetError> {
        match self.admit(Capability::TcpProbe, 1, &format!("{host}:{port}"))? {
            0 => Err(NetError::LimitExceeded),
            _ => self.probe_one(host, port),
        }
    }

    pub fn tcp_probe_many(&self, targets: &[(String, u16)]) -> Vec<Result<bool, NetError>> {
        let what = format!("{} targets", targets.len());
        self.batch(Capability::TcpProbe, targets, &what, |(host, port)| {
            self.probe_one(host, *port)
        })
    }

    /// Runs the admitted part of a batch on the pool; the rest answers `limit-exceeded`.
    fn batch<T: Sync, R: Send>(
        &self,
        capability: Capability,
        items: &[T],
        what: &str,
        call: impl Fn(&T) -> Result<R, NetError> + Sync,
    ) -> Vec<Result<R, NetError>> {
        let admitted = match self.admit(capability, items.len(), what) {
            Ok(n) => n,
            Err(err) => return items.iter().map(|_| Err(err.clone())).collect(),
        };
        // A panic in a call is a host bug: that target answers a transport error.
        let mut results: Vec<Result<R, NetError>> = crate::pool::map(
            &items[..admitted],
            self.net.concurrency,
            |_| format!("a {} call of {}", capability_name(capability), self.rule),
            call,
        )
        .into_iter()
        .map(|r| r.unwrap_or_else(|why| Err(NetError::Transport(why))))
        .collect();
        results.extend(
            items[admitted..]
                .iter()
                .map(|_| Err(NetError::LimitExceeded)),
        );
        results
    }

    pub fn chef_search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        if self.admit(Capability::Chef, 1, query)? == 0 {
            return Err(NetError::LimitExceeded);
        }
        let started = Instant::now();
        let client = self.chef.get_or_init(|| match &self.chef_settings {
            Some(settings) => chef::ChefClient::connect(settings),
            None => Err("no Chef server is configured: set server_url, client_name and client_key_file under [chef]".into()),
        });
        let result = match client {
            Ok(client) => client.search(query, attributes).map_err(CallError::Net),
            Err(why) => {
                tracing::error!(rule = %self.rule, "Chef search impossible: {why}");
                Err(CallError::Net(NetError::Transport(why.clone())))
            }
        };
        self.finish(Capability::Chef, query, started, result)
    }

    /// Runs one S3 call through the rule's client.
    fn s3_call<T>(
        &self,
        what: &str,
        call: impl FnOnce(&s3::S3Client) -> Result<T, NetError>,
    ) -> Result<T, NetError> {
        if self.admit(Capability::S3, 1, what)? == 0 {
            return Err(NetError::LimitExceeded);
        }
        let started = Instant::now();
        let result = match self
            .s3
            .get_or_init(|| s3::S3Client::connect(&self.s3_settings))
        {
            Ok(client) => call(client).map_err(CallError::Net),
            Err(why) => {
                tracing::error!(rule = %self.rule, "S3 call impossible: {why}");
                Err(CallError::Net(NetError::Transport(why.clone())))
            }
        };
        self.finish(Capability::S3, what, started, result)
    }

    pub fn s3_list_buckets(&self) -> Result<Vec<String>, NetError> {
        self.s3_call("list buckets", |c| c.list_buckets())
    }

    pub fn s3_bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        self.s3_call(&format!("location of {bucket}"), |c| {
            c.bucket_location(bucket)
        })
    }

    pub fn s3_list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        self.s3_call(&format!("list {bucket}/{prefix}"), |c| {
            c.list_objects(bucket, prefix, delimiter)
        })
    }

    pub fn s3_bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        self.s3_call(&format!("ACL of {bucket}"), |c| c.bucket_acl(bucket))
    }

    pub fn s3_object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        self.s3_call(&format!("ACL of {bucket}/{key}"), |c| {
            c.object_acl(bucket, key)
        })
    }
}

impl Drop for RuleCapabilities {
    /// One line per rule that used a capability: how many calls of each it made this run.
    fn drop(&mut self) {
        let used: Vec<String> = [
            Capability::Http,
            Capability::TcpProbe,
            Capability::Chef,
            Capability::S3,
        ]
        .into_iter()
        .filter_map(|c| {
            let b = &self.budgets[slot(c)];
            let made = b.limit - b.left.load(Ordering::Relaxed);
            (made > 0).then(|| format!("{} {made}/{}", capability_name(c), b.limit))
        })
        .collect();
        if !used.is_empty() {
            tracing::info!(rule = %self.rule, calls = %used.join(", "), "capability calls made");
        }
    }
}
