//! Where each AWS API is reached and for which region its requests are signed, as the AWS
//! SDKs decide it: an endpoint set in the config wins, then `AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL` (both ignored when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), then
//! AWS's own: regional for EC2, ELB, STS and S3, global for IAM and Route 53 (signed for the
//! partition's home region), in the partition of the region (`cn-` regions under
//! `amazonaws.com.cn`, GovCloud's own global hosts).

use super::env::Env;
use super::{AwsError, Service};

/// Where one request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `scheme://authority[/base path]`, without a trailing slash.
    pub url: String,
    /// The region the request is signed for.
    pub signing_region: String,
    /// Whether the URL was set by the operator (config or environment), not AWS's own.
    pub custom: bool,
}

impl Endpoint {
    /// The `Host` header for this endpoint, as ureq sends it (the scheme's default port left
    /// out, so the signature covers the same text).
    pub(crate) fn host(&self) -> &str {
        host_header(&self.url)
    }

    /// `scheme://authority`, the URL without its base path.
    pub(crate) fn origin(&self) -> &str {
        &self.url[..self.url.len() - self.base_path().len()]
    }

    /// The base path before the request's own (`""` for AWS's endpoints).
    pub(crate) fn base_path(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        rest.find('/').map_or("", |at| &rest[at..])
    }
}

/// The endpoint rules of one client.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    /// The crawl's `endpoint_url`, for every service but S3.
    configured: Option<String>,
    /// `[s3] endpoint`, for S3.
    configured_s3: Option<String>,
    env: Env,
}

/// AWS's partitions: DNS suffix, and the home region of its global services.
struct Partition {
    suffix: &'static str,
    global_region: &'static str,
    iam_host: &'static str,
    route53_host: &'static str,
}

const AWS: Partition = Partition {
    suffix: "amazonaws.com",
    global_region: "us-east-1",
    iam_host: "iam.amazonaws.com",
    route53_host: "route53.amazonaws.com",
};
const CHINA: Partition = Partition {
    suffix: "amazonaws.com.cn",
    global_region: "cn-northwest-1",
    iam_host: "iam.cn-north-1.amazonaws.com.cn",
    route53_host: "route53.amazonaws.com.cn",
};
const GOV_CLOUD: Partition = Partition {
    suffix: "amazonaws.com",
    global_region: "us-gov-west-1",
    iam_host: "iam.us-gov.amazonaws.com",
    route53_host: "route53.us-gov.amazonaws.com",
};

fn partition(region: &str) -> &'static Partition {
    if region.starts_with("cn-") {
        &CHINA
    } else if region.starts_with("us-gov-") {
        &GOV_CLOUD
    } else {
        &AWS
    }
}

impl Resolver {
    pub(crate) fn new(
        configured: Option<String>,
        configured_s3: Option<String>,
        env: Env,
    ) -> Resolver {
        Resolver {
            configured,
            configured_s3,
            env,
        }
    }

    /// The endpoint of `service` for a request about `region`.
    pub(crate) fn resolve(&self, service: Service, region: &str) -> Result<Endpoint, AwsError> {
        let partition = partition(region);
        let signing_region = match service {
            // China's IAM signs for cn-north-1, its Route 53 for cn-northwest-1.
            Service::Iam if region.starts_with("cn-") => "cn-north-1",
            Service::Iam | Service::Route53 => partition.global_region,
            _ => region,
        }
        .to_owned();
        if let Some(url) = self.custom(service)? {
            return Ok(Endpoint {
                url,
                signing_region,
                custom: true,
            });
        }
        let host = match service {
            Service::Iam => partition.iam_host.to_owned(),
            Service::Route53 => partition.route53_host.to_owned(),
            other => format!("{}.{region}.{}", other.endpoint_prefix(), partition.suffix),
        };
        Ok(Endpoint {
            url: format!("https://{host}"),
            signing_region,
            custom: false,
        })
    }

