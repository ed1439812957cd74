//! The capability keys of the config file as written, before validation: `[capabilities]`,
//! `[grant.<rule>]`, `[chef]` and `[s3]`. Every field is optional and documented; unknown keys
//! are errors, so a typo never silently widens or narrows what a rule may reach.

use serde::Deserialize;

/// `[capabilities]`: defaults for every rule's capability calls.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapabilities {
    /// Requests or probes of one `http-get-many` or `tcp-probe-many` call run at once (default 16).
    pub concurrency: Option<usize>,
    /// Timeout of one HTTP GET, redirects included, seconds (default 3).
    pub http_timeout_seconds: Option<f64>,
    /// Bytes of an HTTP body handed to the rule, KiB (default 64); the rest is not read.
    pub http_body_max_kib: Option<u64>,
    /// Redirects followed when a call asks to follow them (default 5).
    pub http_max_redirects: Option<u32>,
    /// Timeout of one TCP connect probe, seconds (default 3).
    pub tcp_timeout_seconds: Option<f64>,
    /// HTTP GETs one rule may make per run (default 2000).
    pub max_http_calls: Option<u64>,
    /// TCP probes one rule may make per run (default 2000).
    pub max_tcp_probes: Option<u64>,
    /// Chef searches one rule may make per run (default 20).
    pub max_chef_calls: Option<u64>,
    /// S3 calls one rule may make per run (default 10000).
    pub max_s3_calls: Option<u64>,
}

/// `[grant.<rule>]`: what the operator lets one rule do. Everything is off unless set.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    /// Allow `http-get` and `http-get-many`.
    #[serde(default)]
    pub http: bool,
    /// Allow `tcp-probe` and `tcp-probe-many`.
    #[serde(default)]
    pub tcp_probe: bool,
    /// Allow Chef node searches (needs `[chef]`).
    #[serde(default)]
    pub chef: bool,
    /// Allow S3 reads (needs credentials, see `[s3]`).
    #[serde(default)]
    pub s3: bool,
    /// HTTP and TCP targets allowed; when set, nothing else is: `host`, `*.domain`, an IP or a CIDR.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// HTTP and TCP targets refused even when allowed; same forms as `allow_hosts`.
    #[serde(default)]
    pub deny_hosts: Vec<String>,
    /// Allow private, loopback, link-local and other non-public addresses (refused by default).
    #[serde(default)]
    pub allow_private: bool,
    /// Calls of each capability this rule may make per run, instead of the `max_*` defaults.
    pub max_calls: Option<u64>,
}

/// `[chef]`: the Chef server the `chef` capability searches.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChef {
    /// Server URL with the organization: `https://chef.example.com/organizations/ops`.
    pub server_url: Option<String>,
    /// The API client's name (sent as X-Ops-Userid).
    pub client_name: Option<String>,
    /// The API client's private key (PEM, PKCS#1 or PKCS#8), relative to this file; only the
    /// host reads it.
    pub client_key_file: Option<String>,
    /// Request signing: "1.1" (SHA-1, every Chef server; default) or "1.3" (SHA-256, Chef
    /// Server 12.4 and later).
    pub sign_version: Option<String>,
    /// Timeout of one request, seconds (default 30).
    pub timeout_seconds: Option<f64>,
    /// Rows per search page (default 2000, as the original).
    pub page_rows: Option<u32>,
    /// Pages fetched at most per search (default 5).
    pub max_pages: Option<u32>,
    /// Retries of a page after a 5xx answer or a transport error (default 5).
    pub retries: Option<u32>,
}

/// `[s3]`: the S3 API the `s3` capability reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawS3 {
    /// Region of the default endpoint and of request signing (default "us-east-1").
    pub region: Option<String>,
    /// Endpoint URL instead of AWS's (an S3-compatible server); requests then use path style.
    pub endpoint: Option<String>,
    /// Environment variable holding the access key id (default AWS_ACCESS_KEY_ID).
    pub access_key_id_env: Option<String>,
    /// Environment variable holding the secret access key (default AWS_SECRET_ACCESS_KEY).
    pub secret_access_key_env: Option<String>,
    /// Environment variable holding a session token, used when set (default AWS_SESSION_TOKEN).
    pub session_token_env: Option<String>,
    /// Timeout of one request, seconds (default 30).
    pub timeout_seconds: Option<f64>,
    /// Keys plus common prefixes one list-objects call returns at most (default 10000).
    pub max_keys: Option<usize>,
}
