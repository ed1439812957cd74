//! How an AWS call fails, typed so that callers can tell "no credentials" (fatal for a crawl)
//! from an API's refusal or an unreachable endpoint (that collection fails), and which
//! answers are worth another attempt (throttling, 5xx, a dropped connection). No variant ever
//! holds a secret: credential sources build their reasons from names and statuses, never from
//! the bodies or files that hold keys.

use super::Service;

/// One source of the credential chain that had nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tried {
    /// `environment`, `web identity`, `shared files`, `container`, `instance metadata`.
    pub name: &'static str,
    pub why: String,
}

/// A failed AWS call or credential lookup.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AwsError {
    /// No source of the chain had credentials.
    #[error("no AWS credentials found; tried {}", tried_list(tried))]
    NoCredentials { tried: Vec<Tried> },
    /// A source that is configured (its variables set, its profile named) failed; the chain
    /// stops there rather than fall through to another identity.
    #[error("failed to get AWS credentials from {from}: {why}")]
    Credentials { from: String, why: String },
    /// AWS answered with an error.
    #[error(
        "{service} {action} in {region} failed: {} (HTTP {status}){}{}{}",
        if code.is_empty() { "no error code" } else { code },
        if message.is_empty() { String::new() } else { format!(": {message}") },
        request_id.as_ref().map(|r| format!(" [request id {r}]")).unwrap_or_default(),
        after(*attempts)
    )]
    Api {
        service: Service,
        action: String,
        region: String,
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        attempts: u32,
    },
    /// No usable answer: the connection failed or timed out, or the answer was too large or
    /// not text.
    #[error("{service} {action} in {region} failed: {why} ({endpoint}){}", after(*attempts))]
    Transport {
        service: Service,
        action: String,
        region: String,
        endpoint: String,
        why: String,
        timed_out: bool,
        attempts: u32,
    },
    /// A setting the environment gave is unusable (an endpoint URL that is not one).
    #[error("invalid AWS setting: {0}")]
    Config(String),
}

fn tried_list(tried: &[Tried]) -> String {
    let each: Vec<String> = tried
        .iter()
        .map(|t| format!("{} ({})", t.name, t.why))
        .collect();
    each.join("; ")
}

fn after(attempts: u32) -> String {
    if attempts > 1 {
        format!(", after {attempts} attempts")
    } else {
        String::new()
    }
}

/// Error codes that say the caller's credentials, not its permissions, are wrong.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
];

/// Throttling codes of every AWS API (botocore's standard retry mode lists the same).
const THROTTLING_CODES: &[&str] = &[
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
    "LimitExceededException",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ThrottledException",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "TransactionInProgressException",
];

/// Codes of failures that pass: the same request may well succeed a moment later.
const TRANSIENT_CODES: &[&str] = &[
    "IDPCommunicationError",
    "InternalError",
    "InternalFailure",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
];

/// Whether an error answer is worth another attempt.
pub(crate) fn is_retryable(status: u16, code: &str) -> bool {
    status == 429
        || status >= 500
        || THROTTLING_CODES.contains(&code)
        || TRANSIENT_CODES.contains(&code)
}

/// Whether the answer says the session token expired (the credentials are fetched again).
pub(crate) fn is_expired_token(code: &str) -> bool {
    matches!(code, "ExpiredToken" | "ExpiredTokenException")
}

impl AwsError {
    /// Whether the call failed for want of working credentials: none found, a source that
    /// failed, or AWS refusing the keys themselves (not their permissions).
    pub(crate) fn is_credentials(&self) -> bool {
        match self {
            AwsError::NoCredentials { .. } | AwsError::Credentials { .. } => true,
            AwsError::Api { code, .. } => CREDENTIAL_CODES.contains(&code.as_str()),
            AwsError::Transport { .. } | AwsError::Config(_) => false,
        }
    }

    /// The AWS error code, when AWS answered one.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, status: u16) -> AwsError {
        AwsError::Api {
            service: Service::Ec2,
            action: "DescribeInstances".into(),
            region: "eu-west-1".into(),
            status,
            code: code.into(),
            message: "m".into(),
            request_id: Some("r-1".into()),
            attempts: 3,
        }
    }

    #[test]
    fn an_api_error_names_service_action_region_status_code_message_and_request_id() {
        assert_eq!(
            api("AccessDenied", 403).to_string(),
            "EC2 DescribeInstances in eu-west-1 failed: AccessDenied (HTTP 403): m \
             [request id r-1], after 3 attempts"
        );
    }

    #[test]
    fn no_credentials_lists_each_source_and_why() {
        let err = AwsError::NoCredentials {
            tried: vec![
                Tried {
                    name: "environment",
                    why: "AWS_ACCESS_KEY_ID is not set".into(),
                },
                Tried {
                    name: "instance metadata",
                    why: "timed out".into(),
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            "no AWS credentials found; tried environment (AWS_ACCESS_KEY_ID is not set); \
             instance metadata (timed out)"
        );
        assert!(err.is_credentials());
    }

    #[test]
    fn classifies_codes() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
            "RequestThrottled",
        ] {
            assert!(is_retryable(400, code), "{code}");
        }
        assert!(is_retryable(429, ""));
        assert!(is_retryable(503, "ServiceUnavailable"));
        assert!(is_retryable(500, ""));
        assert!(!is_retryable(403, "AccessDenied"));
        assert!(!is_retryable(400, "ValidationError"));
        assert!(api("SignatureDoesNotMatch", 403).is_credentials());
        assert!(api("InvalidClientTokenId", 403).is_credentials());
        assert!(!api("AccessDenied", 403).is_credentials());
        assert!(!api("Throttling", 400).is_credentials());
    }
}
