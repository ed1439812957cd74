//! Container credentials: ECS tasks (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, against the
//! agent at 169.254.170.2) and EKS Pod Identity or any other agent
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` sent as `Authorization`). As in the SDKs, a full URI
//! over plain http must be a loopback or the container agents' link-local address, so the
//! token never travels in clear to anywhere else.

use std::net::IpAddr;

use serde::Deserialize;

use super::chain::{Local, Lookup, read_small};
use super::{Credentials, expiry};
use crate::aws::env::Env;
use crate::aws::error::AwsError;
use crate::aws::transport::Outgoing;

/// The answer of a credentials endpoint (ECS, EKS Pod Identity and IMDS share it).
#[derive(Deserialize)]
pub(super) struct JsonCredentials {
    #[serde(rename = "Code")]
    pub code: Option<String>,
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: Option<String>,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: Option<String>,
    #[serde(rename = "Token")]
    pub token: Option<String>,
    #[serde(rename = "Expiration")]
    pub expiration: Option<String>,
}

/// Reads a credentials endpoint's JSON. Errors say where the JSON broke, never what it held.
pub(crate) fn parse_json(body: &[u8]) -> Result<Credentials, String> {
    let json: JsonCredentials = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the answer is not the credentials JSON expected (line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    if let Some(code) = json.code.as_deref().filter(|c| *c != "Success") {
        return Err(format!("the answer's Code is {code:?}, not \"Success\""));
    }
    let (Some(id), Some(secret)) = (json.access_key_id, json.secret_access_key) else {
        return Err("the answer has no AccessKeyId and SecretAccessKey".into());
    };
    let expires = json.expiration.as_deref().map(expiry).transpose()?;
    Ok(Credentials::new(&id, &secret, json.token, expires))
}

pub(super) fn load(env: &Env, local: &Local) -> Result<Lookup, AwsError> {
    let (url, from) = match (
        env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(relative), _) => (
            format!("{}{relative}", local.container_base),
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ),
        (None, Some(full)) => (full, "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        (None, None) => {
            return Ok(Lookup::Absent(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI \
                 are not set"
                    .into(),
            ));
        }
    };
    let source = format!("the container credentials endpoint {url} ({from})");
    let fail = |why: String| AwsError::Credentials {
        from: source.clone(),
        why,
    };
    if from.ends_with("FULL_URI") {
        check_full_uri(&url).map_err(fail)?;
    }
    let token = match env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => {
            Some(read_small(&file, "the container authorization token file").map_err(fail)?)
        }
        None => env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    if token.as_deref().is_some_and(|t| t.contains(['\r', '\n'])) {
        return Err(fail("the authorization token holds a line break".into()));
    }
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    if let Some(token) = token {
        headers.push(("authorization".to_owned(), token));
    }
    let request = Outgoing {
        method: "GET",
        url: url.clone(),
        headers,
        body: Vec::new(),
    };
    let mut attempt = 0;
    let answer = loop {
        attempt += 1;
        match local.container.send(&request) {
            Ok(answer) if answer.status < 500 || attempt > local.container.retries => break answer,
            Err(failure) if attempt > local.container.retries => return Err(fail(failure.why)),
            _ => std::thread::sleep(local.container.backoff.wait(attempt)),
        }
    };
    if answer.status != 200 {
        return Err(fail(format!("it answered HTTP {}", answer.status)));
    }
    let credentials = parse_json(&answer.body).map_err(fail)?;
    Ok(Lookup::Found(credentials, source))
}

/// https anywhere; http only to a loopback or the ECS and EKS agents' addresses.
fn check_full_uri(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("it is not an http:// or https:// URL".into());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let allowed = host == "localhost"
        || host.parse::<IpAddr>().is_ok_and(|ip| {
            ip.is_loopback()
                || ip == IpAddr::from([169, 254, 170, 2])
                || ip == IpAddr::from([169, 254, 170, 23])
                || ip == "fd00:ec2::23".parse::<IpAddr>().expect("an IPv6 address")
        });
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "plain http is allowed only to a loopback address or the container agent \
             (169.254.170.2, 169.254.170.23, fd00:ec2::23), not to {host:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_the_agents() {
        for ok in [
            "http://127.0.0.1:51679/creds",
            "http://localhost/x",
            "http://[::1]:80/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://creds.example.com/x",
        ] {
            assert!(check_full_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/x",
            "http://example.com/x",
            "ftp://127.0.0.1/x",
        ] {
            assert!(check_full_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_json_is_read_and_its_errors_quote_nothing() {
        let c = parse_json(br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"s3cr3t","Token":"t0k","Expiration":"2030-01-01T00:00:00Z","RoleArn":"arn"}"#).unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.session_token.as_deref(), Some("t0k"));
        assert!(c.expires.is_some());
        for bad in [
            &br#"{"AccessKeyId":"ASIA1","SecretAccessKey":12345678}"#[..],
            br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"s3cr3t""#,
            br#"{"AccessKeyId":"ASIA1","SecretAccessKey":"s3cr3t","Expiration":"never"}"#,
        ] {
            let err = parse_json(bad).unwrap_err();
            assert!(
                !err.contains("s3cr3t") && !err.contains("12345678"),
                "{err}"
            );
        }
        let failed = parse_json(br#"{"Code":"Failed","Message":"no role"}"#).unwrap_err();
        assert!(failed.contains("\"Failed\""), "{failed}");
    }
}
