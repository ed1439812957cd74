//! The EC2 instance metadata service, version 2 only: a PUT for a session token, then with it
//! a GET of the instance profile's role name and a GET of that role's credentials. IMDSv1
//! (GETs without a token) is never used: instances that still allow it are better off without
//! it, and a fake that refuses tokenless GETs holds us to that. `AWS_EC2_METADATA_DISABLED`
//! skips the source; `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves it. Timeouts are one second
//! and a missing service is not retried, so a host off EC2 fails fast.

use super::chain::{Local, Lookup};
use super::container::parse_json;
use crate::aws::endpoint::check_url;
use crate::aws::env::Env;
use crate::aws::error::AwsError;
use crate::aws::transport::{Answer, Outgoing};

const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";
/// Seconds the session token lives (the SDKs' six hours).
const TOKEN_TTL: &str = "21600";

pub(super) fn load(env: &Env, local: &Local) -> Result<Lookup, AwsError> {
    if env.is_true("AWS_EC2_METADATA_DISABLED") {
        return Ok(Lookup::Absent("AWS_EC2_METADATA_DISABLED is true".into()));
    }
    let base = match env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        Some(url) => check_url(&url).map_err(|why| AwsError::Credentials {
            from: "instance metadata".into(),
            why: format!("AWS_EC2_METADATA_SERVICE_ENDPOINT: {why}"),
        })?,
        None if env
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
            .is_some_and(|m| m.eq_ignore_ascii_case("ipv6")) =>
        {
            "http://[fd00:ec2::254]".into()
        }
        None => local.imds_base.clone(),
    };
    let request = |method: &'static str, path: &str, header: (&str, &str)| Outgoing {
        method,
        url: format!("{base}{path}"),
        headers: vec![(header.0.to_owned(), header.1.to_owned())],
        body: Vec::new(),
    };
    // No answer to the token PUT: not on EC2 (or IMDS is off), so nothing to find here.
    let token = match local.imds.send(&request(
        "PUT",
        TOKEN_PATH,
        ("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL),
    )) {
        Err(failure) => {
            return Ok(Lookup::Absent(format!(
                "no instance metadata service at {base}: {}",
                failure.why
            )));
        }
        Ok(answer) if answer.status != 200 => {
            return Ok(Lookup::Absent(format!(
                "the instance metadata service at {base} refused a session token (HTTP {})",
                answer.status
            )));
        }
        Ok(answer) => String::from_utf8(answer.body)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default(),
    };
    let from = format!("instance metadata at {base}");
    let fail = |why: String| AwsError::Credentials {
        from: from.clone(),
        why,
    };
    if token.is_empty() || token.contains(['\r', '\n']) {
        return Err(fail("the session token it gave is not one".into()));
    }
    let get = |path: &str| -> Result<Answer, AwsError> {
        let req = request("GET", path, ("x-aws-ec2-metadata-token", &token));
        let mut attempt = 0;
        loop {
            attempt += 1;
            match local.imds.send(&req) {
                Ok(a) if (a.status < 500 && a.status != 429) || attempt > local.imds.retries => {
                    return Ok(a);
                }
                Err(failure) if attempt > local.imds.retries => return Err(fail(failure.why)),
                _ => std::thread::sleep(local.imds.backoff.wait(attempt)),
            }
        }
    };
    let roles = get(ROLES_PATH)?;
    if roles.status == 404 {
        return Ok(Lookup::Absent(
            "the instance has no IAM role (no instance profile)".into(),
        ));
    }
    if roles.status != 200 {
        return Err(fail(format!(
            "asking its role answered HTTP {}",
            roles.status
        )));
    }
    let role = String::from_utf8_lossy(&roles.body)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if role.is_empty() || role.contains(['/', '?', '#']) {
        return Err(fail("it named no usable role".into()));
    }
    let answer = get(&format!("{ROLES_PATH}{role}"))?;
    if answer.status != 200 {
        return Err(fail(format!(
            "asking the credentials of role {role} answered HTTP {}",
            answer.status
        )));
    }
    let credentials = parse_json(&answer.body).map_err(fail)?;
    Ok(Lookup::Found(credentials, format!("{from} (role {role})")))
}
