//! The `[crawl]` section: how `reddalert crawl` reaches the account's AWS APIs (regions, the
//! role it assumes, the endpoint it calls, timeouts and retries) and how long the store keeps
//! history. Each `[[account]]` may override any key with its own `[account.crawl]`; the keys it
//! sets replace the top-level ones for that account only. Every value is checked here, so a
//! typo in a region or a role ARN fails at load with the key that holds it, not mid-crawl.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde::Deserialize;

/// `[crawl]` (and `[account.crawl]`) as written; every key optional.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrawl {
    /// Regions whose regional resources are crawled (default: `AWS_REGION`, else
    /// `AWS_DEFAULT_REGION`).
    pub regions: Option<Vec<String>>,
    /// An IAM role assumed through STS before crawling (a cross-account crawl).
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for (only with `role_arn`).
    pub external_id: Option<String>,
    /// One endpoint for every AWS API instead of AWS's (an emulator such as moto); else
    /// `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL` when set.
    pub endpoint_url: Option<String>,
    /// Revisions closed longer ago than this many days are deleted (default 90).
    pub retention_days: Option<u32>,
    /// Timeout of one AWS request, seconds (default 30).
    pub timeout_seconds: Option<f64>,
    /// Retries of a throttled, 5xx or failed request, with jittered backoff (default 5).
    pub retries: Option<u32>,
    /// A collection whose last successful crawl is older than this fails the rules that read
    /// it, minutes (default 60).
    pub max_staleness_minutes: Option<u32>,
}

/// The validated crawl settings of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrawlSettings {
    /// Region names, each once, in the order given; empty when neither the config nor the
    /// environment names one (the crawl then refuses to start).
    pub regions: Vec<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// An http(s) URL without a trailing slash.
    pub endpoint_url: Option<String>,
    pub retention_days: u32,
    pub timeout: Duration,
    pub retries: u32,
    pub max_staleness: Duration,
}

impl Default for CrawlSettings {
    fn default() -> CrawlSettings {
        CrawlSettings {
            regions: Vec::new(),
            role_arn: None,
            external_id: None,
            endpoint_url: None,
            retention_days: 90,
            timeout: Duration::from_secs(30),
            retries: 5,
            max_staleness: Duration::from_secs(60 * 60),
        }
    }
}

impl RawCrawl {
    /// This section with the keys `over` sets replacing its own.
    pub fn overridden_by(&self, over: &RawCrawl) -> RawCrawl {
        RawCrawl {
            regions: over.regions.clone().or_else(|| self.regions.clone()),
            role_arn: over.role_arn.clone().or_else(|| self.role_arn.clone()),
            external_id: over
                .external_id
                .clone()
                .or_else(|| self.external_id.clone()),
            endpoint_url: over
                .endpoint_url
                .clone()
                .or_else(|| self.endpoint_url.clone()),
            retention_days: over.retention_days.or(self.retention_days),
            timeout_seconds: over.timeout_seconds.or(self.timeout_seconds),
            retries: over.retries.or(self.retries),
            max_staleness_minutes: over.max_staleness_minutes.or(self.max_staleness_minutes),
        }
    }
}

