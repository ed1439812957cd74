//! Credentials: the standard chain in the AWS SDKs' order ([`chain`]), fixed keys or named
//! variables where the S3 settings give them, and an optional role assumed on top through
//! STS. Temporary credentials are cached and fetched again five minutes before they expire;
//! when that fails while the old ones still work, the old ones are used (and the failure
//! logged). The secret and the session token never appear in a log, an error or a `Debug`.

mod chain;
mod container;
mod imds;
mod lookup;
mod profile;
mod sts;

use std::sync::{Mutex, PoisonError};

use jiff::Timestamp;

use super::AwsError;
use super::env::Env;

pub(crate) use super::keys::Credentials;
pub(crate) use container::parse_json;
pub(crate) use sts::{Role, StsAccess};

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

/// The credentials of one client, cached.
pub(crate) struct Provider {
    origin: Origin,
    role: Option<Role>,
    env: Env,
    sts: StsAccess,
    /// The chain's link-local sources (container, instance metadata).
    local: lookup::Local,
    cache: Mutex<Option<Credentials>>,
}

impl Provider {
    pub(crate) fn new(origin: Origin, role: Option<Role>, env: Env, sts: StsAccess) -> Provider {
        Provider {
            origin,
            role,
            env,
            sts,
            local: lookup::Local::standard(),
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
    pub(crate) fn set_local(&mut self, local: lookup::Local) {
        self.local = local;
    }
}

/// The chain's standard link-local sources, for tests to move.
#[cfg(test)]
pub(crate) fn chain_local() -> lookup::Local {
    lookup::Local::standard()
}
