//! The client against moto's server with request signature checks on (one server for these
//! tests; moto routes by the credential scope, so STS, EC2, IAM and Route 53 answer on its one
//! port): signed Query POSTs and a REST GET succeed with the right key and fail with a wrong
//! secret, and a role is assumed through STS `AssumeRole` and then signs calls of its own.

use std::sync::OnceLock;

use reddalert_testkit::moto::{Fixture, Moto};

use super::tests::{client, env, settings};
use super::{AwsError, Client, Service};

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    // Dropped with the test process: moto stops when its stdin closes.
    MOTO.get_or_init(|| Moto::start(&Fixture::default()))
}

/// A client signing with moto's key (or `secret` instead of its secret).
fn moto_client(secret: Option<&str>, role: Option<&str>) -> (Client, tempfile::TempDir) {
    let moto = moto();
    let home = tempfile::tempdir().unwrap();
    let env = env(
        home.path(),
        &[
            ("AWS_ACCESS_KEY_ID", &moto.access_key_id),
            (
                "AWS_SECRET_ACCESS_KEY",
                secret.unwrap_or(&moto.secret_access_key),
            ),
        ],
    );
    let mut settings = settings(Some(&moto.endpoint()), 1);
    settings.regions = vec!["us-east-1".into()];
    settings.role_arn = role.map(str::to_owned);
    settings.external_id = role.map(|_| "reddalert-external".to_owned());
    (client(&settings, env), home)
}

#[test]
fn signed_query_posts_and_rest_gets_are_accepted() {
    let (client, _home) = moto_client(None, None);
    let identity = client
        .query(Service::Sts, "us-east-1", "GetCallerIdentity", &[])
        .unwrap();
    assert!(identity.contains(":user/reddalert</Arn>"), "{identity}");
    let regions = client
        .query(
            Service::Ec2,
            "eu-west-1",
            "DescribeRegions",
            &[("RegionName.1", "eu-west-1".into())],
        )
        .unwrap();
    assert!(
        regions.contains("<regionName>eu-west-1</regionName>"),
        "{regions}"
    );
    let users = client
        .query(Service::Iam, "eu-west-1", "ListUsers", &[])
        .unwrap();
    assert!(users.contains("<UserName>reddalert</UserName>"), "{users}");
    let zones = client
        .rest_get(
            Service::Route53,
            "us-east-1",
            "/2013-04-01/hostedzone",
            &[("maxitems", "10".into())],
        )
        .unwrap();
    assert!(zones.contains("ListHostedZonesResponse"), "{zones}");
}

#[test]
fn a_wrong_secret_is_refused_and_is_a_credentials_error() {
    let (client, _home) = moto_client(Some("not-the-secret"), None);
    let calls: [(&str, Result<String, AwsError>); 3] = [
        (
            "STS",
            client.query(Service::Sts, "us-east-1", "GetCallerIdentity", &[]),
        ),
        (
            "EC2",
            client.query(Service::Ec2, "us-east-1", "DescribeRegions", &[]),
        ),
        (
            "Route 53",
            client.rest_get(Service::Route53, "us-east-1", "/2013-04-01/hostedzone", &[]),
        ),
    ];
    for (name, result) in calls {
        let err = result.expect_err(name);
        // EC2 says AuthFailure (401), the others SignatureDoesNotMatch (403).
        assert!(
            matches!(&err, AwsError::Api { status: 401 | 403, code, .. }
                if code == "SignatureDoesNotMatch" || code == "AuthFailure"),
            "{name}: {err:?}"
        );
        assert!(err.is_credentials(), "{name}: {err}");
        assert!(!err.to_string().contains("not-the-secret"), "{err}");
    }
}

#[test]
fn a_role_is_assumed_and_signs_its_own_calls() {
    let (admin, _home) = moto_client(None, None);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let allow =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    admin
        .query(
            Service::Iam,
            "us-east-1",
            "CreateRole",
            &[
                ("RoleName", "crawler".into()),
                ("AssumeRolePolicyDocument", trust.into()),
            ],
        )
        .unwrap();
    admin
        .query(
            Service::Iam,
            "us-east-1",
            "PutRolePolicy",
            &[
                ("RoleName", "crawler".into()),
                ("PolicyName", "read".into()),
                ("PolicyDocument", allow.into()),
            ],
        )
        .unwrap();
    let (crawler, _home) = moto_client(None, Some("arn:aws:iam::123456789012:role/crawler"));
    crawler.check_credentials().unwrap();
    let identity = crawler
        .query(Service::Sts, "us-east-1", "GetCallerIdentity", &[])
        .unwrap();
    assert!(
        identity.contains(":assumed-role/crawler/reddalert-"),
        "the calls are the role's: {identity}"
    );
    let regions = crawler
        .query(Service::Ec2, "us-east-1", "DescribeRegions", &[])
        .unwrap();
    assert!(regions.contains("<regionName>"), "{regions}");

    let (refused, _home) = moto_client(
        Some("wrong"),
        Some("arn:aws:iam::123456789012:role/crawler"),
    );
    let err = refused.check_credentials().unwrap_err();
    assert!(matches!(err, AwsError::Credentials { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("role arn:aws:iam::123456789012:role/crawler (STS AssumeRole)"),
        "{text}"
    );
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
}
