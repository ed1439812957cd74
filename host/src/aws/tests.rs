//! The client against loopback servers: what a Query POST and a REST GET look like on the
//! wire, which answers are retried (throttling in both error shapes, 429, 5xx, a dropped
//! connection) and which are not (`AccessDenied`), the size bound, an expired token fetched
//! again, and secrets kept out of every error and `Debug`.

use std::time::Duration;

use reddalert_testkit::aws_fakes::{self, FakeKeys, Scripted};
use reddalert_testkit::http::{HttpServer, Reply, Request};

use super::transport::Backoff;
use super::{AwsError, Client, Env, Service};
use crate::config::CrawlSettings;

pub(super) const KEY_ID: &str = "AKIDTESTKEY";
pub(super) const SECRET: &str = "test-secret-do-not-leak";

/// Crawl settings calling `endpoint` for every service.
pub(super) fn settings(endpoint: Option<&str>, retries: u32) -> CrawlSettings {
    CrawlSettings {
        regions: vec!["eu-west-1".into()],
        endpoint_url: endpoint.map(str::to_owned),
        retries,
        timeout: Duration::from_secs(10),
        ..CrawlSettings::default()
    }
}

/// An environment with nothing but `vars`, instance metadata off, and an empty home.
pub(super) fn env(home: &std::path::Path, vars: &[(&str, &str)]) -> Env {
    let mut all = vec![
        ("HOME".to_owned(), home.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
    ];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Env::fixed(all)
}

/// A client with quick retries.
pub(super) fn client(settings: &CrawlSettings, env: Env) -> Client {
    let mut client = Client::with_env(settings, env).unwrap();
    client.transport_mut().backoff = Backoff {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    };
    client
}

/// A client with static keys from the environment calling `endpoint`.
fn keyed(endpoint: &str, retries: u32) -> (Client, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let env = env(
        home.path(),
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
    );
    (client(&settings(Some(endpoint), retries), env), home)
}

fn ok() -> (u16, String) {
    (
        200,
        "<DescribeRegionsResponse><ok>yes</ok></DescribeRegionsResponse>".into(),
    )
}

fn ec2_error(code: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><Response><Errors><Error><Code>{code}</Code>\
         <Message>slow down</Message></Error></Errors><RequestID>req-{code}</RequestID></Response>"
    )
}

#[test]
fn a_client_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Client>();
}

#[test]
fn throttling_is_retried_until_it_passes() {
    for throttled in [
        (400, aws_fakes::error_xml("Throttling", "Rate exceeded")),
        (503, ec2_error("RequestLimitExceeded")),
        (400, aws_fakes::error_xml("TooManyRequestsException", "x")),
        (429, String::new()),
    ] {
        let server = Scripted::start(vec![throttled.clone(), throttled.clone(), ok()]);
        let (client, _home) = keyed(&server.url(), 5);
        let answer = client
            .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
            .unwrap_or_else(|e| panic!("{throttled:?}: {e}"));
        assert!(answer.contains("<ok>yes</ok>"), "{answer}");
        assert_eq!(
            server.seen(),
            3,
            "{throttled:?}: two throttled, one answered"
        );
    }
}

#[test]
fn a_5xx_is_retried_up_to_retries_then_reported() {
    let server = Scripted::start(vec![(500, "<html>Internal</html>".into())]);
    let (client, _home) = keyed(&server.url(), 2);
    let err = client
        .query(Service::Elb, "eu-west-1", "DescribeLoadBalancers", &[])
        .unwrap_err();
    assert_eq!(server.seen(), 3, "the first attempt and two retries");
    match &err {
        AwsError::Api {
            status, attempts, ..
        } => assert_eq!((*status, *attempts), (500, 3)),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("<html>Internal</html>"), "{err}");

    let server = Scripted::start(vec![(503, ec2_error("Unavailable")), ok()]);
    let (client, _home) = keyed(&server.url(), 0);
    assert!(
        client
            .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
            .is_err()
    );
    assert_eq!(server.seen(), 1, "zero retries: one attempt");
}

#[test]
fn access_denied_is_not_retried_and_its_error_names_everything() {
    let server = Scripted::start(vec![
        (
            403,
            aws_fakes::error_xml(
                "AccessDenied",
                "User: arn:aws:iam::1:user/r is not authorized",
            ),
        ),
        ok(),
    ]);
    let (client, _home) = keyed(&server.url(), 5);
    let err = client
        .query(Service::Iam, "eu-west-1", "ListUsers", &[])
        .unwrap_err();
    assert_eq!(server.seen(), 1);
    assert!(!err.is_credentials(), "a permission, not the keys: {err}");
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.to_string(),
        "IAM ListUsers in eu-west-1 failed: AccessDenied (HTTP 403): User: arn:aws:iam::1:user/r \
         is not authorized [request id fake-AccessDenied]"
    );
}

