//! Prometheus metrics of the last crawl, beside the run's (`[metrics]`): the same textfile
//! directory under the name `<name>-crawl.prom`, and the Pushgateway under the job
//! `reddalert-crawl`, so neither job replaces the other's. How long the crawl took and how it
//! ended; per collection (and account) the resources it holds, the revisions this crawl
//! recorded, the resources it found gone, whether it failed and when it last succeeded. A
//! crawl whose collections are all fresh but one that fails every time looks, from outside,
//! like one that works: `reddalert_crawl_collection_failed` and the last success tell them
//! apart. Every value describes the last crawl, so they are gauges.

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::metrics::{Job, Labels, Series};

/// The crawl's job beside the run's.
pub(crate) const JOB: Job = Job {
    name: "reddalert-crawl",
    what: "the crawl's metrics",
    textfile_suffix: "-crawl",
};

/// What one crawl did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CrawlMetrics {
    pub(crate) started_ms: u64,
    pub(crate) finished_ms: u64,
    /// 0 every collection recorded, 1 some failed, 2 fatal.
    pub(crate) exit_code: i32,
    pub(crate) collections: Vec<CollectionMetrics>,
}

/// One collection of one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CollectionMetrics {
    /// `aws.securityGroups`.
    pub(crate) collection: String,
    /// The account, with `[[account]]`s.
    pub(crate) account: Option<String>,
    /// Live resources the store holds after this crawl (read from the store).
    pub(crate) resources: u64,
    /// Revisions this crawl recorded: resources new or changed.
    pub(crate) revisions: u64,
    /// Resources this crawl found gone.
    pub(crate) gone: u64,
    /// Whether this crawl failed to read it.
    pub(crate) failed: bool,
    /// When it was last crawled whole (epoch ms), if ever.
    pub(crate) last_success_ms: Option<u64>,
}

