//! AWS credentials as the signer and the sources hold them: the keys, the session token and
//! when they stop working. The secret and the token never appear in a `Debug`.

use std::time::Duration;

use jiff::Timestamp;

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When temporary credentials stop working; `None` for long-term keys.
    pub expires: Option<Timestamp>,
}

impl Credentials {
    pub(crate) fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<String>,
        expires: Option<Timestamp>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token,
            expires,
        }
    }

    /// Whether they must be fetched again before use.
    pub(super) fn due(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|at| {
            at.duration_since(now)
                .try_into()
                .map_or(true, |left: Duration| left <= REFRESH_BEFORE)
        })
    }

    /// Whether they no longer work at all.
    pub(super) fn expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

impl std::fmt::Debug for Credentials {
    /// The key id names the identity; the secret and the token are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

/// An ISO 8601 expiry from a credential answer.
pub(super) fn expiry(text: &str) -> Result<Timestamp, String> {
    text.parse::<Timestamp>()
        .map_err(|_| format!("its expiry {text:?} is not an ISO 8601 time"))
}
