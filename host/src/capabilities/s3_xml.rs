//! The S3 answers the capability reads, parsed from XML with quick-xml's serde support, and the
//! ACL turned into the JSON rules get: `[{"grantee": {"type": "Group", "uri": "…"},
//! "permission": "READ"}]`, with `id`, `display_name`, `uri` and `email` present when S3 gave
//! them. Unknown elements are ignored, so new fields in AWS's answers break nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListAllMyBucketsResult {
    #[serde(rename = "Buckets", default)]
    pub buckets: Buckets,
    #[serde(rename = "ContinuationToken")]
    pub continuation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Buckets {
    #[serde(rename = "Bucket", default)]
    pub bucket: Vec<Bucket>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Bucket {
    #[serde(rename = "Name")]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct LocationConstraint {
    #[serde(rename = "$text", default)]
    pub region: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ListBucketResult {
    #[serde(rename = "IsTruncated", default)]
    pub is_truncated: bool,
    #[serde(rename = "NextContinuationToken")]
    pub next_continuation_token: Option<String>,
    #[serde(rename = "Contents", default)]
    pub contents: Vec<Object>,
    #[serde(rename = "CommonPrefixes", default)]
    pub common_prefixes: Vec<CommonPrefix>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Object {
    #[serde(rename = "Key")]
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommonPrefix {
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct AccessControlPolicy {
    #[serde(rename = "AccessControlList", default)]
    pub list: AccessControlList,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AccessControlList {
    #[serde(rename = "Grant", default)]
    pub grants: Vec<XmlGrant>,
}

#[derive(Debug, Deserialize)]
pub(super) struct XmlGrant {
    #[serde(rename = "Grantee")]
    pub grantee: XmlGrantee,
    #[serde(rename = "Permission")]
    pub permission: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct XmlGrantee {
    #[serde(rename = "@xsi:type", alias = "@type")]
    pub kind: Option<String>,
    #[serde(rename = "ID")]
    pub id: Option<String>,
    #[serde(rename = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(rename = "URI")]
    pub uri: Option<String>,
    #[serde(rename = "EmailAddress")]
    pub email: Option<String>,
}

/// One grant as a rule sees it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub(super) struct Grant {
    pub grantee: Grantee,
    pub permission: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub(super) struct Grantee {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Parses one S3 answer.
pub(super) fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("S3's answer is not UTF-8: {e}"))?;
    quick_xml::de::from_str(text).map_err(|e| format!("S3's answer could not be read: {e}"))
}

/// The grants of an ACL, as JSON.
pub(super) fn grants_json(policy: AccessControlPolicy) -> Result<String, String> {
    let grants: Vec<Grant> = policy
        .list
        .grants
        .into_iter()
        .map(|g| {
            let e = g.grantee;
            let kind = e.kind.unwrap_or_else(|| {
                // Without xsi:type, the fields tell the kind apart.
                if e.uri.is_some() {
                    "Group"
                } else if e.email.is_some() {
                    "AmazonCustomerByEmail"
                } else {
                    "CanonicalUser"
                }
                .to_owned()
            });
            Grant {
                grantee: Grantee {
                    kind,
                    id: e.id,
                    display_name: e.display_name,
                    uri: e.uri,
                    email: e.email,
                },
                permission: g.permission,
            }
        })
        .collect();
    serde_json::to_string(&grants).map_err(|e| format!("failed to write the grants as JSON: {e}"))
}

/// `""` is us-east-1 and `EU` is eu-west-1, for historical reasons.
pub(super) fn region_of(location: &str) -> String {
    match location.trim() {
        "" => "us-east-1".into(),
        "EU" => "eu-west-1".into(),
        other => other.to_owned(),
    }
}