impl CrawlSettings {
    /// Validates a section; `env` reads an environment variable (the regions' fallback).
    pub fn from_raw(raw: &RawCrawl, env: &dyn Fn(&str) -> Option<String>) -> Result<CrawlSettings> {
        let defaults = CrawlSettings::default();
        let regions = match &raw.regions {
            Some(listed) => {
                ensure!(
                    !listed.is_empty(),
                    "`regions` is empty: name at least one region, such as [\"eu-west-1\"]"
                );
                let mut regions: Vec<String> = Vec::new();
                for region in listed {
                    check_region(region).context("invalid key `regions`")?;
                    ensure!(
                        !regions.contains(region),
                        "invalid key `regions`: {region:?} is listed twice"
                    );
                    regions.push(region.clone());
                }
                regions
            }
            None => match ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .into_iter()
                .find_map(|name| env(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
            {
                Some((name, region)) => {
                    check_region(&region).with_context(|| {
                        format!("invalid environment variable {name} (`regions` is not set)")
                    })?;
                    vec![region]
                }
                None => Vec::new(),
            },
        };
        if let Some(arn) = &raw.role_arn {
            check_role_arn(arn).context("invalid key `role_arn`")?;
        }
        if let Some(id) = &raw.external_id {
            ensure!(
                raw.role_arn.is_some(),
                "invalid key `external_id`: it is sent when assuming `role_arn`, which is not set"
            );
            check_external_id(id).context("invalid key `external_id`")?;
        }
        let endpoint_url = raw
            .endpoint_url
            .as_deref()
            .map(endpoint_url)
            .transpose()
            .context("invalid key `endpoint_url`")?;
        let check = super::check::within;
        Ok(CrawlSettings {
            regions,
            role_arn: raw.role_arn.clone(),
            external_id: raw.external_id.clone(),
            endpoint_url,
            retention_days: check(
                "retention_days",
                raw.retention_days,
                defaults.retention_days,
                1..=36_500,
            )?,
            timeout: super::check::seconds(
                "timeout_seconds",
                raw.timeout_seconds,
                defaults.timeout.as_secs_f64(),
                super::check::MAX_TIMEOUT_SECONDS,
            )?,
            retries: check("retries", raw.retries, defaults.retries, 0..=20)?,
            max_staleness: Duration::from_secs(
                60 * u64::from(check(
                    "max_staleness_minutes",
                    raw.max_staleness_minutes,
                    60,
                    1..=525_600,
                )?),
            ),
        })
    }
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
fn check_region(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    ensure!(
        ok,
        "{region:?} is not an AWS region name such as \"eu-west-1\" or \"us-gov-west-1\""
    );
    Ok(())
}

/// An IAM role ARN: `arn:aws:iam::123456789012:role/path/name`.
fn check_role_arn(arn: &str) -> Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = arn.len() <= 2048
        && parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[1]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && !name.ends_with('/')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
        });
    ensure!(
        ok,
        "{arn:?} is not an IAM role ARN such as \"arn:aws:iam::123456789012:role/reddalert\""
    );
    Ok(())
}

/// STS's pattern for an external id: 2 to 1224 of `[\w+=,.@:/-]`.
fn check_external_id(id: &str) -> Result<()> {
    ensure!(
        (2..=1224).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/_-".contains(&b)),
        "an external id is 2 to 1224 letters, digits or +=,.@:/_- (STS refuses others)"
    );
    Ok(())
}

