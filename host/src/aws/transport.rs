//! One HTTP exchange with AWS, and the retries around it: each request is bounded by the
//! client's timeout and by a response size limit; throttling, 5xx answers and transport
//! failures are retried up to `retries` times with full-jitter exponential backoff (AWS's
//! recommended scheme: a random wait between 0 and base × 2^attempt, capped), each attempt
//! built and signed afresh so that its date and credentials are current.

use std::io::Read as _;
use std::time::Duration;

use super::Service;
use super::error::{self, AwsError};
use super::xml;

/// Largest answer read: a page of any call the crawl makes is far smaller.
pub(crate) const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// A request ready to send.
pub(crate) struct Outgoing {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP answer, whatever its status.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

/// Why no answer came.
#[derive(Debug)]
pub(crate) struct Failure {
    pub why: String,
    pub timed_out: bool,
}

/// The waits between attempts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    /// The first retry waits up to this; each next one up to twice as long.
    pub base: Duration,
    /// No wait is longer.
    pub cap: Duration,
}

impl Backoff {
    pub(crate) const STANDARD: Backoff = Backoff {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(20),
    };

    /// A random wait before retry `n` (from 1): uniform in [0, min(cap, base × 2^(n-1))].
    pub(crate) fn wait(&self, n: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(20))
            .min(self.cap);
        let nanos = ceiling.as_nanos() as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random() % (nanos + 1))
    }
}

/// A random number from the standard library's per-process random hash keys (no generator
/// crate needed for jitter).
fn random() -> u64 {
    use std::hash::BuildHasher as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::collections::hash_map::RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// What a call is, for errors and logs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub service: Service,
    pub region: &'a str,
    pub action: &'a str,
}

/// An HTTP agent with the retry policy of one client.
pub(crate) struct Transport {
    agent: ureq::Agent,
    pub retries: u32,
    pub backoff: Backoff,
    pub max_bytes: u64,
}

impl Transport {
    /// For AWS's APIs: `timeout` per request, no redirects (S3 answers a wrong region with
    /// one, which must fail, not be followed unsigned).
    pub(crate) fn new(timeout: Duration, retries: u32) -> Transport {
        let agent = crate::httpclient::agent_config(timeout)
            .max_redirects(0)
            .build()
            .new_agent();
        Transport {
            agent,
            retries,
            backoff: Backoff::STANDARD,
            max_bytes: MAX_ANSWER_BYTES,
        }
    }

