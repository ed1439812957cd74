//! Each source of the credential chain against a loopback fake speaking its protocol (STS for
//! web identity, IMDSv2, a container endpoint) or against files in a temporary home, the
//! chain's order, refresh before expiry, and "no credentials" naming every source tried. Which
//! credentials a client used is read from the `Authorization` its request carried.

use std::path::Path;

use reddalert_testkit::aws_fakes::{self, FakeKeys};
use reddalert_testkit::http::{HttpServer, Reply, Request};

use super::tests::{client, env, scope, settings};
use super::{AwsError, Client, Env, Service};

/// A server answering every API call, recording the keys that signed it.
fn api() -> HttpServer {
    HttpServer::start(|_: &Request| Reply::text(200, "<ok/>"))
}

/// The access key id (and session token) of the last request `api` saw.
fn signer(api: &HttpServer) -> (String, Option<String>) {
    let requests = api.requests();
    let last = requests.last().expect("a request");
    let (credential, _) = scope(last);
    let key = credential.split('/').next().unwrap().to_owned();
    (key, last.header("x-amz-security-token").map(str::to_owned))
}

/// Makes one EC2 call through a client of `env`, its APIs at `api`; the key that signed it.
fn key_used(api: &HttpServer, env: Env) -> Result<String, AwsError> {
    let client = client(&settings(Some(&api.url()), 0), env);
    client.query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])?;
    Ok(signer(api).0)
}

fn far() -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(6)).to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_environment_gives_keys_and_a_session_token() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let env = env(
        home.path(),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "session"),
        ],
    );
    assert_eq!(key_used(&api, env).unwrap(), "AKIDENV");
    assert_eq!(signer(&api).1.as_deref(), Some("session"));
    let half = env_half(home.path());
    let err = key_used(&api, half).unwrap_err();
    assert!(err.is_credentials());
    assert!(
        err.to_string()
            .contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        "{err}"
    );
}

fn env_half(home: &Path) -> Env {
    env(home, &[("AWS_ACCESS_KEY_ID", "AKIDENV")])
}