/// An http(s) URL with a host and neither query nor fragment, without its trailing slash.
fn endpoint_url(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let ok = rest
        .is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ', '@']));
    ensure!(
        ok,
        "{url:?} is not an http:// or https:// URL of an AWS-compatible endpoint"
    );
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn settings(toml_text: &str) -> Result<CrawlSettings> {
        let raw: RawCrawl = toml::from_str(toml_text).map_err(|e| anyhow::anyhow!("{e}"))?;
        CrawlSettings::from_raw(&raw, &no_env)
    }

    fn error(toml_text: &str) -> String {
        format!("{:#}", settings(toml_text).unwrap_err())
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = settings("").unwrap();
        assert_eq!(s, CrawlSettings::default());
        assert_eq!(s.retention_days, 90);
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.retries, 5);
        assert_eq!(s.max_staleness, Duration::from_secs(3600));
        assert!(s.regions.is_empty());
    }

    #[test]
    fn regions_fall_back_to_aws_region_then_aws_default_region() {
        let both = |name: &str| match name {
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_DEFAULT_REGION" => Some("us-east-2".to_owned()),
            _ => None,
        };
        let default_only = |name: &str| (name == "AWS_DEFAULT_REGION").then(|| "ap-south-1".into());
        let raw = RawCrawl::default();
        assert_eq!(
            CrawlSettings::from_raw(&raw, &both).unwrap().regions,
            ["eu-west-1"]
        );
        assert_eq!(
            CrawlSettings::from_raw(&raw, &default_only)
                .unwrap()
                .regions,
            ["ap-south-1"]
        );
        let listed = RawCrawl {
            regions: Some(vec!["us-west-2".into()]),
            ..RawCrawl::default()
        };
        assert_eq!(
            CrawlSettings::from_raw(&listed, &both).unwrap().regions,
            ["us-west-2"]
        );
        let bad = |name: &str| (name == "AWS_REGION").then(|| "Ireland".into());
        let err = format!("{:#}", CrawlSettings::from_raw(&raw, &bad).unwrap_err());
        assert!(
            err.contains("AWS_REGION") && err.contains("\"Ireland\""),
            "{err}"
        );
    }

    #[test]
    fn every_key_is_read() {
        let s = settings(
            "regions = [\"eu-west-1\", \"us-gov-west-1\", \"cn-north-1\"]\n\
             role_arn = \"arn:aws:iam::123456789012:role/ops/reddalert\"\n\
             external_id = \"Ext-42:x\"\n\
             endpoint_url = \"http://127.0.0.1:5000/\"\n\
             retention_days = 30\ntimeout_seconds = 2.5\nretries = 0\n\
             max_staleness_minutes = 15\n",
        )
        .unwrap();
        assert_eq!(s.regions, ["eu-west-1", "us-gov-west-1", "cn-north-1"]);
        assert_eq!(
            s.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/ops/reddalert")
        );
        assert_eq!(s.external_id.as_deref(), Some("Ext-42:x"));
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(s.retention_days, 30);
        assert_eq!(s.timeout, Duration::from_millis(2500));
        assert_eq!(s.retries, 0, "zero retries is allowed");
        assert_eq!(s.max_staleness, Duration::from_secs(900));
    }

    #[test]
    fn bad_values_name_the_key_and_the_value() {
        for (text, expected) in [
            (
                "regions = [\"eu-west\"]",
                "`regions`: \"eu-west\" is not an AWS region",
            ),
            (
                "regions = [\"EU-WEST-1\"]",
                "\"EU-WEST-1\" is not an AWS region",
            ),
            (
                "regions = [\"eu-west-1a\"]",
                "\"eu-west-1a\" is not an AWS region",
            ),
            ("regions = []", "`regions` is empty"),
            ("regions = [\"eu-west-1\", \"eu-west-1\"]", "listed twice"),
            (
                "role_arn = \"arn:aws:iam::123456789012:user/bob\"",
                "`role_arn`: \"arn:aws:iam::123456789012:user/bob\" is not an IAM role ARN",
            ),
            (
                "role_arn = \"arn:aws:iam::1234:role/x\"",
                "is not an IAM role ARN",
            ),
            (
                "role_arn = \"arn:aws:s3::123456789012:role/x\"",
                "is not an IAM role ARN",
            ),
            (
                "external_id = \"abc\"",
                "`external_id`: it is sent when assuming `role_arn`",
            ),
            (
                "role_arn = \"arn:aws:iam::123456789012:role/x\"\nexternal_id = \"a b\"",
                "`external_id`: an external id is 2 to 1224",
            ),
            (
                "endpoint_url = \"ftp://moto\"",
                "`endpoint_url`: \"ftp://moto\" is not an http://",
            ),
            ("endpoint_url = \"http://\"", "is not an http://"),
            (
                "timeout_seconds = 0",
                "`timeout_seconds`: 0 is outside its range",
            ),
            ("retries = 21", "`retries`: 21 is outside its range 0 to 20"),
            (
                "retention_days = 0",
                "`retention_days`: 0 is outside its range",
            ),
            (
                "max_staleness_minutes = 0",
                "`max_staleness_minutes`: 0 is outside",
            ),
        ] {
            let err = error(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert!(error("region = \"eu-west-1\"").contains("unknown field `region`"));
    }

    #[test]
    fn an_override_replaces_only_the_keys_it_sets() {
        let top = RawCrawl {
            regions: Some(vec!["eu-west-1".into()]),
            retries: Some(2),
            ..RawCrawl::default()
        };
        let over = RawCrawl {
            role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            retries: Some(7),
            ..RawCrawl::default()
        };
        let merged = top.overridden_by(&over);
        assert_eq!(merged.regions, top.regions);
        assert_eq!(merged.role_arn, over.role_arn);
        assert_eq!(merged.retries, Some(7));
    }
}
