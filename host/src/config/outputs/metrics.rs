//! Settings of the run's Prometheus metrics (`[metrics]`): a file for node_exporter's textfile
//! collector, a Pushgateway, or both. Metrics are not an output of alerts, but they leave the
//! process the same way (a file, an HTTP request) and are checked the same way.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail, ensure};
use serde::Deserialize;

/// `[metrics]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// File rewritten after every run, relative to the config file; node_exporter's textfile
    /// collector reads `*.prom` files of its `--collector.textfile.directory`.
    pub textfile: Option<String>,
    /// Pushgateway base URL (`http://pushgateway:9091`); the metrics are PUT to
    /// `<url>/metrics/job/reddalert[/instance/<instance>]`.
    pub pushgateway: Option<String>,
    /// The `instance` grouping label of the pushed metrics (one group per reddalert host).
    pub instance: Option<String>,
    /// Pushgateway request timeout, seconds (default 10).
    pub timeout_seconds: Option<f64>,
}

/// Where the metrics of each run go.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSettings {
    pub textfile: Option<PathBuf>,
    pub pushgateway: Option<Pushgateway>,
}

/// A Pushgateway and the group the metrics replace there.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushgateway {
    /// Base URL without a trailing slash.
    pub url: String,
    pub instance: Option<String>,
    pub timeout: Duration,
}

/// Validates `[metrics]`.
pub(super) fn settings(
    raw: &RawMetrics,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<MetricsSettings> {
    let textfile = match raw.textfile.as_deref() {
        Some("") => bail!("invalid key `metrics.textfile`: empty; name the file to write"),
        Some(path) => Some(resolve(path)),
        None => None,
    };
    let pushgateway = match &raw.pushgateway {
        Some(url) => {
            ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "invalid key `metrics.pushgateway`: {url:?} is not an http(s) URL"
            );
            ensure!(
                !url.contains("/metrics/job/"),
                "invalid key `metrics.pushgateway`: {url:?} names a group; give the base URL \
                 (`http://pushgateway:9091`): reddalert adds /metrics/job/reddalert"
            );
            if let Some(instance) = &raw.instance {
                ensure!(
                    !instance.is_empty(),
                    "invalid key `metrics.instance`: empty; leave it out or name this host"
                );
            }
            Some(Pushgateway {
                url: url.trim_end_matches('/').to_owned(),
                instance: raw.instance.clone(),
                timeout: super::seconds("metrics.timeout_seconds", raw.timeout_seconds, 10)?,
            })
        }
        None => {
            for (key, set) in [
                ("instance", raw.instance.is_some()),
                ("timeout_seconds", raw.timeout_seconds.is_some()),
            ] {
                ensure!(
                    !set,
                    "invalid key `metrics.{key}`: it is a Pushgateway setting and \
                     `metrics.pushgateway` is not set"
                );
            }
            None
        }
    };
    ensure!(
        textfile.is_some() || pushgateway.is_some(),
        "invalid key `metrics`: set `textfile` (a file for node_exporter's textfile collector), \
         `pushgateway` (a Pushgateway URL), or both"
    );
    Ok(MetricsSettings {
        textfile,
        pushgateway,
    })
}
