//! The client the crawl and the S3 capability call AWS through: one per account crawl (or per
//! rule's S3 use), `Send + Sync`, holding the transport, the endpoint rules and the cached
//! credentials. Its calls are the two protocols the crawl needs (Query POSTs for EC2, ELB,
//! IAM and STS; REST-XML GETs for Route 53) and S3's GETs; each answers the response body or a
//! typed [`AwsError`].

use std::time::Duration;

use super::credentials::{Credentials, Origin, Provider, Role, StsAccess};
use super::endpoint::{Endpoint, Resolver};
use super::env::Env;
use super::transport::{Call, Outgoing, Transport};
use super::{AwsError, Service, request};
use crate::config::{CrawlSettings, CredentialSource, S3Settings};

/// Attempts of an S3 request beyond the first (the capability's budget counts calls, not
/// attempts).
const S3_RETRIES: u32 = 2;

/// Every service the crawl calls.
const ALL: [Service; 6] = [
    Service::Ec2,
    Service::Elb,
    Service::Iam,
    Service::Route53,
    Service::Sts,
    Service::S3,
];

/// An AWS client.
pub(crate) struct Client {
    transport: Transport,
    endpoints: Resolver,
    credentials: Provider,
}

impl Client {
    /// A client for an account's crawl: the standard chain (and the settings' role on top),
    /// the settings' endpoint, timeout and retries, the process's environment.
    pub(crate) fn new(settings: &CrawlSettings) -> Result<Client, AwsError> {
        Client::with_env(settings, Env::process())
    }

    /// [`Client::new`] reading `env` instead of the process's environment.
    #[allow(
        dead_code,
        reason = "called by the crawl (branch `crawl`) and the tests"
    )]
    pub(crate) fn with_env(settings: &CrawlSettings, env: Env) -> Result<Client, AwsError> {
        let role = settings.role_arn.as_ref().map(|arn| Role {
            arn: arn.clone(),
            external_id: settings.external_id.clone(),
        });
        let region = settings
            .regions
            .first()
            .cloned()
            .or_else(|| env.var("AWS_REGION"))
            .or_else(|| env.var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let endpoints = Resolver::new(settings.endpoint_url.clone(), None, env.clone());
        Client::build(
            Origin::Chain,
            role,
            endpoints,
            (&region, &ALL),
            settings.timeout,
            settings.retries,
            env,
        )
    }

    /// A client for the S3 capability: `[s3]`'s credentials (fixed keys, named variables,
    /// or the standard chain) and endpoint.
    pub(crate) fn for_s3(settings: &S3Settings, env: Env) -> Result<Client, AwsError> {
        let origin = match &settings.credentials {
            CredentialSource::Chain => Origin::Chain,
            CredentialSource::Literal {
                access_key_id,
                secret_access_key,
            } => Origin::Fixed(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
            )),
            CredentialSource::Env {
                access_key_id,
                secret_access_key,
                session_token,
            } => Origin::Variables {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: session_token.clone(),
            },
        };
        let endpoints = Resolver::new(None, settings.endpoint.clone(), env.clone());
        Client::build(
            origin,
            None,
            endpoints,
            (&settings.region, &[Service::S3, Service::Sts]),
            settings.timeout,
            S3_RETRIES,
            env,
        )
    }

    /// `(region, services)`: the region of STS, and the services the client calls.
    fn build(
        origin: Origin,
        role: Option<Role>,
        endpoints: Resolver,
        (region, services): (&str, &[Service]),
        timeout: Duration,
        retries: u32,
        env: Env,
    ) -> Result<Client, AwsError> {
        // An endpoint variable that is not a URL fails now, not at the first call.
        for service in services {
            endpoints.resolve(*service, region)?;
        }
        let sts = StsAccess {
            endpoints: endpoints.clone(),
            region: region.to_owned(),
            transport: Transport::new(timeout, retries),
        };
        Ok(Client {
            transport: Transport::new(timeout, retries),
            endpoints,
            credentials: Provider::new(origin, role, env, sts),
        })
    }

    /// Resolves the credential chain (and assumes the role) now, so that "no credentials"
    /// is known before anything is read.
    pub(crate) fn check_credentials(&self) -> Result<(), AwsError> {
        self.credentials.credentials().map(|_| ())
    }

    /// A Query-protocol call (EC2, ELB, IAM, STS): a signed form POST of `Action`, `Version`
    /// and `params`; answers the response XML.
    pub(crate) fn query(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<String, AwsError> {
        if service.query_version().is_none() {
            return Err(AwsError::Config(format!(
                "{service} does not speak the Query protocol"
            )));
        }
        let endpoint = self.endpoints.resolve(service, region)?;
        self.call(service, region, action, &endpoint, &|credentials| {
            request::query(&endpoint, service, action, params, Some(credentials))
        })
    }

    /// A REST-XML GET (Route 53): `path` like `/2013-04-01/hostedzone`, `query` unencoded
    /// pairs; answers the response XML.
    pub(crate) fn rest_get(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String, AwsError> {
        if !path.starts_with('/') {
            return Err(AwsError::Config(format!(
                "{path:?} is not an absolute path"
            )));
        }
        let endpoint = self.endpoints.resolve(service, region)?;
        let action = format!("GET {path}");
        self.call(service, region, &action, &endpoint, &|credentials| {
            request::rest_get(&endpoint, service, path, query, credentials)
        })
    }

    /// An S3 GET of the account (`bucket` `None`), a bucket or an object, signed for
    /// `region`; `action` names it in errors.
    pub(crate) fn s3_get(
        &self,
        action: &str,
        region: &str,
        bucket: Option<&str>,
        key: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<String, AwsError> {
        let endpoint = self.endpoints.resolve(Service::S3, region)?;
        self.call(Service::S3, region, action, &endpoint, &|credentials| {
            request::s3_get(&endpoint, bucket, key, query, credentials)
        })
    }

    /// Whether S3 requests go to an endpoint the operator set (path style, one region).
    pub(crate) fn s3_endpoint_is_custom(&self, region: &str) -> Result<bool, AwsError> {
        Ok(self.endpoints.resolve(Service::S3, region)?.custom)
    }

    fn call(
        &self,
        service: Service,
        region: &str,
        action: &str,
        endpoint: &Endpoint,
        build: &dyn Fn(&Credentials) -> Outgoing,
    ) -> Result<String, AwsError> {
        let call = Call {
            service,
            region,
            action,
        };
        tracing::trace!(%service, region, action, endpoint = %endpoint.url, "AWS call");
        self.transport.call(
            call,
            &|| Ok(build(&self.credentials.credentials()?)),
            &|| self.credentials.invalidate(),
        )
    }

    /// The transport, to shorten backoff in tests.
    #[cfg(test)]
    pub(crate) fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// The credential provider, to point its link-local sources at fakes in tests.
    #[cfg(test)]
    pub(crate) fn provider_mut(&mut self) -> &mut Provider {
        &mut self.credentials
    }
}
