//! The standard credential chain, in the AWS SDKs' order: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), web identity
//! (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, what EKS gives a pod), the shared files
//! (`~/.aws/credentials` and `~/.aws/config`), container credentials (ECS, EKS Pod Identity),
//! then the EC2 instance metadata service (IMDSv2). A source that is not configured is passed
//! over and noted; a source that is configured but fails stops the chain with its error, so a
//! broken setup never silently falls through to another identity (the instance's role, say).

use std::time::Duration;

use super::{Credentials, StsAccess, container, imds, profile, sts};
use crate::aws::env::Env;
use crate::aws::error::{AwsError, Tried};
use crate::aws::transport::Transport;

/// What one source had.
pub(super) enum Lookup {
    /// Credentials, and where from (for the log).
    Found(Credentials, String),
    /// Nothing, because the source is not configured here; why, for "no credentials".
    Absent(String),
}

/// The link-local sources' addresses and transports.
pub(crate) struct Local {
    /// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is resolved.
    pub container_base: String,
    pub container: Transport,
    /// Where instance metadata is when `AWS_EC2_METADATA_SERVICE_ENDPOINT` is unset.
    pub imds_base: String,
    pub imds: Transport,
}

impl Local {
    /// The SDKs' addresses; timeouts short enough that a host off EC2 fails fast.
    pub(crate) fn standard() -> Local {
        Local {
            container_base: "http://169.254.170.2".into(),
            container: Transport::local(Duration::from_secs(2), 2),
            imds_base: "http://169.254.169.254".into(),
            imds: Transport::local(Duration::from_secs(1), 1),
        }
    }
}

/// One source of the chain, asked.
type Source<'a> = &'a dyn Fn() -> Result<Lookup, AwsError>;

/// The first source's credentials, or why none had any.
pub(super) fn resolve(
    env: &Env,
    sts: &StsAccess,
    local: &Local,
) -> Result<(Credentials, String), AwsError> {
    let sources: [(&'static str, Source<'_>); 5] = [
        ("environment", &|| environment(env)),
        ("web identity", &|| sts::web_identity(env, sts)),
        ("shared files", &|| profile::load(env)),
        ("container", &|| container::load(env, local)),
        ("instance metadata", &|| imds::load(env, local)),
    ];
    let mut tried = Vec::new();
    for (name, source) in sources {
        match source()? {
            Lookup::Found(credentials, from) => return Ok((credentials, from)),
            Lookup::Absent(why) => tried.push(Tried { name, why }),
        }
    }
    Err(AwsError::NoCredentials { tried })
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
fn environment(env: &Env) -> Result<Lookup, AwsError> {
    let id = env.var("AWS_ACCESS_KEY_ID");
    let secret = env.var("AWS_SECRET_ACCESS_KEY");
    match (id, secret) {
        (None, None) => Ok(Lookup::Absent("AWS_ACCESS_KEY_ID is not set".into())),
        (Some(id), Some(secret)) => Ok(Lookup::Found(
            Credentials::new(&id, &secret, env.var("AWS_SESSION_TOKEN"), None),
            "the environment".into(),
        )),
        (Some(_), None) => Err(half("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
        (None, Some(_)) => Err(half("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")),
    }
}

fn half(set: &str, unset: &str) -> AwsError {
    AwsError::Credentials {
        from: "the environment".into(),
        why: format!("{set} is set but {unset} is not; set both, or neither"),
    }
}

/// Reads a small file a credential source names (a token), bounded.
pub(super) fn read_small(path: &str, what: &str) -> Result<String, String> {
    use std::io::Read as _;
    const MAX: u64 = 64 << 10;
    let file =
        std::fs::File::open(path).map_err(|e| format!("failed to open {what} {path}: {e}"))?;
    let mut text = String::new();
    file.take(MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("failed to read {what} {path}: {e}"))?;
    if text.len() as u64 > MAX {
        return Err(format!("{what} {path} is larger than {} KiB", MAX >> 10));
    }
    Ok(text.trim().to_owned())
}
