//! One JSON document POSTed per run: either the run and its alerts as documents (`json`), or
//! Slack's incoming-webhook payload `{"text": ...}` (`slack`), which Mattermost, Rocket.Chat
//! and many chat bridges accept too. A failure to connect or a 429/5xx answer is retried
//! after a doubling pause; the receiver takes the whole run or none of it.

use std::fmt::Write as _;
use std::thread::sleep;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::http::{self, pause, retryable, snippet};
use super::{
    AlertRecord, Output, Rejected, RunInfo, details_text, digest, document, escape_text, json_line,
};
use crate::config::{Retry, WebhookFormat, WebhookSettings, WebhookUrl, secret};
use crate::time::iso_time;

/// Slack cuts messages near 40,000 characters; stay below and say what was left out.
const SLACK_MAX: usize = 35_000;
/// Characters of one alert's details in a Slack line.
const SLACK_DETAILS: usize = 300;

pub(super) struct WebhookOutput {
    agent: ureq::Agent,
    url: String,
    format: WebhookFormat,
    authorization: Option<String>,
    send_empty: bool,
    retry: Retry,
}

impl WebhookOutput {
    pub(super) fn new(settings: &WebhookSettings) -> Result<WebhookOutput> {
        let url = match &settings.url {
            WebhookUrl::Literal(url) => url.clone(),
            WebhookUrl::Env(var) => secret(var, "webhook.url_env")?,
        };
        let authorization = match &settings.token_env {
            Some(var) => Some(format!("Bearer {}", secret(var, "webhook.token_env")?)),
            None => None,
        };
        Ok(WebhookOutput {
            agent: http::agent(settings.timeout, None, "webhook")?,
            url,
            format: settings.format,
            authorization,
            send_empty: settings.send_empty,
            retry: settings.retry,
        })
    }

    fn post(&self, body: &str) -> Result<(), (bool, anyhow::Error)> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        // The URL may hold a secret (Slack's do): errors name the host only.
        let target = self.url.split('/').take(3).collect::<Vec<_>>().join("/");
        let mut response = request.send(body.as_bytes()).map_err(|err| {
            (
                true,
                anyhow::Error::new(err).context(format!("failed to POST to {target}")),
            )
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_string()
            .unwrap_or_default();
        Err((
            retryable(status),
            anyhow::anyhow!(
                "the webhook at {target} answered {status}: {}",
                snippet(&text)
            ),
        ))
    }
}

impl Output for WebhookOutput {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send(&mut self, alerts: &[AlertRecord], run: &RunInfo) -> Result<Rejected> {
        if alerts.is_empty() && !self.send_empty {
            return Ok(Vec::new());
        }
        let body = json_line(&match self.format {
            WebhookFormat::Json => json_payload(alerts, run),
            WebhookFormat::Slack => json!({"text": slack_text(alerts, run)}),
        });
        let mut attempt = 0;
        loop {
            match self.post(&body) {
                Ok(()) => {
                    tracing::info!(alerts = alerts.len(), "webhook delivered");
                    return Ok(Vec::new());
                }
                Err((true, err)) if attempt < self.retry.retries => {
                    attempt += 1;
                    tracing::warn!(attempt, "{err:#}; retrying");
                    sleep(pause(&self.retry, attempt));
                }
                Err((_, err)) => bail!("{err:#}"),
            }
        }
    }
}

/// The `json` payload: the run, a one-line summary, and every alert as a document.
pub fn json_payload(alerts: &[AlertRecord], run: &RunInfo) -> Value {
    json!({
        "source": "reddalert",
        "version": env!("CARGO_PKG_VERSION"),
        "run": {
            "started": iso_time(run.started_ms),
            "since": iso_time(run.window.since_ms),
            "until": iso_time(run.window.until_ms),
        },
        "summary": digest::subject("reddalert", true, alerts),
        "count": alerts.len(),
        "alerts": alerts.iter().map(document).collect::<Vec<_>>(),
    })
}

/// The Slack text: a summary line, then one line per alert grouped by rule, cut to fit.
pub fn slack_text(alerts: &[AlertRecord], run: &RunInfo) -> String {
    let mut text = format!(
        "*{}*\nWindow {} to {}\n",
        digest::subject("reddalert", true, alerts),
        iso_time(run.window.since_ms),
        iso_time(run.window.until_ms)
    );
    let mut sorted: Vec<&AlertRecord> = alerts.iter().collect();
    sorted.sort_by(|a, b| a.rule.cmp(&b.rule));
    let mut rule = "";
    for (n, alert) in sorted.iter().enumerate() {
        let mut line = String::new();
        if alert.rule != rule {
            rule = &alert.rule;
            let _ = write!(line, "\n*{}*\n", slack_escape(rule));
        }
        let details: String = details_text(&alert.details)
            .chars()
            .take(SLACK_DETAILS)
            .collect();
        let account = alert
            .account_name()
            .map(|name| format!("[{}] ", slack_escape(name)))
            .unwrap_or_default();
        let _ = writeln!(
            line,
            "• {account}`{}` {}",
            slack_escape(&escape_text(&alert.id)),
            slack_escape(&escape_text(&details))
        );
        if text.len() + line.len() > SLACK_MAX {
            let _ = write!(text, "\n… and {} more alerts", sorted.len() - n);
            break;
        }
        text.push_str(&line);
    }
    text
}

/// Slack's three control characters.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
