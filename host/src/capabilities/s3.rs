//! The `s3` capability: the bucket and object reads the original's s3acl rule made (list
//! buckets, bucket location, list objects by prefix and delimiter, bucket and object ACLs), as
//! signed GETs ([`super::sigv4`]) with credentials the guest never sees. Against AWS each bucket
//! is addressed in its own region (its location is asked once per run and cached), virtual-host
//! style when the name allows it; with an `endpoint` override (an S3-compatible server, moto in
//! the tests) every request goes path style to that endpoint, signed for the configured region.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;

use super::s3_xml::{self, AccessControlPolicy, ListAllMyBucketsResult, ListBucketResult};
use super::sigv4::{self, Canonical, Credentials, EMPTY_SHA256};
use crate::config::{CredentialSource, S3Settings};
use crate::contract::{NetError, ObjectListing};

/// Largest S3 answer read.
const MAX_ANSWER_BYTES: u64 = 64 << 20;
/// Attempts of one request when S3 answers 5xx or the connection fails.
const ATTEMPTS: u32 = 3;

/// What a request addresses.
enum Target<'a> {
    Service,
    Bucket(&'a str),
    Object(&'a str, &'a str),
}

pub(super) struct S3Client {
    settings: S3Settings,
    credentials: Credentials,
    agent: ureq::Agent,
    regions: Mutex<HashMap<String, String>>,
}

impl S3Client {
    pub(super) fn connect(settings: &S3Settings) -> Result<S3Client, String> {
        let credentials = match &settings.credentials {
            CredentialSource::Literal {
                access_key_id,
                secret_access_key,
            } => Credentials {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: None,
            },
            CredentialSource::Env {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
                let (Some(id), Some(secret)) = (var(access_key_id), var(secret_access_key)) else {
                    return Err(format!(
                        "no S3 credentials: set the environment variables {access_key_id} and \
                         {secret_access_key} (their names are [s3] access_key_id_env and secret_access_key_env)"
                    ));
                };
                Credentials {
                    access_key_id: id,
                    secret_access_key: secret,
                    session_token: var(session_token),
                }
            }
        };
        let agent = crate::httpclient::agent_config(settings.timeout)
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(S3Client {
            settings: settings.clone(),
            credentials,
            agent,
            regions: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn list_buckets(&self) -> Result<Vec<String>, NetError> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![];
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let page: ListAllMyBucketsResult =
                parsed(self.get(&self.settings.region, Target::Service, &query)?)?;
            names.extend(page.buckets.bucket.into_iter().map(|b| b.name));
            match page.continuation_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(names),
            }
        }
    }

    pub(super) fn bucket_location(&self, bucket: &str) -> Result<String, NetError> {
        check_bucket(bucket)?;
        if let Some(region) = lock(&self.regions).get(bucket) {
            return Ok(region.clone());
        }
        let answer: s3_xml::LocationConstraint = parsed(self.get(
            &self.settings.region,
            Target::Bucket(bucket),
            &[("location", "")],
        )?)?;
        let region = s3_xml::region_of(&answer.region);
        lock(&self.regions).insert(bucket.to_owned(), region.clone());
        Ok(region)
    }

