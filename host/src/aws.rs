//! AWS access, as AWS users expect it, for everything reddalert asks AWS itself: the crawl's
//! Query and REST-XML calls and the S3 capability's reads. One credential chain in the AWS
//! SDKs' order (environment, web identity, the shared files, container, instance metadata)
//! with an optional role assumed on top; one SigV4 signer; one set of endpoint rules
//! (`endpoint_url`, `AWS_ENDPOINT_URL[_<SERVICE>]`, AWS's regional and global hosts); one
//! transport that bounds every request and retries throttling and 5xx answers with jittered
//! backoff. Nothing above this module names SigV4 or a credential source.
//!
//! Built on ureq, quick-xml and the signer rather than the official aws-sdk-rust crates:
//! aws-sdk-ec2 alone is about 1.2 M generated lines, async only, and brings a second TLS
//! crypto library with a C build, for the dozen calls the crawl makes.

mod client;
mod credentials;
mod endpoint;
mod env;
mod error;
mod request;
mod sigv4;
mod transport;
mod xml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_chain;
#[cfg(test)]
mod tests_moto;

pub(crate) use client::Client;
pub(crate) use env::Env;
pub(crate) use error::AwsError;

/// The AWS APIs reddalert calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    Ec2,
    Elb,
    Iam,
    Route53,
    Sts,
    S3,
}

impl Service {
    /// The name requests are signed for, which is also the first label of its hosts.
    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Elb => "elasticloadbalancing",
            Service::Iam => "iam",
            Service::Route53 => "route53",
            Service::Sts => "sts",
            Service::S3 => "s3",
        }
    }

    /// The first label of its regional hosts.
    fn endpoint_prefix(self) -> &'static str {
        self.signing_name()
    }

    /// `<SERVICE>` of `AWS_ENDPOINT_URL_<SERVICE>`: the SDKs' service id, upper-cased, spaces
    /// as underscores.
    fn env_suffix(self) -> &'static str {
        match self {
            Service::Ec2 => "EC2",
            Service::Elb => "ELASTIC_LOAD_BALANCING",
            Service::Iam => "IAM",
            Service::Route53 => "ROUTE_53",
            Service::Sts => "STS",
            Service::S3 => "S3",
        }
    }

    /// The API version a Query-protocol call sends; `None` for the REST services.
    pub(crate) fn query_version(self) -> Option<&'static str> {
        match self {
            Service::Ec2 => Some("2016-11-15"),
            Service::Elb => Some("2012-06-01"),
            Service::Iam => Some("2010-05-08"),
            Service::Sts => Some("2011-06-15"),
            Service::Route53 | Service::S3 => None,
        }
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Ec2 => "EC2",
            Service::Elb => "ELB",
            Service::Iam => "IAM",
            Service::Route53 => "Route 53",
            Service::Sts => "STS",
            Service::S3 => "S3",
        })
    }
}

/// Every parser here of what the network answers, fed `data` (the fuzz target
/// `aws_answers`): AWS error bodies, STS credentials, the credential endpoints' JSON. None may
/// panic; an error body has a code; a refused credentials answer never quotes its secret.
pub(crate) fn parse_answers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(error) = xml::error_body(&text) {
        assert!(
            !error.code.is_empty(),
            "an error body without a code: {error:?}"
        );
    }
    let secret = xml::leaves(&text).ok().and_then(|leaves| {
        leaves
            .into_iter()
            .find(|(path, _)| path.last().is_some_and(|l| l == "SecretAccessKey"))
            .map(|(_, secret)| secret)
    });
    if let (Err(why), Some(secret)) = (xml::sts_credentials(&text), secret)
        && secret.len() >= 8
        && !text.contains(&format!("<Expiration>{secret}"))
    {
        assert!(!why.contains(&secret), "{why}");
    }
    let _ = credentials::parse_json(data);
}
