//! The `s3` capability: the bucket and object reads the original's s3acl rule made (list
//! buckets, bucket location, list objects by prefix and delimiter, bucket and object ACLs), as
//! signed GETs through the host's AWS client ([`crate::aws`]: the same credential chain,
//! signer and endpoint rules as the crawl), with credentials the guest never sees. Against AWS
//! each bucket is addressed in its own region (its location is asked once per run and cached),
//! virtual-host style when the name allows it; with an endpoint of the operator's (`[s3]
//! endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`: an S3-compatible server, moto in the
//! tests) every request goes path style to it, signed for the configured region.

use std::collections::HashMap;
use std::sync::Mutex;

use super::s3_xml::{self, AccessControlPolicy, ListAllMyBucketsResult, ListBucketResult};
use crate::aws::{self, AwsError};
use crate::config::S3Settings;
use crate::contract::{NetError, ObjectListing};

pub(super) struct S3Client {
    settings: S3Settings,
    client: aws::Client,
    regions: Mutex<HashMap<String, String>>,
}

impl S3Client {
    /// A client whose credentials are resolved now: a missing key fails every call of the
    /// rule with one clear error, before any request.
    pub(super) fn connect(settings: &S3Settings) -> Result<S3Client, String> {
        let client = aws::Client::for_s3(settings, aws::Env::process())
            .and_then(|client| client.check_credentials().map(|()| client))
            .map_err(|err| format!("no S3 credentials: {err}"))?;
        Ok(S3Client {
            settings: settings.clone(),
            client,
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
                parsed(self.get("ListBuckets", &self.settings.region, None, None, &query)?)?;
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
            "GetBucketLocation",
            &self.settings.region,
            Some(bucket),
            None,
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
                parsed(self.get("ListObjectsV2", &region, Some(bucket), None, &query)?)?;
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
            parsed(self.get("GetBucketAcl", &region, Some(bucket), None, &[("acl", "")])?)?;
        s3_xml::grants_json(policy).map_err(NetError::Transport)
    }

    pub(super) fn object_acl(&self, bucket: &str, key: &str) -> Result<String, NetError> {
        let region = self.region_for(bucket)?;
        if key.is_empty() {
            return Err(NetError::Transport("an object key cannot be empty".into()));
        }
        let policy: AccessControlPolicy = parsed(self.get(
            "GetObjectAcl",
            &region,
            Some(bucket),
            Some(key),
            &[("acl", "")],
        )?)?;
        s3_xml::grants_json(policy).map_err(NetError::Transport)
    }

    /// The region a bucket's requests are signed for.
    fn region_for(&self, bucket: &str) -> Result<String, NetError> {
        check_bucket(bucket)?;
        let custom = self
            .client
            .s3_endpoint_is_custom(&self.settings.region)
            .map_err(|e| net_error(&e))?;
        if custom {
            Ok(self.settings.region.clone())
        } else {
            self.bucket_location(bucket)
        }
    }

    fn get(
        &self,
        action: &str,
        region: &str,
        bucket: Option<&str>,
        key: Option<&str>,
        params: &[(&str, &str)],
    ) -> Result<String, NetError> {
        self.client
            .s3_get(action, region, bucket, key, params)
            .map_err(|err| {
                if let AwsError::Api { .. } = err {
                    tracing::warn!(error = %err, "S3 refused a request");
                }
                net_error(&err)
            })
    }
}

/// What a rule sees of a failed call: S3's status, a timeout, or the reason as text.
fn net_error(err: &AwsError) -> NetError {
    match err {
        AwsError::Api { status, .. } => NetError::Http(*status),
        AwsError::Transport {
            timed_out: true, ..
        } => NetError::Timeout,
        other => NetError::Transport(other.to_string()),
    }
}

fn parsed<T: for<'de> serde::Deserialize<'de>>(body: String) -> Result<T, NetError> {
    s3_xml::parse(body.as_bytes()).map_err(NetError::Transport)
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
