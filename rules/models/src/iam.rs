//! IAM documents: `aws.iamUsers` (a document EDDA builds itself, not an SDK bean).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::nullable;

/// An `aws.iamUsers` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamUser {
    /// The user name (its EDDA id).
    pub name: String,
    /// Group names, in AWS order.
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<String>,
    /// The `User` bean (arn, createDate, …), kept as served.
    #[serde(default)]
    pub attributes: Option<Value>,
    /// Access keys, kept as served.
    #[serde(default, deserialize_with = "nullable")]
    pub access_keys: Vec<Value>,
    /// Inline policy names.
    #[serde(default, deserialize_with = "nullable")]
    pub user_policies: Vec<String>,
}