#[test]
fn web_identity_exchanges_the_token_file_with_sts() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let role = "arn:aws:iam::123456789012:role/eks-reddalert";
    let sts = aws_fakes::web_identity_sts("eyJ.pod-token", role, FakeKeys::new("pod", &far()));
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "eyJ.pod-token\n").unwrap();
    let token_file = token_file.display().to_string();
    let sts_url = sts.url();
    let vars = |role: &'static str| {
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.clone()),
            ("AWS_ROLE_ARN", role.to_owned()),
            ("AWS_ENDPOINT_URL_STS", sts_url.clone()),
            ("AWS_ENDPOINT_URL_EC2", api.url()),
        ]
    };
    let client_of = |vars: Vec<(&str, String)>| {
        let mut all: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("AWS_ROLE_SESSION_NAME", "pod-session"));
        // No endpoint_url: STS and EC2 are found through their variables.
        client(&settings(None, 0), env(home.path(), &all))
    };
    client_of(vars(role))
        .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
        .unwrap();
    assert_eq!(
        signer(&api),
        ("ASIAPOD".into(), Some("token-of-pod".into()))
    );
    let sent = aws_fakes::form(&sts.requests()[0].body);
    assert!(
        sent.contains(&("RoleSessionName".into(), "pod-session".into())),
        "{sent:?}"
    );

    let err = client_of(vars("arn:aws:iam::123456789012:role/other"))
        .check_credentials()
        .unwrap_err();
    assert!(err.is_credentials());
    let text = err.to_string();
    assert!(
        text.contains("web identity") && text.contains("AccessDenied"),
        "{text}"
    );
    std::fs::write(home.path().join("token"), "eyJ.stale-token").unwrap();
    let err = client_of(vars(role))
        .check_credentials()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("InvalidIdentityToken") && !err.contains("stale-token"),
        "{err}"
    );
    let only_file = env(
        home.path(),
        &[("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.as_str())],
    );
    let err = Client::with_env(&settings(None, 0), only_file)
        .unwrap()
        .check_credentials()
        .unwrap_err();
    assert!(err.to_string().contains("AWS_ROLE_ARN is not"), "{err}");
}

#[test]
fn shared_files_give_a_profiles_static_keys() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let aws = home.path().join(".aws");
    write(
        &aws.join("credentials"),
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n\
         [prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = s\naws_session_token = st\n",
    );
    write(
        &aws.join("config"),
        "[profile cfg]\nregion = eu-west-1\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = s\n\
         [profile sso]\nsso_session = corp\nsso_account_id = 1\n\
         [profile proc]\ncredential_process = /bin/creds\n",
    );
    let with = |vars: &[(&str, &str)]| key_used(&api, env(home.path(), vars));
    assert_eq!(with(&[]).unwrap(), "AKIDDEFAULT");
    assert_eq!(with(&[("AWS_PROFILE", "prod")]).unwrap(), "AKIDPROD");
    assert_eq!(signer(&api).1.as_deref(), Some("st"));
    assert_eq!(with(&[("AWS_PROFILE", "cfg")]).unwrap(), "AKIDCONFIG");
    for (profile, key) in [("sso", "sso_session"), ("proc", "credential_process")] {
        let err = with(&[("AWS_PROFILE", profile)]).unwrap_err();
        let text = err.to_string();
        assert!(
            err.is_credentials()
                && text.contains(&format!("profile {profile:?}"))
                && text.contains(&format!("`{key}`"))
                && text.contains("config"),
            "{text}"
        );
    }
    let err = with(&[("AWS_PROFILE", "missing")]).unwrap_err().to_string();
    assert!(err.contains("no profile \"missing\""), "{err}");
    // The variables move the files.
    let elsewhere = home.path().join("elsewhere");
    write(
        &elsewhere,
        "[default]\naws_access_key_id = AKIDMOVED\naws_secret_access_key = s\n",
    );
    let moved = elsewhere.display().to_string();
    assert_eq!(
        with(&[("AWS_SHARED_CREDENTIALS_FILE", &moved)]).unwrap(),
        "AKIDMOVED"
    );
    write(
        &aws.join("half"),
        "[default]\naws_access_key_id = AKIDHALF\n",
    );
    let half = aws.join("half").display().to_string();
    let err = with(&[
        ("AWS_SHARED_CREDENTIALS_FILE", &half),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ])
    .unwrap_err();
    assert!(
        err.to_string().contains("not aws_secret_access_key"),
        "{err}"
    );
}

#[test]
fn container_credentials_send_the_authorization_token() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let container = aws_fakes::container(
        "/v1/creds",
        Some("Bearer pod-identity"),
        FakeKeys::new("container", &far()),
    );
    let full = format!("{}/v1/creds", container.url());
    let token_file = home.path().join("eks-pod-identity-token");
    std::fs::write(&token_file, "Bearer pod-identity\n").unwrap();
    let token_file = token_file.display().to_string();
    for vars in [
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer pod-identity"),
        ],
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.as_str(),
            ),
        ],
    ] {
        assert_eq!(
            key_used(&api, env(home.path(), &vars)).unwrap(),
            "ASIACONTAINER",
            "{vars:?}"
        );
    }
    let wrong = env(
        home.path(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer stolen"),
        ],
    );
    let err = key_used(&api, wrong).unwrap_err().to_string();
    assert!(err.contains("HTTP 401") && !err.contains("stolen"), "{err}");
    let far_away = env(
        home.path(),
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://192.0.2.1/creds",
        )],
    );
    let err = key_used(&api, far_away).unwrap_err().to_string();
    assert!(
        err.contains("plain http is allowed only to a loopback"),
        "{err}"
    );

    // The relative URI is resolved against the ECS agent's address.
    let ecs = aws_fakes::container(
        "/v2/credentials/task-1",
        None,
        FakeKeys::new("task", &far()),
    );
    let mut client = client(
        &settings(Some(&api.url()), 0),
        env(
            home.path(),
            &[(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/task-1",
            )],
        ),
    );
    let mut local = super::credentials::chain_local();
    local.container_base = ecs.url();
    client.provider_mut().set_local(local);
    client
        .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
        .unwrap();
    assert_eq!(signer(&api).0, "ASIATASK");
}

#[test]
fn instance_metadata_is_asked_with_a_session_token() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let imds = aws_fakes::imds("ec2-reddalert", FakeKeys::new("instance", &far()));
    // The fake refuses IMDSv1 (a GET without the token), so passing below proves v2.
    let v1 = ureq::get(format!(
        "{}/latest/meta-data/iam/security-credentials/",
        imds.url()
    ))
    .config()
    .http_status_as_error(false)
    .build()
    .call()
    .unwrap();
    assert_eq!(v1.status().as_u16(), 401);
    let on_ec2 = Env::fixed([
        ("HOME", home.path().display().to_string()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()),
    ]);
    assert_eq!(key_used(&api, on_ec2).unwrap(), "ASIAINSTANCE");
    let paths: Vec<String> = imds
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // After the probe above: a token, then the role, then its credentials.
    assert_eq!(
        paths[1..4],
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/ec2-reddalert",
        ]
    );
}

