//! The `chef` capability: a partial search of the Chef server's nodes, as the original's
//! non_chef and route53unknown rules made through PyChef. `POST <server>/search/node?q=…`
//! with a body naming the attributes wanted (`{"ip": ["ipaddress"]}`), signed with the API
//! client's key ([`super::chef_auth`]), fetched in pages of 2,000 rows (at most 5 pages), each
//! page retried up to 5 times after a 5xx answer or a transport error. The rule gets a JSON
//! array with one object per node holding the attributes it asked for.

use std::io::Read as _;
use std::time::Duration;

use rsa::PrivateKey;
use serde::Deserialize;

use super::chef_auth::{self, SERVER_API_VERSION, SignedRequest};
use crate::config::ChefSettings;
use crate::contract::NetError;

/// Largest search page accepted.
const MAX_PAGE_BYTES: u64 = 256 << 20;

/// A connection to the Chef server, with the client key loaded.
pub(super) struct ChefClient {
    settings: ChefSettings,
    key: PrivateKey,
    agent: ureq::Agent,
    url: String,
    path: String,
}

#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    rows: Vec<serde_json::Value>,
}

/// How one attempt failed: worth another try, or not.
enum Attempt {
    Retry(NetError),
    Fail(NetError),
}

impl ChefClient {
    pub(super) fn connect(settings: &ChefSettings) -> Result<ChefClient, String> {
        let file = settings.key_file.display();
        let pem = std::fs::read_to_string(&settings.key_file)
            .map_err(|e| format!("failed to read the Chef client key {file}: {e}"))?;
        let key =
            chef_auth::parse_key(&pem).map_err(|e| format!("the Chef client key {file} is {e}"))?;
        let url = format!("{}/search/node", settings.server_url);
        let uri: ureq::http::Uri = url.parse().map_err(|e| {
            format!(
                "chef server_url {:?} is not a URL: {e}",
                settings.server_url
            )
        })?;
        let agent = crate::httpclient::agent_config(settings.timeout)
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(ChefClient {
            path: uri.path().to_owned(),
            settings: settings.clone(),
            key,
            agent,
            url,
        })
    }

    /// Every node matching `query`, as objects of the requested attributes.
    pub(super) fn search(&self, query: &str, attributes: &str) -> Result<String, NetError> {
        let body = partial_search_body(attributes).map_err(NetError::Transport)?;
        let rows_per_page = u64::from(self.settings.page_rows);
        let mut rows = Vec::new();
        let mut total = 0;
        for page in 0..u64::from(self.settings.max_pages) {
            let found = self.page(query, page * rows_per_page, &body)?;
            total = found.total;
            let got = found.rows.len();
            rows.extend(found.rows.into_iter().map(|row| match row {
                serde_json::Value::Object(mut o) => {
                    o.remove("data").unwrap_or(serde_json::Value::Object(o))
                }
                other => other,
            }));
            if got == 0 || rows.len() as u64 >= total {
                break;
            }
        }
        if (rows.len() as u64) < total {
            tracing::warn!(
                query,
                total,
                returned = rows.len(),
                "Chef search matched more nodes than max_pages × page_rows; the rest is left out"
            );
        }
        serde_json::to_string(&rows).map_err(|e| NetError::Transport(e.to_string()))
    }

    fn page(&self, query: &str, start: u64, body: &str) -> Result<SearchPage, NetError> {
        let mut attempt = 0;
        loop {
            match self.post(query, start, body) {
                Ok(page) => return Ok(page),
                Err(Attempt::Retry(err)) if attempt < self.settings.retries => {
                    attempt += 1;
                    tracing::warn!(query, start, attempt, error = ?err, "Chef search failed; retrying");
                    std::thread::sleep(Duration::from_millis(100 << attempt.min(4)));
                }
                Err(Attempt::Retry(err) | Attempt::Fail(err)) => return Err(err),
            }
        }
    }

    fn post(&self, query: &str, start: u64, body: &str) -> Result<SearchPage, Attempt> {
        let timestamp = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let signed = chef_auth::sign(
            &self.key,
            self.settings.sign_version,
            &SignedRequest {
                method: "POST",
                path: &self.path,
                body: body.as_bytes(),
                user: &self.settings.client_name,
                timestamp: &timestamp,
            },
        )
        .map_err(|e| Attempt::Fail(NetError::Transport(e)))?;
        let mut request = self
            .agent
            .post(&self.url)
            .query("q", query)
            .query("rows", self.settings.page_rows.to_string())
            .query("start", start.to_string())
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("X-Chef-Version", "12.0.0")
            .header("X-Ops-Server-API-Version", SERVER_API_VERSION);
        for (name, value) in &signed {
            request = request.header(name, value);
        }
        let response = request.send(body).map_err(|e| match e {
            e if super::is_timeout(&e) => Attempt::Retry(NetError::Timeout),
            other => Attempt::Retry(NetError::Transport(format!("Chef server: {other}"))),
        })?;
        let status = response.status().as_u16();
        let mut text = String::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_PAGE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| Attempt::Retry(NetError::Transport(format!("Chef server: {e}"))))?;
        match status {
            200..=299 => serde_json::from_str(&text).map_err(|e| {
                Attempt::Fail(NetError::Transport(format!(
                    "the Chef server's answer is not a search result: {e}"
                )))
            }),
            500..=599 => Err(Attempt::Retry(NetError::Http(status))),
            _ => {
                let snippet: String = text.chars().take(300).collect();
                tracing::error!(status, answer = %snippet, url = %self.url, "the Chef server refused the search");
                Err(Attempt::Fail(NetError::Http(status)))
            }
        }
    }
}

/// `{"name": "a.b"}` or `{"name": ["a", "b"]}` → the partial search body `{"name": ["a", "b"]}`.
fn partial_search_body(attributes: &str) -> Result<String, String> {
    let usage = "attributes must be a JSON object of name -> attribute path (\"cloud.public_ipv4\" or [\"cloud\", \"public_ipv4\"])";
    let value: serde_json::Value =
        serde_json::from_str(attributes).map_err(|e| format!("{usage}: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(usage.into());
    };
    if map.is_empty() {
        return Err(format!("{usage}; it is empty"));
    }
    let mut body = serde_json::Map::new();
    for (name, path) in map {
        let path: Vec<serde_json::Value> = match path {
            serde_json::Value::String(s) => s.split('.').map(|p| p.into()).collect(),
            serde_json::Value::Array(parts)
                if parts.iter().all(|p| p.is_string()) && !parts.is_empty() =>
            {
                parts
            }
            _ => return Err(format!("{usage}; {name:?} is neither")),
        };
        body.insert(name, serde_json::Value::Array(path));
    }
    Ok(serde_json::Value::Object(body).to_string())
}