#[test]
fn a_dropped_connection_is_retried_then_reported() {
    let port = reddalert_testkit::http::closed_port();
    let (client, _home) = keyed(&format!("http://127.0.0.1:{port}"), 2);
    match client.query(Service::Ec2, "eu-west-1", "DescribeRegions", &[]) {
        Err(AwsError::Transport {
            attempts, endpoint, ..
        }) => {
            assert_eq!(attempts, 3);
            assert_eq!(endpoint, format!("http://127.0.0.1:{port}/"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answer_past_the_size_limit_is_an_error() {
    let server = HttpServer::start(|_: &Request| Reply::text(200, &"x".repeat(5000)));
    let (mut client, _home) = keyed(&server.url(), 0);
    client.transport_mut().max_bytes = 4096;
    let err = client
        .query(Service::Ec2, "eu-west-1", "DescribeInstances", &[])
        .unwrap_err();
    assert!(err.to_string().contains("larger than 4096 bytes"), "{err}");
    client.transport_mut().max_bytes = 5000;
    assert_eq!(
        client
            .query(Service::Ec2, "eu-west-1", "DescribeInstances", &[])
            .unwrap()
            .len(),
        5000
    );
}

fn recording() -> HttpServer {
    HttpServer::start(|_: &Request| Reply::text(200, "<ok/>"))
}

/// (credential scope, signed headers) of a request's `Authorization`.
pub(super) fn scope(request: &Request) -> (String, String) {
    let auth = request.header("authorization").expect("a signed request");
    let credential = auth
        .split("Credential=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap();
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap();
    (credential.to_owned(), signed.to_owned())
}

#[test]
fn a_query_call_is_a_signed_form_post_with_action_and_version() {
    let server = recording();
    let (client, _home) = keyed(&server.url(), 0);
    let params = [
        ("Filter.1.Name", "group-name".to_owned()),
        ("Filter.1.Value.1", "a b/c".to_owned()),
    ];
    client
        .query(Service::Ec2, "eu-west-1", "DescribeSecurityGroups", &params)
        .unwrap();
    client
        .query(Service::Iam, "eu-west-1", "ListUsers", &[])
        .unwrap();
    let requests = server.requests();
    let ec2 = &requests[0];
    assert_eq!((ec2.method.as_str(), ec2.path.as_str()), ("POST", "/"));
    assert_eq!(
        ec2.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(
        aws_fakes::form(&ec2.body),
        [
            ("Action".to_owned(), "DescribeSecurityGroups".to_owned()),
            ("Filter.1.Name".to_owned(), "group-name".to_owned()),
            ("Filter.1.Value.1".to_owned(), "a b/c".to_owned()),
            ("Version".to_owned(), "2016-11-15".to_owned()),
        ]
    );
    let (credential, signed) = scope(ec2);
    let today = jiff::Timestamp::now().strftime("%Y%m%d").to_string();
    assert_eq!(
        credential,
        format!("{KEY_ID}/{today}/eu-west-1/ec2/aws4_request")
    );
    assert_eq!(signed, "content-type;host;x-amz-date");
    assert!(ec2.header("x-amz-security-token").is_none());
    // IAM is global: signed for us-east-1 whatever the region asked.
    let (credential, _) = scope(&requests[1]);
    assert!(
        credential.ends_with("/us-east-1/iam/aws4_request"),
        "{credential}"
    );
    assert!(aws_fakes::form(&requests[1].body).contains(&("Version".into(), "2010-05-08".into())));
}

#[test]
fn a_rest_get_carries_its_query_and_no_body() {
    let server = recording();
    let (client, _home) = keyed(&server.url(), 0);
    client
        .rest_get(
            Service::Route53,
            "eu-west-1",
            "/2013-04-01/hostedzone/Z1/rrset",
            &[
                ("name", "a b.example.com.".to_owned()),
                ("maxitems", "300".to_owned()),
            ],
        )
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.path,
        "/2013-04-01/hostedzone/Z1/rrset?maxitems=300&name=a%20b.example.com."
    );
    // moto answers a Route 53 GET sent with a form content type with a 500.
    assert!(request.header("content-type").is_none());
    assert!(request.body.is_empty());
    let (credential, signed) = scope(request);
    assert!(
        credential.ends_with("/us-east-1/route53/aws4_request"),
        "{credential}"
    );
    assert_eq!(signed, "host;x-amz-date");
    let err = client
        .rest_get(Service::Route53, "eu-west-1", "hostedzone", &[])
        .unwrap_err();
    assert!(matches!(err, AwsError::Config(_)), "{err}");
}

#[test]
fn an_expired_token_fetches_the_credentials_again() {
    let keys = FakeKeys::new("container", "2999-01-01T00:00:00Z");
    let container = aws_fakes::container("/creds", None, keys);
    let api = Scripted::start(vec![
        (
            400,
            aws_fakes::error_xml(
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
        ),
        ok(),
    ]);
    let home = tempfile::tempdir().unwrap();
    let full_uri = format!("{}/creds", container.url());
    let env = env(
        home.path(),
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full_uri)],
    );
    let client = client(&settings(Some(&api.url()), 1), env);
    client
        .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
        .unwrap();
    assert_eq!(api.seen(), 2);
    assert_eq!(container.requests().len(), 2, "fetched, then fetched again");
}

#[test]
fn secrets_are_absent_from_every_error_and_debug() {
    let home = tempfile::tempdir().unwrap();
    // A container endpoint answering the secret in a broken document.
    let leaky = HttpServer::start(|_: &Request| {
        Reply::json(
            200,
            &serde_json::json!({"AccessKeyId": "ASIA1", "SecretAccessKey": 12345, "Token": SECRET}),
        )
    });
    let uri = format!("{}/creds", leaky.url());
    let env = env(
        home.path(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", SECRET),
        ],
    );
    let client = client(&settings(Some(&leaky.url()), 0), env.clone());
    let err = client.check_credentials().unwrap_err();
    assert!(err.is_credentials());
    for text in [err.to_string(), format!("{err:?}"), format!("{env:?}")] {
        assert!(!text.contains(SECRET) && !text.contains("12345"), "{text}");
    }
    let credentials =
        super::credentials::Credentials::new(KEY_ID, SECRET, Some(SECRET.into()), None);
    let shown = format!("{credentials:?}");
    assert!(shown.contains(KEY_ID) && !shown.contains(SECRET), "{shown}");
}
