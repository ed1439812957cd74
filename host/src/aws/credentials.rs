//! Credentials: the standard chain in the AWS SDKs' order ([`chain`]), fixed keys or named
//! variables where the S3 settings give them, and an optional role assumed on top through
//! STS. Temporary credentials are cached and fetched again five minutes before they expire;
//! when that fails while the old ones still work, the old ones are used (and the failure
//! logged). The secret and the session token never appear in a log, an error or a `Debug`.

mod chain;
mod container;
mod imds;
mod profile;
mod sts;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;

use super::AwsError;
use super::endpoint::Resolver;
use super::env::Env;
use super::transport::Transport;

pub(crate) use container::parse_json;
pub(crate) use sts::Role;

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
    fn due(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|at| {
            at.duration_since(now)
                .try_into()
                .map_or(true, |left: Duration| left <= REFRESH_BEFORE)
        })
    }

    /// Whether they no longer work at all.
    fn expired(&self, now: Timestamp) -> bool {
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

/// Where a client's credentials come from.
#[derive(Clone)]
pub(crate) enum Origin {
    /// The standard chain.
    Chain,
    /// Fixed keys (the original's `plugin.s3acl.{user, key}`).
    Fixed(Credentials),
    /// Environment variables the config names (`[s3] access_key_id_env` ...).
    Variables {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
    },
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Chain => f.write_str("Chain"),
            Origin::Fixed(c) => f.debug_tuple("Fixed").field(c).finish(),
            Origin::Variables {
                access_key_id,
                secret_access_key,
                session_token,
            } => write!(
                f,
                "Variables({access_key_id}, {secret_access_key}, {session_token})"
            ),
        }
    }
}

/// STS as the credential sources reach it: where, for which region, how.
pub(crate) struct StsAccess {
    pub endpoints: Resolver,
    pub region: String,
    pub transport: Transport,
}

/// The credentials of one client, cached.
pub(crate) struct Provider {
    origin: Origin,
    role: Option<Role>,
    env: Env,
    sts: StsAccess,
    /// The chain's link-local sources (container, instance metadata).
    local: chain::Local,
    cache: Mutex<Option<Credentials>>,
}

impl Provider {
    pub(crate) fn new(origin: Origin, role: Option<Role>, env: Env, sts: StsAccess) -> Provider {
        Provider {
            origin,
            role,
            env,
            sts,
            local: chain::Local::standard(),
            cache: Mutex::new(None),
        }
    }

    /// The credentials to sign with now: cached, or fetched when there are none yet or they
    /// expire within five minutes.
    pub(crate) fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Timestamp::now();
        if let Some(cached) = cache.as_ref().filter(|c| !c.due(now)) {
            return Ok(cached.clone());
        }
        match self.load() {
            Ok(fresh) => {
                *cache = Some(fresh.clone());
                Ok(fresh)
            }
            Err(err) => match cache.as_ref() {
                Some(old) if !old.expired(now) => {
                    tracing::warn!(error = %err, expires = ?old.expires, "failed to refresh AWS credentials; using the current ones until they expire");
                    Ok(old.clone())
                }
                _ => Err(err),
            },
        }
    }

    /// Forgets the cached credentials (AWS said their token expired).
    pub(crate) fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn load(&self) -> Result<Credentials, AwsError> {
        let (base, from) = match &self.origin {
            Origin::Chain => chain::resolve(&self.env, &self.sts, &self.local)?,
            Origin::Fixed(c) => (c.clone(), "the config's fixed keys".to_owned()),
            Origin::Variables {
                access_key_id,
                secret_access_key,
                session_token,
            } => {
                let (Some(id), Some(secret)) =
                    (self.env.var(access_key_id), self.env.var(secret_access_key))
                else {
                    return Err(AwsError::Credentials {
                        from: "the environment".into(),
                        why: format!(
                            "set the environment variables {access_key_id} and \
                             {secret_access_key} (named by access_key_id_env and \
                             secret_access_key_env)"
                        ),
                    });
                };
                let credentials = Credentials::new(&id, &secret, self.env.var(session_token), None);
                (
                    credentials,
                    format!("the variables {access_key_id} and {secret_access_key}"),
                )
            }
        };
        tracing::debug!(access_key_id = %base.access_key_id, from = %from, "AWS credentials found");
        match &self.role {
            None => Ok(base),
            Some(role) => sts::assume_role(&self.sts, &base, role),
        }
    }

    /// Replaces the link-local sources' addresses and timeouts (tests).
    #[cfg(test)]
    pub(crate) fn set_local(&mut self, local: chain::Local) {
        self.local = local;
    }
}

/// An ISO 8601 expiry from a credential answer.
fn expiry(text: &str) -> Result<Timestamp, String> {
    text.parse::<Timestamp>()
        .map_err(|_| format!("its expiry {text:?} is not an ISO 8601 time"))
}

/// The chain's standard link-local sources, for tests to move.
#[cfg(test)]
pub(crate) fn chain_local() -> chain::Local {
    chain::Local::standard()
}
