//! `http-get`: one GET of an absolute http(s) URL with ureq, answering status, headers, the body
//! cut at the cap and the final URL. Redirects are followed (up to `http_max_redirects`) or
//! not, per call; not following returns the 3xx with its `Location` header. Every connection,
//! including each redirect hop, goes through [`PolicyResolver`], which checks the host name and
//! each resolved address against the rule's [`HostPolicy`] before ureq dials it: a check made
//! earlier on a separately resolved name could be fooled by DNS answering differently the
//! second time. Proxies from the environment are ignored, since they would dial on our behalf.

use std::io::Read as _;
use std::net::IpAddr;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::CallError;
use super::policy::Refusal;
use crate::config::NetSettings;
use crate::config::capabilities::HostPolicy;
use crate::contract::{HttpResponse, NetError};

/// The HTTP client of one rule.
pub(super) struct HttpClient {
    agent: ureq::Agent,
    body_max_bytes: u64,
    max_redirects: u32,
}

impl HttpClient {
    pub(super) fn new(net: &NetSettings, policy: HostPolicy) -> HttpClient {
        let config = crate::httpclient::agent_config(net.http_timeout)
            .max_redirects(net.http_max_redirects)
            .proxy(None)
            .build();
        let resolver = PolicyResolver {
            policy,
            inner: DefaultResolver::default(),
        };
        HttpClient {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver),
            body_max_bytes: net.http_body_max_bytes,
            max_redirects: net.http_max_redirects,
        }
    }

    pub(super) fn get(&self, url: &str, follow_redirects: bool) -> Result<HttpResponse, CallError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| transport(format!("{url:?} is not a URL: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(transport(format!(
                "{url:?} is not an absolute http:// or https:// URL"
            )));
        }
        let redirects = if follow_redirects {
            self.max_redirects
        } else {
            0
        };
        let response = self
            .agent
            .get(uri)
            .config()
            .max_redirects(redirects)
            .build()
            .call()
            .map_err(classify)?;
        let status = response.status().as_u16();
        let final_url = ureq::ResponseExt::get_uri(&response).to_string();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(self.body_max_bytes)
            .read_to_end(&mut body)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::TimedOut => CallError::Net(NetError::Timeout),
                _ => transport(format!("failed to read the body of {url}: {e}")),
            })?;
        Ok(HttpResponse {
            status,
            headers,
            body,
            final_url,
        })
    }
}

fn transport(message: String) -> CallError {
    CallError::Net(NetError::Transport(message))
}

fn classify(err: ureq::Error) -> CallError {
    if let ureq::Error::Io(io) = &err
        && let Some(refusal) = io.get_ref().and_then(|e| e.downcast_ref::<Refusal>())
    {
        return CallError::Refused(refusal.clone());
    }
    if super::is_timeout(&err) {
        return CallError::Net(NetError::Timeout);
    }
    transport(err.to_string())
}

/// Resolves like ureq does, then refuses targets the rule's policy does not allow.
#[derive(Debug)]
struct PolicyResolver {
    policy: HostPolicy,
    inner: DefaultResolver,
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
        let host = uri.host().unwrap_or_default();
        self.policy
            .check(host, &ips)
            .map_err(|refusal| ureq::Error::Io(std::io::Error::other(refusal)))?;
        Ok(addrs)
    }
}
