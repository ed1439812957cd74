//! S3 reads through the host (capability `s3`): buckets, their locations, object listings and
//! ACLs. The host signs the requests with credentials the rule never sees and picks each
//! bucket's regional endpoint. ACLs arrive as JSON grants, parsed here into [`Grant`]s.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::net::NetError;

/// One page-complete listing of a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectListing {
    /// Object keys directly under the prefix.
    pub keys: Vec<String>,
    /// The "sub-directories": prefixes up to the next delimiter (with the delimiter).
    pub common_prefixes: Vec<String>,
}

/// One ACL grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Who is granted.
    pub grantee: Grantee,
    /// What is granted.
    pub permission: Permission,
}

/// Who a grant is for; which of the optional fields is set depends on [`GranteeType`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grantee {
    /// The kind of grantee.
    #[serde(rename = "type")]
    pub kind: GranteeType,
    /// The canonical user id (`CanonicalUser`).
    #[serde(default)]
    pub id: Option<String>,
    /// The group URI (`Group`): `http://acs.amazonaws.com/groups/global/AllUsers`, …
    #[serde(default)]
    pub uri: Option<String>,
    /// The user's display name, when S3 gives one.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The e-mail address (`AmazonCustomerByEmail`).
    #[serde(default)]
    pub email: Option<String>,
}

/// The kinds of S3 grantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GranteeType {
    /// A predefined group (everyone, authenticated users, log delivery).
    Group,
    /// An AWS account or user by canonical id.
    CanonicalUser,
    /// An AWS account by e-mail address.
    AmazonCustomerByEmail,
}

/// S3 ACL permissions, as S3 spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Permission {
    /// `READ`.
    Read,
    /// `WRITE`.
    Write,
    /// `READ_ACP`.
    ReadAcp,
    /// `WRITE_ACP`.
    WriteAcp,
    /// `FULL_CONTROL`.
    FullControl,
}

