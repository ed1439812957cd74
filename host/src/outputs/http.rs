//! What the HTTP outputs (Elasticsearch, webhook) share: a ureq agent with the configured
//! timeout and, when the config names one, a CA file to trust instead of the public roots;
//! which answers are worth retrying; and the doubling pause between tries.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use base64::Engine as _;

use crate::config::Retry;

/// No pause grows past this, whatever the configured backoff and retries.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// An agent that hands every status back to the caller (the outputs read error bodies). A
/// redirect is an answer too, never followed: ureq would follow a 301 to a POST with a GET
/// without the body, and take the page it finds for a delivery.
pub(super) fn agent(timeout: Duration, ca_file: Option<&Path>, key: &str) -> Result<ureq::Agent> {
    let mut config = crate::httpclient::agent_config(timeout).max_redirects(0);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("failed to read {key} {}", path.display()))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                Ok(_) => None,
                Err(err) => Some(Err(err)),
            })
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("failed to parse {key} {}", path.display()))?;
        anyhow::ensure!(
            !certs.is_empty(),
            "{key} {} holds no certificate",
            path.display()
        );
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
                .build(),
        );
    }
    Ok(config.build().new_agent())
}

/// Rate limiting and server-side failures may pass; anything else will answer the same again.
pub(super) fn retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// The pause before retry `attempt` (1 for the first retry).
pub(super) fn pause(retry: &Retry, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    retry.backoff.saturating_mul(factor).min(MAX_PAUSE)
}

/// The `Authorization` value of HTTP basic auth.
pub(super) fn basic_auth(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The start of a response body, for error messages.
pub(super) fn snippet(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}