    pub(super) fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectListing, NetError> {
        let region = self.region_for(bucket)?;
        let mut listing = ObjectListing::default();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(d) = delimiter {
                query.push(("delimiter", d));
            }
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let page: ListBucketResult =
                parsed(self.get(&region, Target::Bucket(bucket), &query)?)?;
            listing
                .keys
                .extend(page.contents.into_iter().map(|o| o.key));
            listing
                .common_prefixes
                .extend(page.common_prefixes.into_iter().map(|p| p.prefix));
            let count = listing.keys.len() + listing.common_prefixes.len();
            if count >= self.settings.max_keys {
                tracing::debug!(bucket, prefix, count, "S3 listing cut at max_keys");
                listing.keys.truncate(self.settings.max_keys);
                let left = self.settings.max_keys - listing.keys.len();
                listing.common_prefixes.truncate(left);
                return Ok(listing);
            }
            match page.next_continuation_token.filter(|_| page.is_truncated) {
                Some(t) => token = Some(t),
                None => return Ok(listing),
            }
        }
    }

    pub(super) fn bucket_acl(&self, bucket: &str) -> Result<String, NetError> {
        let region = self.region_for(bucket)?;
        let policy: AccessControlPolicy =
            parsed(self.get(&region, Target::Bucket(bucket), &[("acl", "")])?)?;
        s3_xml::grants_json(policy).map_err(NetError::Transport)
    }

    pub(super) fn object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        let region = self.region_for(bucket)?;
        if key.is_empty() {
            return Err(NetError::Transport("an object key cannot be empty".into()));
        }
        let policy: AccessControlPolicy =
            parsed(self.get(&region, Target::Object(bucket, key), &[("acl", "")])?)?;
        s3_xml::grants_json(policy).map_err(NetError::Transport)
    }

    /// The region a bucket's requests are signed for.
    fn region_for(&self, bucket: &str) -> Result<String, NetError> {
        check_bucket(bucket)?;
        match self.settings.endpoint {
            Some(_) => Ok(self.settings.region.clone()),
            None => self.bucket_location(bucket),
        }
    }

    /// (scheme://authority, URI-encoded path) of a target.
    fn address(&self, region: &str, target: &Target<'_>) -> (String, String) {
        let key_path = |key: &str| format!("/{}", sigv4::encode(key, true));
        if let Some(endpoint) = &self.settings.endpoint {
            let path = match target {
                Target::Service => "/".to_owned(),
                Target::Bucket(b) => format!("/{b}"),
                Target::Object(b, k) => format!("/{b}{}", key_path(k)),
            };
            return (endpoint.clone(), path);
        }
        let regional = format!("s3.{region}.amazonaws.com");
        match target {
            Target::Service => (format!("https://{regional}"), "/".into()),
            Target::Bucket(b) | Target::Object(b, _) => {
                let path = match target {
                    Target::Object(_, k) => key_path(k),
                    _ => "/".into(),
                };
                // Names with dots break TLS under virtual hosting; they go path style.
                if b.contains('.') {
                    (
                        format!("https://{regional}"),
                        format!("/{b}{}", if path == "/" { "" } else { &path }),
                    )
                } else {
                    (format!("https://{b}.{regional}"), path)
                }
            }
        }
    }

    fn get(
        &self,
        region: &str,
        target: Target<'_>,
        params: &[(&str, &str)],
    ) -> Result<Vec<u8>, NetError> {
        let mut last = NetError::Transport("no attempt made".into());
        for attempt in 1..=ATTEMPTS {
            match self.get_once(region, &target, params) {
                Ok(body) => return Ok(body),
                Err((err, retry)) if retry && attempt < ATTEMPTS => {
                    tracing::debug!(attempt, error = ?err, "S3 request failed; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
                    last = err;
                }
                Err((err, _)) => return Err(err),
            }
        }
        Err(last)
    }

    /// One signed GET; on failure, the error and whether it is worth retrying.
    fn get_once(
        &self,
        region: &str,
        target: &Target<'_>,
        params: &[(&str, &str)],
    ) -> Result<Vec<u8>, (NetError, bool)> {
        let (base, path) = self.address(region, target);
        let query = sigv4::canonical_query(params);
        let url = if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{query}")
        };
        let host = base.split_once("://").map_or(base.as_str(), |(_, h)| h);
        // The Host header ureq sends leaves out the scheme's default port; so must the signature.
        let default_port = if base.starts_with("https:") {
            ":443"
        } else {
            ":80"
        };
        let host = host.strip_suffix(default_port).unwrap_or(host);
        let amz_date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let mut headers = vec![
            ("host".to_owned(), host.to_owned()),
            ("x-amz-content-sha256".to_owned(), EMPTY_SHA256.to_owned()),
            ("x-amz-date".to_owned(), amz_date.clone()),
        ];
        if let Some(token) = &self.credentials.session_token {
            headers.push(("x-amz-security-token".to_owned(), token.clone()));
        }
        let canonical = Canonical {
            method: "GET",
            uri: &path,
            query: &query,
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        let authorization =
            sigv4::authorization(&self.credentials, &canonical, region, "s3", &amz_date);
        let mut request = self.agent.get(&url).header("Authorization", &authorization);
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        let response = request.call().map_err(|e| match e {
            e if super::is_timeout(&e) => (NetError::Timeout, true),
            other => (NetError::Transport(format!("S3 at {base}: {other}")), true),
        })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut body)
            .map_err(|e| (NetError::Transport(format!("S3 at {base}: {e}")), true))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let error: Option<s3_xml::ErrorBody> = s3_xml::parse(&body).ok();
        let (code, message) = error.map_or((String::new(), String::new()), |e| (e.code, e.message));
        tracing::warn!(status, code = %code, message = %message, url = %url, "S3 refused a request");
        Err((NetError::Http(status), status >= 500))
    }
}

fn parsed<T: for<'de> serde::Deserialize<'de>>(body: Vec<u8>) -> Result<T, NetError> {
    s3_xml::parse(&body).map_err(NetError::Transport)
}

/// Bucket names go into URLs unencoded, so only S3's own alphabet is accepted.
fn check_bucket(bucket: &str) -> Result<(), NetError> {
    let ok = (1..=255).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(NetError::Transport(format!(
            "{bucket:?} is not an S3 bucket name"
        )))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
