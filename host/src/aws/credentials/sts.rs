//! STS, the two ways reddalert gets a role's temporary credentials: `AssumeRole` (signed
//! with the chain's credentials; the `role_arn` of a cross-account crawl) and
//! `AssumeRoleWithWebIdentity` (unsigned; its proof is the token Kubernetes writes to
//! `AWS_WEB_IDENTITY_TOKEN_FILE` for a pod whose service account names `AWS_ROLE_ARN`). The
//! token file is read again at each refresh: the kubelet rotates it.

use super::chain::{Lookup, read_small};
use super::{Credentials, StsAccess, expiry};
use crate::aws::Service;
use crate::aws::env::Env;
use crate::aws::error::AwsError;
use crate::aws::transport::Call;
use crate::aws::{request, xml};

/// A role to assume on top of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Role {
    pub arn: String,
    pub external_id: Option<String>,
}

/// `reddalert-<epoch ms>`: names the session in the account's CloudTrail.
fn session_name() -> String {
    format!("reddalert-{}", jiff::Timestamp::now().as_millisecond())
}

/// The role's credentials, asked with `base`'s.
pub(crate) fn assume_role(
    sts: &StsAccess,
    base: &Credentials,
    role: &Role,
) -> Result<Credentials, AwsError> {
    let mut params = vec![
        ("RoleArn", role.arn.clone()),
        ("RoleSessionName", session_name()),
        ("DurationSeconds", "3600".to_owned()),
    ];
    if let Some(id) = &role.external_id {
        params.push(("ExternalId", id.clone()));
    }
    let from = format!("the role {} (STS AssumeRole)", role.arn);
    let answer =
        call(sts, "AssumeRole", &params, Some(base)).map_err(|err| AwsError::Credentials {
            from: from.clone(),
            why: err.to_string(),
        })?;
    parse(&answer).map_err(|why| AwsError::Credentials { from, why })
}

/// `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (and `AWS_ROLE_SESSION_NAME`).
pub(super) fn web_identity(env: &Env, sts: &StsAccess) -> Result<Lookup, AwsError> {
    let (file, arn) = match (
        env.var("AWS_WEB_IDENTITY_TOKEN_FILE"),
        env.var("AWS_ROLE_ARN"),
    ) {
        (None, _) => {
            return Ok(Lookup::Absent(
                "AWS_WEB_IDENTITY_TOKEN_FILE is not set".into(),
            ));
        }
        (Some(_), None) => {
            return Err(AwsError::Credentials {
                from: "web identity".into(),
                why: "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not".into(),
            });
        }
        (Some(file), Some(arn)) => (file, arn),
    };
    let from = format!("web identity (the role {arn}, the token in {file})");
    let fail = |why: String| AwsError::Credentials {
        from: from.clone(),
        why,
    };
    let token = read_small(&file, "the web identity token file").map_err(fail)?;
    if token.is_empty() {
        return Err(fail(format!("the token file {file} is empty")));
    }
    let params = [
        ("RoleArn", arn.clone()),
        (
            "RoleSessionName",
            env.var("AWS_ROLE_SESSION_NAME")
                .unwrap_or_else(session_name),
        ),
        ("WebIdentityToken", token.clone()),
    ];
    let answer = call(sts, "AssumeRoleWithWebIdentity", &params, None)
        // STS does not echo the token, but an error message must never carry it.
        .map_err(|err| fail(err.to_string().replace(&token, "<token>")))?;
    let credentials = parse(&answer).map_err(fail)?;
    Ok(Lookup::Found(credentials, from))
}

fn call(
    sts: &StsAccess,
    action: &str,
    params: &[(&str, String)],
    credentials: Option<&Credentials>,
) -> Result<String, AwsError> {
    let endpoint = sts.endpoints.resolve(Service::Sts, &sts.region)?;
    let what = Call {
        service: Service::Sts,
        region: &sts.region,
        action,
    };
    sts.transport.call(
        what,
        &|| {
            Ok(request::query(
                &endpoint,
                Service::Sts,
                action,
                params,
                credentials,
            ))
        },
        &|| {},
    )
}

fn parse(answer: &str) -> Result<Credentials, String> {
    let c = xml::sts_credentials(answer)?;
    Ok(Credentials::new(
        &c.access_key_id,
        &c.secret_access_key,
        Some(c.session_token),
        Some(expiry(&c.expiration)?),
    ))
}
