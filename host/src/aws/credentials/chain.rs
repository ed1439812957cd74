//! The standard credential chain, in the AWS SDKs' order: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), web identity
//! (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, what EKS gives a pod), the shared files
//! (`~/.aws/credentials` and `~/.aws/config`), container credentials (ECS, EKS Pod Identity),
//! then the EC2 instance metadata service (IMDSv2). A source that is not configured is passed
//! over and noted; a source that is configured but fails stops the chain with its error, so a
//! broken setup never silently falls through to another identity (the instance's role, say).

use super::lookup::{Local, Lookup};
use super::sts::StsAccess;
use super::{container, imds, profile, sts};
use crate::aws::env::Env;
use crate::aws::error::{AwsError, Tried};
use crate::aws::keys::Credentials;

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