impl Permission {
    /// The name S3 uses (`FULL_CONTROL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Write => "WRITE",
            Permission::ReadAcp => "READ_ACP",
            Permission::WriteAcp => "WRITE_ACP",
            Permission::FullControl => "FULL_CONTROL",
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of the buckets the credentials own.
pub fn s3_list_buckets() -> Result<Vec<String>, NetError> {
    #[cfg(target_family = "wasm")]
    return wit::list_buckets().map_err(crate::net::error_from_wit);
    #[cfg(not(target_family = "wasm"))]
    answer(
        |c| c.buckets.clone(),
        "s3_list_buckets()",
        "s3_list_buckets",
    )
}

/// A bucket's region (`us-east-1`, `eu-west-1`, …).
pub fn s3_bucket_location(bucket: &str) -> Result<String, NetError> {
    #[cfg(target_family = "wasm")]
    return wit::bucket_location(bucket).map_err(crate::net::error_from_wit);
    #[cfg(not(target_family = "wasm"))]
    answer(
        |c| c.locations.get(bucket).cloned(),
        &format!("s3_bucket_location({bucket:?})"),
        "s3_bucket_location",
    )
}

/// The keys and common prefixes directly under `prefix`, up to `delimiter` (usually `/`).
pub fn s3_list_objects(
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<ObjectListing, NetError> {
    #[cfg(target_family = "wasm")]
    return wit::list_objects(bucket, prefix, delimiter)
        .map(|l| ObjectListing {
            keys: l.keys,
            common_prefixes: l.common_prefixes,
        })
        .map_err(crate::net::error_from_wit);
    #[cfg(not(target_family = "wasm"))]
    answer(
        |c| {
            c.listings
                .get(&(bucket.to_owned(), prefix.to_owned()))
                .cloned()
        },
        &format!("s3_list_objects({bucket:?}, {prefix:?}, {delimiter:?})"),
        "s3_list_objects",
    )
}

/// The grants of a bucket's ACL.
pub fn s3_bucket_acl(bucket: &str) -> Result<Vec<Grant>, NetError> {
    #[cfg(target_family = "wasm")]
    let json = wit::get_bucket_acl(bucket).map_err(crate::net::error_from_wit)?;
    #[cfg(not(target_family = "wasm"))]
    let json = answer(
        |c| c.bucket_acls.get(bucket).cloned(),
        &format!("s3_bucket_acl({bucket:?})"),
        "s3_bucket_acl",
    )?;
    parse_grants(&json)
}

/// The grants of an object's ACL.
pub fn s3_object_acl(bucket: &str, key: &str) -> Result<Vec<Grant>, NetError> {
    #[cfg(target_family = "wasm")]
    let json = wit::get_object_acl(bucket, key).map_err(crate::net::error_from_wit)?;
    #[cfg(not(target_family = "wasm"))]
    let json = answer(
        |c| {
            c.object_acls
                .get(&(bucket.to_owned(), key.to_owned()))
                .cloned()
        },
        &format!("s3_object_acl({bucket:?}, {key:?})"),
        "s3_object_acl",
    )?;
    parse_grants(&json)
}

fn parse_grants(json: &str) -> Result<Vec<Grant>, NetError> {
    serde_json::from_str(json)
        .map_err(|err| NetError::Transport(format!("the ACL grants are not as expected: {err}")))
}

#[cfg(target_family = "wasm")]
use crate::bindings::s3 as wit;

/// A canned answer: `Ok` or a [`NetError`].
pub(crate) type Answer<T> = Result<T, NetError>;

/// Canned answers for a native test run, given to [`crate::testing::Harness`]; listings and
/// ACLs are keyed by (bucket, prefix) and (bucket, key), ACLs kept as the host's JSON.
#[derive(Debug, Clone, Default)]
pub(crate) struct Canned {
    pub(crate) buckets: Option<Answer<Vec<String>>>,
    pub(crate) locations: HashMap<String, Answer<String>>,
    pub(crate) listings: HashMap<(String, String), Answer<ObjectListing>>,
    pub(crate) bucket_acls: HashMap<String, Answer<String>>,
    pub(crate) object_acls: HashMap<(String, String), Answer<String>>,
    pub(crate) denied: bool,
}

thread_local! {
    static CANNED: RefCell<Canned> = RefCell::new(Canned::default());
}

/// Installs the answers for one run (the harness clears them after it with the default).
pub(crate) fn install(canned: Canned) {
    CANNED.with(|c| *c.borrow_mut() = canned);
}

#[cfg(not(target_family = "wasm"))]
fn answer<T>(
    find: impl FnOnce(&Canned) -> Option<Answer<T>>,
    call: &str,
    method: &str,
) -> Answer<T> {
    CANNED.with(|c| {
        let c = c.borrow();
        if c.denied {
            return Err(NetError::Denied);
        }
        find(&c).unwrap_or_else(|| {
            Err(NetError::Transport(format!(
                "no canned answer for {call} in the test: add it with Harness::{method}"
            )))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_of_every_grantee_type_parse() {
        let json = r#"[
            {"grantee": {"type": "CanonicalUser", "id": "79a5", "display_name": "ops"}, "permission": "FULL_CONTROL"},
            {"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}, "permission": "READ"},
            {"grantee": {"type": "AmazonCustomerByEmail", "email": "a@example.net"}, "permission": "WRITE_ACP"}
        ]"#;
        let grants = parse_grants(json).expect("parses");
        assert_eq!(grants[0].grantee.kind, GranteeType::CanonicalUser);
        assert_eq!(grants[0].permission.to_string(), "FULL_CONTROL");
        assert_eq!(grants[1].grantee.id, None);
        assert_eq!(grants[2].grantee.email.as_deref(), Some("a@example.net"));
        assert_eq!(grants[2].permission, Permission::WriteAcp);
    }

    #[test]
    fn unexpected_acl_json_is_a_transport_error() {
        let err = parse_grants(r#"[{"grantee": {"type": "Robot"}, "permission": "READ"}]"#)
            .expect_err("unknown grantee type");
        assert!(
            matches!(err, NetError::Transport(m) if m.starts_with("the ACL grants are not as expected"))
        );
    }

    #[test]
    fn uncanned_calls_say_what_to_can_and_denial_wins() {
        assert_eq!(
            s3_object_acl("b", "k").expect_err("no answer"),
            NetError::Transport(
                r#"no canned answer for s3_object_acl("b", "k") in the test: add it with Harness::s3_object_acl"#
                    .into()
            )
        );
        install(Canned {
            denied: true,
            ..Canned::default()
        });
        let denied = s3_list_buckets();
        install(Canned::default());
        assert_eq!(denied, Err(NetError::Denied));
    }
}