#[test]
fn no_credentials_names_every_source_and_why() {
    let home = tempfile::tempdir().unwrap();
    let port = reddalert_testkit::http::closed_port();
    let off_ec2 = Env::fixed([
        ("HOME", home.path().display().to_string()),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
    ]);
    let err = Client::with_env(&settings(None, 0), off_ec2)
        .unwrap()
        .check_credentials()
        .unwrap_err();
    let AwsError::NoCredentials { tried } = &err else {
        panic!("{err:?}");
    };
    let names: Vec<&str> = tried.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "environment",
            "web identity",
            "shared files",
            "container",
            "instance metadata"
        ]
    );
    let text = err.to_string();
    for why in [
        "AWS_ACCESS_KEY_ID is not set",
        "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        "no profile \"default\"",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set",
        &format!("no instance metadata service at http://127.0.0.1:{port}"),
    ] {
        assert!(text.contains(why), "{why}: {text}");
    }
    assert!(err.is_credentials());
    let disabled = env(home.path(), &[]);
    let err = Client::with_env(&settings(None, 0), disabled)
        .unwrap()
        .check_credentials()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("AWS_EC2_METADATA_DISABLED is true"),
        "{err}"
    );
}

#[test]
fn the_chain_keeps_the_sdks_order() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    write(
        &home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIDFILES\naws_secret_access_key = s\n",
    );
    let role = "arn:aws:iam::123456789012:role/pod";
    let sts = aws_fakes::web_identity_sts("pod-token", role, FakeKeys::new("pod", &far()));
    let token_file = home.path().join("token");
    std::fs::write(&token_file, "pod-token").unwrap();
    let container = aws_fakes::container("/c", None, FakeKeys::new("container", &far()));
    let imds = aws_fakes::imds("r", FakeKeys::new("instance", &far()));
    let home_dir = home.path().display().to_string();
    // Each source's settings, in the chain's order; the shared files are found through HOME.
    let sources: [(&str, Vec<(&str, String)>); 5] = [
        (
            "AKIDENV",
            vec![
                ("AWS_ACCESS_KEY_ID", "AKIDENV".into()),
                ("AWS_SECRET_ACCESS_KEY", "s".into()),
            ],
        ),
        (
            "ASIAPOD",
            vec![
                (
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    token_file.display().to_string(),
                ),
                ("AWS_ROLE_ARN", role.into()),
            ],
        ),
        ("AKIDFILES", vec![("HOME", home_dir)]),
        (
            "ASIACONTAINER",
            vec![(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{}/c", container.url()),
            )],
        ),
        (
            "ASIAINSTANCE",
            vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url())],
        ),
    ];
    for first in 0..sources.len() {
        // STS and EC2 at their fakes; no home unless the shared files' source is in.
        let mut vars = vec![
            ("HOME", "/nonexistent".to_owned()),
            ("AWS_ENDPOINT_URL_STS", sts.url()),
            ("AWS_ENDPOINT_URL_EC2", api.url()),
        ];
        for (_, set) in &sources[first..] {
            vars.extend(set.iter().cloned());
        }
        // A later value of a name replaces an earlier one: the files' HOME wins.
        let client = client(&settings(None, 0), Env::fixed(vars));
        client
            .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
            .unwrap();
        assert_eq!(
            signer(&api).0,
            sources[first].0,
            "the sources from {first} on"
        );
    }
}

#[test]
fn temporary_credentials_are_fetched_again_before_they_expire() {
    let (api, home) = (api(), tempfile::tempdir().unwrap());
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(2)).to_string();
    for (expiration, fetches) in [(soon, 3), (far(), 1)] {
        let container = aws_fakes::container("/c", None, FakeKeys::new("container", &expiration));
        let uri = format!("{}/c", container.url());
        let client = client(
            &settings(Some(&api.url()), 0),
            env(
                home.path(),
                &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str())],
            ),
        );
        for _ in 0..3 {
            client
                .query(Service::Ec2, "eu-west-1", "DescribeRegions", &[])
                .unwrap();
        }
        assert_eq!(
            container.requests().len(),
            fetches,
            "expiring at {expiration}"
        );
    }
}