    /// For the link-local credential services (instance metadata, container): a short
    /// timeout so a host off EC2 fails fast, and never through a proxy.
    pub(crate) fn local(timeout: Duration, retries: u32) -> Transport {
        let agent = crate::httpclient::agent_config(timeout)
            .timeout_connect(Some(timeout))
            .max_redirects(0)
            .proxy(None)
            .build()
            .new_agent();
        Transport {
            agent,
            retries,
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
            },
            max_bytes: 1 << 20,
        }
    }

    /// One exchange.
    pub(crate) fn send(&self, request: &Outgoing) -> Result<Answer, Failure> {
        let result = match request.method {
            "GET" => {
                let mut builder = self.agent.get(&request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.call()
            }
            method => {
                let mut builder = match method {
                    "PUT" => self.agent.put(&request.url),
                    _ => self.agent.post(&request.url),
                };
                for (name, value) in &request.headers {
                    builder = builder.header(name, value);
                }
                builder.send(&request.body[..])
            }
        };
        let response = result.map_err(|e| Failure {
            timed_out: is_timeout(&e),
            why: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let request_id = ["x-amzn-requestid", "x-amz-request-id"]
            .iter()
            .find_map(|h| response.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(self.max_bytes + 1)
            .read_to_end(&mut body)
            .map_err(|e| Failure {
                timed_out: e.kind() == std::io::ErrorKind::TimedOut,
                why: format!("failed to read the answer: {e}"),
            })?;
        if body.len() as u64 > self.max_bytes {
            return Err(Failure {
                why: format!("the answer is larger than {} bytes", self.max_bytes),
                timed_out: false,
            });
        }
        Ok(Answer {
            status,
            body,
            request_id,
        })
    }

    /// Sends `prepare()`'s request until it succeeds, fails for good, or the retries run
    /// out; answers the body of a 2xx. `expired` is called when AWS says the session token
    /// expired, before the next attempt fetches credentials again.
    pub(crate) fn call(
        &self,
        call: Call<'_>,
        prepare: &dyn Fn() -> Result<Outgoing, AwsError>,
        expired: &dyn Fn(),
    ) -> Result<String, AwsError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = prepare()?;
            let endpoint = request
                .url
                .split_once('?')
                .map_or(request.url.as_str(), |(u, _)| u)
                .to_owned();
            match self.send(&request) {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    return String::from_utf8(answer.body).map_err(|_| AwsError::Transport {
                        service: call.service,
                        action: call.action.to_owned(),
                        region: call.region.to_owned(),
                        endpoint,
                        why: "the answer is not UTF-8 text".into(),
                        timed_out: false,
                        attempts: attempt,
                    });
                }
                Ok(answer) => {
                    let err = api_error(call, &answer, attempt);
                    let code = err.code().unwrap_or_default().to_owned();
                    let expired_token = error::is_expired_token(&code);
                    if expired_token {
                        expired();
                    }
                    if !(expired_token || error::is_retryable(answer.status, &code))
                        || attempt > self.retries
                    {
                        return Err(err);
                    }
                    tracing::debug!(service = %call.service, action = call.action, region = call.region, attempt, status = answer.status, code = %code, "AWS call failed; retrying");
                }
                Err(failure) => {
                    let err = AwsError::Transport {
                        service: call.service,
                        action: call.action.to_owned(),
                        region: call.region.to_owned(),
                        endpoint,
                        why: failure.why,
                        timed_out: failure.timed_out,
                        attempts: attempt,
                    };
                    if attempt > self.retries {
                        return Err(err);
                    }
                    tracing::debug!(service = %call.service, action = call.action, region = call.region, attempt, error = %err, "AWS call failed; retrying");
                }
            }
            std::thread::sleep(self.backoff.wait(attempt));
        }
    }
}

/// The error an answer carries, parsed from its body when it is an AWS error body.
fn api_error(call: Call<'_>, answer: &Answer, attempts: u32) -> AwsError {
    let text = String::from_utf8_lossy(&answer.body);
    let parsed = xml::error_body(&text).unwrap_or_else(|| xml::ErrorBody {
        code: String::new(),
        // Not an AWS error body: its start says what answered (a proxy's page, moto's trace).
        message: text.chars().take(200).filter(|c| !c.is_control()).collect(),
        request_id: None,
    });
    AwsError::Api {
        service: call.service,
        action: call.action.to_owned(),
        region: call.region.to_owned(),
        status: answer.status,
        code: parsed.code,
        message: parsed.message,
        request_id: parsed.request_id.or_else(|| answer.request_id.clone()),
        attempts,
    }
}

/// Whether ureq gave up waiting (its own timeout, or a socket's).
fn is_timeout(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_jittered_within_an_exponential_ceiling() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=8u32 {
            for _ in 0..50 {
                let wait = backoff.wait(n);
                let ceiling = Duration::from_millis((100u64 << (n - 1)).min(1000));
                assert!(wait <= ceiling, "retry {n}: {wait:?} > {ceiling:?}");
                seen.insert(wait);
            }
        }
        // Full jitter: the waits are spread, not one fixed schedule.
        assert!(seen.len() > 100, "{} distinct waits", seen.len());
        let none = Backoff {
            base: Duration::ZERO,
            cap: Duration::ZERO,
        };
        assert_eq!(none.wait(3), Duration::ZERO);
    }
}