    /// An endpoint the operator set for `service`, by the SDKs' precedence.
    fn custom(&self, service: Service) -> Result<Option<String>, AwsError> {
        let configured = match service {
            Service::S3 => &self.configured_s3,
            _ => &self.configured,
        };
        if let Some(url) = configured {
            return Ok(Some(url.clone()));
        }
        if self.env.is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
            return Ok(None);
        }
        let specific = format!("AWS_ENDPOINT_URL_{}", service.env_suffix());
        for name in [specific.as_str(), "AWS_ENDPOINT_URL"] {
            if let Some(url) = self.env.var(name) {
                return check_url(&url)
                    .map(Some)
                    .map_err(|why| AwsError::Config(format!("{name}: {why}")));
            }
        }
        Ok(None)
    }
}

/// The `Host` header ureq sends for a URL: its authority without the scheme's default port.
pub(crate) fn host_header(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let default_port = if url.starts_with("https:") {
        ":443"
    } else {
        ":80"
    };
    authority.strip_suffix(default_port).unwrap_or(authority)
}

/// An http(s) URL with a host, without its trailing slash.
pub(crate) fn check_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ', '@']) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "{url:?} is not an http:// or https:// endpoint URL"
        )),
    }
}

/// How an S3 request addresses its bucket, as (origin, path on the wire): AWS's regional
/// endpoint virtual-host style unless the name has dots (they break TLS under virtual
/// hosting); an operator's endpoint path style. `key_path` is the encoded `/key`, or `/`.
pub(crate) fn s3_address(
    endpoint: &Endpoint,
    bucket: Option<&str>,
    key_path: &str,
) -> (String, String) {
    let (origin, base) = (endpoint.origin().to_owned(), endpoint.base_path());
    match bucket {
        None => (origin, format!("{base}/")),
        Some(b) if endpoint.custom || b.contains('.') => {
            let path = if key_path == "/" { "" } else { key_path };
            (origin, format!("{base}/{b}{path}"))
        }
        Some(b) => {
            let (scheme, host) = origin.split_once("://").unwrap_or(("https", &origin));
            (format!("{scheme}://{b}.{host}"), key_path.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(env: &[(&str, &str)], configured: Option<&str>, s: Service, r: &str) -> Endpoint {
        Resolver::new(
            configured.map(str::to_owned),
            None,
            Env::fixed(env.iter().copied()),
        )
        .resolve(s, r)
        .unwrap()
    }

    fn aws(url: &str, signing_region: &str) -> Endpoint {
        Endpoint {
            url: url.into(),
            signing_region: signing_region.into(),
            custom: false,
        }
    }

    #[test]
    fn aws_endpoints_per_service_and_partition() {
        for (service, region, expected) in [
            (
                Service::Ec2,
                "eu-west-1",
                aws("https://ec2.eu-west-1.amazonaws.com", "eu-west-1"),
            ),
            (
                Service::Elb,
                "us-east-2",
                aws(
                    "https://elasticloadbalancing.us-east-2.amazonaws.com",
                    "us-east-2",
                ),
            ),
            (
                Service::Iam,
                "eu-west-1",
                aws("https://iam.amazonaws.com", "us-east-1"),
            ),
            (
                Service::Route53,
                "ap-south-1",
                aws("https://route53.amazonaws.com", "us-east-1"),
            ),
            (
                Service::Sts,
                "eu-central-1",
                aws("https://sts.eu-central-1.amazonaws.com", "eu-central-1"),
            ),
            (
                Service::S3,
                "eu-west-1",
                aws("https://s3.eu-west-1.amazonaws.com", "eu-west-1"),
            ),
            (
                Service::Ec2,
                "cn-north-1",
                aws("https://ec2.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            ),
            (
                Service::Iam,
                "cn-northwest-1",
                aws("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            ),
            (
                Service::Route53,
                "cn-north-1",
                aws("https://route53.amazonaws.com.cn", "cn-northwest-1"),
            ),
            (
                Service::Sts,
                "cn-north-1",
                aws("https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1"),
            ),
            (
                Service::Iam,
                "us-gov-east-1",
                aws("https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
            ),
            (
                Service::Ec2,
                "us-gov-east-1",
                aws("https://ec2.us-gov-east-1.amazonaws.com", "us-gov-east-1"),
            ),
        ] {
            assert_eq!(
                resolve(&[], None, service, region),
                expected,
                "{service:?} {region}"
            );
        }
    }

    #[test]
    fn configured_then_service_variable_then_global_variable() {
        let env = [
            ("AWS_ENDPOINT_URL", "http://global:1/"),
            ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING", "http://elb:2"),
            ("AWS_ENDPOINT_URL_ROUTE_53", "http://r53:3"),
        ];
        let url = |configured, s| resolve(&env, configured, s, "eu-west-1").url;
        assert_eq!(url(None, Service::Elb), "http://elb:2");
        assert_eq!(url(None, Service::Route53), "http://r53:3");
        assert_eq!(url(None, Service::Ec2), "http://global:1");
        assert_eq!(url(Some("http://conf:4"), Service::Elb), "http://conf:4");
        // The crawl's endpoint_url is not S3's: `[s3] endpoint` is.
        assert_eq!(url(Some("http://conf:4"), Service::S3), "http://global:1");
        let iam = resolve(&env, None, Service::Iam, "eu-west-1");
        assert!(iam.custom);
        assert_eq!(iam.signing_region, "us-east-1");
        let ignored = [("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"), env[0]];
        assert_eq!(
            resolve(&ignored, None, Service::Ec2, "eu-west-1").url,
            "https://ec2.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn a_bad_endpoint_variable_is_an_error_naming_it() {
        let s3 = Resolver::new(
            None,
            Some("http://s3.local".into()),
            Env::fixed([("AWS_ENDPOINT_URL", "http://g")]),
        );
        assert_eq!(
            s3.resolve(Service::S3, "eu-west-1").unwrap().url,
            "http://s3.local"
        );
        assert_eq!(
            s3.resolve(Service::Ec2, "eu-west-1").unwrap().url,
            "http://g"
        );
        let err = Resolver::new(
            None,
            None,
            Env::fixed([("AWS_ENDPOINT_URL_EC2", "ec2.local")]),
        )
        .resolve(Service::Ec2, "eu-west-1")
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("AWS_ENDPOINT_URL_EC2") && err.contains("\"ec2.local\""),
            "{err}"
        );
    }

    #[test]
    fn hosts_and_s3_addresses() {
        let custom = Endpoint {
            url: "http://127.0.0.1:5000/base".into(),
            signing_region: "us-east-1".into(),
            custom: true,
        };
        assert_eq!(custom.host(), "127.0.0.1:5000");
        assert_eq!(aws("https://a.example:443", "r").host(), "a.example");
        assert_eq!(
            s3_address(&custom, Some("b"), "/k"),
            ("http://127.0.0.1:5000".into(), "/base/b/k".into())
        );
        assert_eq!(
            s3_address(&custom, None, "/"),
            ("http://127.0.0.1:5000".into(), "/base/".into())
        );
        let regional = aws("https://s3.eu-west-1.amazonaws.com", "eu-west-1");
        assert_eq!(
            s3_address(&regional, Some("b"), "/k"),
            ("https://b.s3.eu-west-1.amazonaws.com".into(), "/k".into())
        );
        assert_eq!(
            s3_address(&regional, Some("a.b"), "/"),
            ("https://s3.eu-west-1.amazonaws.com".into(), "/a.b".into())
        );
        assert_eq!(
            s3_address(&regional, None, "/"),
            ("https://s3.eu-west-1.amazonaws.com".into(), "/".into())
        );
    }
}
