//! Elasticsearch through the `_bulk` API: one `create` action per alert with a document id
//! derived from the alert ([`super::document_id`]), so a retry or a redelivered waiting alert
//! never indexes twice (Elasticsearch answers 409 and that counts as delivered). The answer
//! is read item by item: `errors: true` means some failed; those answered 429 or 5xx are
//! sent again, alone, after a doubling pause, a bounded number of times, and the rest are
//! reported as refused, so they wait for the next run.

use std::collections::HashMap;
use std::thread::sleep;

use anyhow::Result;
use serde::Deserialize;

use super::http::{self, basic_auth, pause, retryable, snippet};
use super::{AlertRecord, Output, Rejected, RunInfo, bulk_body};
use crate::config::{EsSettings, Retry, secret};

/// Documents per `_bulk` request; alerts are small, so this stays far below the 100 MB limit.
const CHUNK: usize = 500;
/// Largest `_bulk` answer read.
const MAX_ANSWER: u64 = 64 << 20;

pub(super) struct EsOutput {
    agent: ureq::Agent,
    bulk_url: String,
    index: String,
    authorization: Option<String>,
    retry: Retry,
}

#[derive(Deserialize)]
struct BulkAnswer {
    errors: bool,
    #[serde(default)]
    items: Vec<HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// Why a whole request failed, and whether trying again may help.
struct RequestError {
    retry: bool,
    error: anyhow::Error,
}

impl EsOutput {
    pub(super) fn new(settings: &EsSettings) -> Result<EsOutput> {
        let authorization = match (
            &settings.username,
            &settings.password_env,
            &settings.api_key_env,
        ) {
            (Some(user), Some(var), _) => Some(basic_auth(
                user,
                &secret(var, "elasticsearch.password_env")?,
            )),
            (_, _, Some(var)) => Some(format!(
                "ApiKey {}",
                secret(var, "elasticsearch.api_key_env")?
            )),
            _ => None,
        };
        Ok(EsOutput {
            agent: http::agent(
                settings.timeout,
                settings.ca_file.as_deref(),
                "elasticsearch.ca_file",
            )?,
            bulk_url: format!("{}/_bulk", settings.url),
            index: settings.index.clone(),
            authorization,
            retry: settings.retry,
        })
    }

    /// Sends one chunk, retrying what may pass later; returns what was refused for good.
    fn send_chunk(&self, alerts: &[AlertRecord], chunk: Vec<usize>) -> Result<Rejected> {
        let mut todo = chunk;
        let mut refused = Vec::new();
        let mut attempt = 0;
        loop {
            let batch: Vec<&AlertRecord> = todo.iter().map(|&i| &alerts[i]).collect();
            let body = bulk_body(&batch, &self.index)?;
            let answer = match self.post(body) {
                Ok(answer) => answer,
                Err(failed) if failed.retry && attempt < self.retry.retries => {
                    attempt += 1;
                    tracing::warn!(attempt, "elasticsearch: {:#}; retrying", failed.error);
                    sleep(pause(&self.retry, attempt));
                    continue;
                }
                Err(failed) => return Err(failed.error),
            };
            if !answer.errors {
                return Ok(refused);
            }
            let mut again = Vec::new();
            for (n, &i) in todo.iter().enumerate() {
                let Some(item) = answer.items.get(n).and_then(|item| item.values().next()) else {
                    refused.push((
                        i,
                        "elasticsearch gave no answer for this document".to_owned(),
                    ));
                    continue;
                };
                if (200..300).contains(&item.status) || item.status == 409 {
                    continue;
                }
                let reason = item_reason(item);
                if retryable(item.status) {
                    again.push((i, reason));
                } else {
                    refused.push((i, reason));
                }
            }
            if again.is_empty() {
                return Ok(refused);
            }
            if attempt >= self.retry.retries {
                refused.extend(again);
                return Ok(refused);
            }
            attempt += 1;
            tracing::warn!(
                attempt,
                documents = again.len(),
                "elasticsearch refused some documents for now ({}); retrying those",
                again[0].1
            );
            sleep(pause(&self.retry, attempt));
            todo = again.into_iter().map(|(i, _)| i).collect();
        }
    }

    fn post(&self, body: String) -> Result<BulkAnswer, RequestError> {
        let mut request = self
            .agent
            .post(&self.bulk_url)
            .header("Content-Type", "application/x-ndjson");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let mut response = request.send(body.as_bytes()).map_err(|err| RequestError {
            retry: true,
            error: anyhow::Error::new(err).context(format!("failed to POST {}", self.bulk_url)),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|err| RequestError {
                retry: true,
                error: anyhow::Error::new(err).context("failed to read the _bulk answer"),
            })?;
        if !(200..300).contains(&status) {
            return Err(RequestError {
                retry: retryable(status),
                error: anyhow::anyhow!("{} answered {status}: {}", self.bulk_url, snippet(&text)),
            });
        }
        serde_json::from_str(&text).map_err(|err| RequestError {
            retry: false,
            error: anyhow::Error::new(err).context(format!(
                "failed to read the _bulk answer of {}: {}",
                self.bulk_url,
                snippet(&text)
            )),
        })
    }
}

impl Output for EsOutput {
    fn name(&self) -> &'static str {
        "elasticsearch"
    }

    fn send(&mut self, alerts: &[AlertRecord], _run: &RunInfo) -> Result<Rejected> {
        let mut refused = Vec::new();
        let indices: Vec<usize> = (0..alerts.len()).collect();
        for (n, chunk) in indices.chunks(CHUNK).enumerate() {
            match self.send_chunk(alerts, chunk.to_vec()) {
                Ok(r) => refused.extend(r),
                // Nothing taken yet: the output failed as a whole.
                Err(err) if n == 0 => return Err(err),
                Err(err) => {
                    let reason = format!("{err:#}");
                    refused.extend(indices[n * CHUNK..].iter().map(|&i| (i, reason.clone())));
                    break;
                }
            }
        }
        if !alerts.is_empty() {
            tracing::info!(
                documents = alerts.len() - refused.len(),
                refused = refused.len(),
                "elasticsearch bulk delivery done"
            );
        }
        Ok(refused)
    }
}

fn item_reason(item: &BulkItem) -> String {
    let error = item.error.as_ref();
    let kind = error.and_then(|e| e.get("type")).and_then(|t| t.as_str());
    let reason = error.and_then(|e| e.get("reason")).and_then(|t| t.as_str());
    match (kind, reason) {
        (Some(k), Some(r)) => format!("elasticsearch answered {} ({k}: {r})", item.status),
        (Some(k), None) => format!("elasticsearch answered {} ({k})", item.status),
        _ => format!("elasticsearch answered {}", item.status),
    }
}