/// The metrics in the Prometheus text format.
pub(crate) fn render(metrics: &CrawlMetrics) -> String {
    let mut registry = Registry::default();
    let seconds = |ms: u64| ms as f64 / 1000.0;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    registry.register(
        "reddalert_crawl_last_start_timestamp_seconds",
        "When the last crawl started, in seconds since the epoch",
        ConstGauge::new(seconds(metrics.started_ms)),
    );
    registry.register(
        "reddalert_crawl_last_duration_seconds",
        "How long the last crawl took",
        ConstGauge::new(seconds(
            metrics.finished_ms.saturating_sub(metrics.started_ms),
        )),
    );
    registry.register(
        "reddalert_crawl_last_exit_code",
        "Exit code of the last crawl: 0 every collection recorded, 1 some failed, 2 fatal",
        ConstGauge::new(i64::from(metrics.exit_code)),
    );
    let mut resources: Vec<(Labels, i64)> = Vec::new();
    let mut revisions: Vec<(Labels, i64)> = Vec::new();
    let mut gone: Vec<(Labels, i64)> = Vec::new();
    let mut failed: Vec<(Labels, i64)> = Vec::new();
    let mut last_success: Vec<(Labels, f64)> = Vec::new();
    for c in &metrics.collections {
        let mut labels = vec![("collection".to_owned(), c.collection.clone())];
        if let Some(account) = &c.account {
            labels.push(("account".to_owned(), account.clone()));
        }
        resources.push((labels.clone(), count(c.resources)));
        revisions.push((labels.clone(), count(c.revisions)));
        gone.push((labels.clone(), count(c.gone)));
        failed.push((labels.clone(), i64::from(c.failed)));
        if let Some(ms) = c.last_success_ms {
            last_success.push((labels, seconds(ms)));
        }
    }
    registry.register(
        "reddalert_crawl_resources",
        "Live resources of each collection in the store after the last crawl",
        Series::sorted(resources),
    );
    registry.register(
        "reddalert_crawl_revisions_recorded",
        "Revisions the last crawl recorded in each collection (resources new or changed)",
        Series::sorted(revisions),
    );
    registry.register(
        "reddalert_crawl_resources_gone",
        "Resources of each collection the last crawl found gone",
        Series::sorted(gone),
    );
    registry.register(
        "reddalert_crawl_collection_failed",
        "1 when the last crawl could not read the collection (nothing of it recorded), else 0",
        Series::sorted(failed),
    );
    registry.register(
        "reddalert_crawl_collection_last_success_timestamp_seconds",
        "When each collection was last crawled whole, in seconds since the epoch",
        Series::sorted(last_success),
    );
    let mut text = String::new();
    // Writing to a String cannot fail, and every value above is one the encoder takes.
    prometheus_text::encode(&mut text, &registry).expect("metrics encode into a String");
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use reddalert_testkit::prometheus;

    use super::*;

    #[test]
    fn the_crawls_metrics_parse_and_say_what_each_collection_did() {
        let metrics = CrawlMetrics {
            started_ms: 1_514_775_900_000,
            finished_ms: 1_514_775_912_500,
            exit_code: 1,
            collections: vec![
                CollectionMetrics {
                    collection: "aws.securityGroups".into(),
                    account: Some("prod".into()),
                    resources: 40,
                    revisions: 3,
                    gone: 1,
                    failed: false,
                    last_success_ms: Some(1_514_775_910_000),
                },
                CollectionMetrics {
                    collection: "view.instances".into(),
                    account: Some("prod".into()),
                    resources: 120,
                    failed: true,
                    ..CollectionMetrics::default()
                },
            ],
        };
        let text = render(&metrics);
        if let Some(verdict) = prometheus::promtool_check(&text) {
            verdict.unwrap_or_else(|said| panic!("promtool check metrics: {said}\n{text}"));
        }
        let families = prometheus::parse(&text);
        let value = |name: &str, collection: &str| -> Option<f64> {
            let family = families.iter().find(|f| f.name == name)?;
            let sample = family.samples.iter().find(|s| {
                collection.is_empty()
                    || s.labels.get("collection").map(String::as_str) == Some(collection)
            })?;
            Some(sample.value)
        };
        assert_eq!(
            value("reddalert_crawl_last_duration_seconds", ""),
            Some(12.5)
        );
        assert_eq!(value("reddalert_crawl_last_exit_code", ""), Some(1.0));
        assert_eq!(
            value("reddalert_crawl_resources", "view.instances"),
            Some(120.0)
        );
        assert_eq!(
            value("reddalert_crawl_revisions_recorded", "aws.securityGroups"),
            Some(3.0)
        );
        assert_eq!(
            value("reddalert_crawl_resources_gone", "aws.securityGroups"),
            Some(1.0)
        );
        assert_eq!(
            value("reddalert_crawl_collection_failed", "view.instances"),
            Some(1.0)
        );
        assert_eq!(
            value("reddalert_crawl_collection_failed", "aws.securityGroups"),
            Some(0.0)
        );
        let last = "reddalert_crawl_collection_last_success_timestamp_seconds";
        assert_eq!(value(last, "aws.securityGroups"), Some(1_514_775_910.0));
        assert_eq!(
            value(last, "view.instances"),
            None,
            "never crawled whole: no series"
        );
        assert!(text.contains("account=\"prod\""), "{text}");
    }

    #[test]
    fn the_crawls_textfile_sits_beside_the_runs() {
        let textfile = |path: &str| JOB.textfile(Path::new(path));
        assert_eq!(
            textfile("/var/lib/ne/reddalert.prom"),
            Path::new("/var/lib/ne/reddalert-crawl.prom")
        );
        assert_eq!(textfile("metrics"), Path::new("metrics-crawl"));
        assert_eq!(
            crate::metrics::Job::RUN.textfile(Path::new("a.prom")),
            Path::new("a.prom")
        );
    }
}
