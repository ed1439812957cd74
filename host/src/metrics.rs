//! Prometheus metrics of the last run, for monitoring that reddalert runs at all: a cron job
//! that silently stops, a rule that fails every night or alerts piling up for a dead relay all
//! look like "no alerts" from outside. After a run the metrics are rendered once in the
//! Prometheus text format (0.0.4, by the `prometheus-client` crate) and written to a file for
//! node_exporter's textfile collector, PUT to a Pushgateway, or both (`[metrics]`).
//!
//! Every value describes the last run only and every run replaces them all, so they are
//! gauges, never counters: `rate()` over them means nothing, and a value that went down did
//! not reset.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use prometheus_client::encoding::{EncodeGaugeValue, EncodeMetric, MetricEncoder, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::config::{MetricsSettings, Pushgateway, Shard};
use crate::outcome::{FailureKind, Shed};

/// What one run did, filled in by the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunMetrics {
    /// When the run started and finished (epoch ms).
    pub(crate) started_ms: u64,
    pub(crate) finished_ms: u64,
    /// The process's exit code: 0 all went well, 1 something failed, 2 fatal.
    pub(crate) exit_code: i32,
    pub(crate) rules: Vec<RuleMetrics>,
    /// Failures of the run by kind; kinds not listed count 0.
    pub(crate) failures: BTreeMap<FailureKind, u64>,
    /// Requests made to EDDA, and the bytes of their responses.
    pub(crate) edda_requests: u64,
    pub(crate) edda_bytes: u64,
    /// Alerts left waiting in the status file, by output.
    pub(crate) waiting: Vec<Waiting>,
    /// Alerts the bounds on what waits moved out of the way or cut.
    pub(crate) shed: Shed,
    /// The process's peak resident memory (Linux's `VmHWM`), where the system says it.
    pub(crate) peak_resident_bytes: Option<u64>,
    /// The shard this run was (`--shard I/N`): each shard's metrics are a Pushgateway group
    /// of their own, or the shards of one Kubernetes Job would replace each other's.
    pub(crate) shard: Option<Shard>,
}

/// One rule in one account.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RuleMetrics {
    pub(crate) name: String,
    /// The account it ran for, in a multi-account run.
    pub(crate) account: Option<String>,
    /// When it last succeeded (epoch ms, from the status file), if ever.
    pub(crate) last_success_ms: Option<u64>,
    /// Alerts it raised in this run.
    pub(crate) alerts: u64,
    /// Whether it failed in this run.
    pub(crate) failed: bool,
    /// Its attempts that failed since it last succeeded (from the status file).
    pub(crate) consecutive_failures: u32,
    /// With `store-until`, where its next window starts (epoch ms): the end of the window of
    /// its last success. It stays put while the rule fails or does not run at all.
    pub(crate) window_start_ms: Option<u64>,
}

/// Alerts waiting for one output.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Waiting {
    pub(crate) output: String,
    pub(crate) alerts: u64,
}

pub(crate) type Labels = Vec<(String, String)>;

/// A gauge family written in the order its series are given. The crate's `Family` keeps a
/// hash map, whose order changes from run to run: every textfile would differ from the last
/// for nothing, and so would the text tests compare.
#[derive(Debug)]
pub(crate) struct Series<N> {
    rows: Vec<(Labels, N)>,
}

impl<N> Series<N> {
    /// The series sorted by their labels.
    pub(crate) fn sorted(mut rows: Vec<(Labels, N)>) -> Series<N> {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Series { rows }
    }
}

impl<N: EncodeGaugeValue> EncodeMetric for Series<N> {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        for (labels, value) in &self.rows {
            encoder.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Pushes to the Pushgateway and writes the textfile, whichever are configured; both are
/// tried, and an error names each that failed. A push that failed is counted in the textfile
/// as an output failure of the run (which exits 1 for it).
pub(crate) fn publish(settings: &MetricsSettings, metrics: &RunMetrics) -> Result<()> {
    publish_text(settings, &Job::RUN, metrics.shard, |push_failed| {
        if !push_failed {
            return render(metrics);
        }
        let mut metrics = metrics.clone();
        *metrics.failures.entry(FailureKind::Output).or_default() += 1;
        metrics.exit_code = metrics.exit_code.max(1);
        render(&metrics)
    })
}

/// Which job's metrics a text is: the run's, or the crawl's beside them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    /// The Pushgateway's `job` label: each job replaces only its own metrics there.
    pub(crate) name: &'static str,
    /// What the metrics are, in errors: "the run's metrics".
    pub(crate) what: &'static str,
    /// Appended to the textfile's name before its extension (`reddalert.prom` becomes
    /// `reddalert-crawl.prom`), so the jobs' files sit side by side in the collector's
    /// directory; empty for the run's, which is the file configured.
    pub(crate) textfile_suffix: &'static str,
}

impl Job {
    pub(crate) const RUN: Job = Job {
        name: "reddalert",
        what: "the run's metrics",
        textfile_suffix: "",
    };

    /// Where this job's textfile goes, `textfile` being the configured one.
    pub(crate) fn textfile(&self, textfile: &Path) -> std::path::PathBuf {
        if self.textfile_suffix.is_empty() {
            return textfile.to_owned();
        }
        let stem = textfile.file_stem().unwrap_or_default().to_string_lossy();
        let name = match textfile.extension() {
            Some(ext) => format!("{stem}{}.{}", self.textfile_suffix, ext.to_string_lossy()),
            None => format!("{stem}{}", self.textfile_suffix),
        };
        textfile.with_file_name(name)
    }
}

/// Publishes `job`'s metrics as [`publish`] does the run's: pushed first, then written to
/// the textfile as `render(push_failed)` gives them, so the file counts a failed push.
pub(crate) fn publish_text(
    settings: &MetricsSettings,
    job: &Job,
    shard: Option<Shard>,
    render: impl Fn(bool) -> String,
) -> Result<()> {
    let mut failed = Vec::new();
    let text = render(false);
    if let Some(gateway) = &settings.pushgateway
        && let Err(err) = push(gateway, job.name, shard, &text)
    {
        failed.push(format!("{err:#}"));
    }
    if let Some(path) = &settings.textfile {
        // Rendered again only when the push failed, so the file counts that failure.
        let text = match failed.is_empty() {
            true => text,
            false => render(true),
        };
        if let Err(err) = write_textfile(&job.textfile(path), &text) {
            failed.push(format!("{err:#}"));
        }
    }
    if !failed.is_empty() {
        bail!("failed to publish {}: {}", job.what, failed.join("; "));
    }
    Ok(())
}

/// The metrics in the Prometheus text format (0.0.4), which node_exporter's textfile
/// collector and the Pushgateway read.
pub(crate) fn render(metrics: &RunMetrics) -> String {
    let mut registry = Registry::default();
    let seconds = |ms: u64| ms as f64 / 1000.0;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);

    registry.register(
        "reddalert_last_run_start_timestamp_seconds",
        "When the last run started, in seconds since the epoch",
        ConstGauge::new(seconds(metrics.started_ms)),
    );
    registry.register(
        "reddalert_last_run_end_timestamp_seconds",
        "When the last run finished, in seconds since the epoch",
        ConstGauge::new(seconds(metrics.finished_ms)),
    );
    registry.register(
        "reddalert_last_run_duration_seconds",
        "How long the last run took",
        ConstGauge::new(seconds(
            metrics.finished_ms.saturating_sub(metrics.started_ms),
        )),
    );
    registry.register(
        "reddalert_last_run_exit_code",
        "Exit code of the last run: 0 every rule ran and every output took its alerts, \
         1 something failed, 2 fatal",
        ConstGauge::new(i64::from(metrics.exit_code)),
    );
    registry.register(
        "reddalert_last_run_success",
        "1 when the last run exited 0, else 0",
        ConstGauge::new(i64::from(metrics.exit_code == 0)),
    );

    let mut last_success = Vec::new();
    let mut alerts = Vec::new();
    let mut failed = Vec::new();
    let mut consecutive = Vec::new();
    let mut window_start = Vec::new();
    for rule in &metrics.rules {
        let mut labels = vec![("rule".to_owned(), rule.name.clone())];
        if let Some(account) = &rule.account {
            labels.push(("account".to_owned(), account.clone()));
        }
        if let Some(ms) = rule.last_success_ms {
            last_success.push((labels.clone(), seconds(ms)));
        }
        if let Some(ms) = rule.window_start_ms {
            window_start.push((labels.clone(), seconds(ms)));
        }
        alerts.push((labels.clone(), count(rule.alerts)));
        consecutive.push((labels.clone(), i64::from(rule.consecutive_failures)));
        failed.push((labels, i64::from(rule.failed)));
    }
    registry.register(
        "reddalert_rule_last_success_timestamp_seconds",
        "When each rule last ran successfully, in seconds since the epoch (absent if never)",
        Series::sorted(last_success),
    );
    registry.register(
        "reddalert_rule_alerts",
        "Alerts each rule raised in the last run (a gauge of the last run, not a counter)",
        Series::sorted(alerts),
    );
    registry.register(
        "reddalert_rule_failed",
        "1 when the rule's last attempt failed (it reads its window again next run), else 0",
        Series::sorted(failed),
    );
    registry.register(
        "reddalert_rule_consecutive_failures",
        "Attempts of each rule that failed since it last succeeded (0 once it succeeds)",
        Series::sorted(consecutive),
    );
    registry.register(
        "reddalert_rule_window_start_timestamp_seconds",
        "With store-until, where each rule's next window starts, in seconds since the epoch: \
         the end of its last successful window, which stays put while it fails or does not run",
        Series::sorted(window_start),
    );

    let failures = FailureKind::OF_A_RUN.map(|kind| {
        let n = metrics.failures.get(&kind).copied().unwrap_or(0);
        (vec![("kind".to_owned(), kind.name().to_owned())], count(n))
    });
    registry.register(
        "reddalert_failures",
        "Failures in the last run by kind: rule, module, output, dropped (waiting alerts past \
         max_waiting_alerts), account (a gauge of the last run, not a counter)",
        Series {
            rows: failures.to_vec(),
        },
    );
    if let Some(bytes) = metrics.peak_resident_bytes {
        registry.register(
            "reddalert_last_run_peak_resident_bytes",
            "Peak resident memory of the last run's process",
            ConstGauge::new(count(bytes)),
        );
    }
    registry.register(
        "reddalert_edda_requests",
        "Requests the last run made to EDDA",
        ConstGauge::new(count(metrics.edda_requests)),
    );
    registry.register(
        "reddalert_edda_response_bytes",
        "Bytes of EDDA responses the last run read",
        ConstGauge::new(count(metrics.edda_bytes)),
    );
    let waiting = metrics
        .waiting
        .iter()
        .map(|w| {
            (
                vec![("output".to_owned(), w.output.clone())],
                count(w.alerts),
            )
        })
        .collect();
    let dropped = [
        ("max_waiting_alerts", metrics.shed.over_count),
        ("max_waiting_mib", metrics.shed.over_bytes),
        ("max_dead_letter_mib", metrics.shed.lost),
    ]
    .map(|(bound, n)| (vec![("bound".to_owned(), bound.to_owned())], count(n)));
    registry.register(
        "reddalert_alerts_dropped",
        "Alerts the last run took out of a waiting list, by the bound they were past: \
         max_waiting_alerts (the oldest) and max_waiting_mib (the largest) went to the \
         dead-letter file; max_dead_letter_mib counts those not kept anywhere (the file was at \
         its bound, could not be written, or the status volume was full)",
        Series {
            rows: dropped.to_vec(),
        },
    );
    registry.register(
        "reddalert_alerts_cut",
        "Alerts of the last run whose details were cut to max_alert_kib",
        ConstGauge::new(count(metrics.shed.cut)),
    );
    registry.register(
        "reddalert_waiting_alerts",
        "Alerts waiting in the status file for each output after the last run",
        Series::sorted(waiting),
    );

    let mut text = String::new();
    // Writing to a String cannot fail, and every value above is one the encoder takes.
    prometheus_text::encode(&mut text, &registry).expect("metrics encode into a String");
    text
}

/// Replaces `path` with `text` atomically: node_exporter reads the textfile whenever it is
/// scraped and must never see half of one. The temporary file sits in the same directory (a
/// rename does not cross file systems) under a name starting with `.` and not ending in
/// `.prom`, which the collector skips.
fn write_textfile(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(
        || "metrics".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in {}", dir.display()))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("failed to write {}", temp.path().display()))?;
    // tempfile makes files only their owner may read; node_exporter often runs as another user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("failed to make {} readable", temp.path().display()))?;
    }
    temp.persist(path)
        .with_context(|| format!("failed to replace {}", path.display()))?;
    // The rename is only durable once the directory is.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// PUTs `text` to the Pushgateway, replacing the metrics of `job`'s group (of `shard`'s) there.
fn push(gateway: &Pushgateway, job: &str, shard: Option<Shard>, text: &str) -> Result<()> {
    let url = push_url(gateway, job, shard);
    // A redirect is not followed: ureq would follow a 301 to a PUT with a bodiless GET, and
    // the metrics would never arrive while the push looked fine.
    let agent = crate::httpclient::agent_config(gateway.timeout)
        .max_redirects(0)
        .build()
        .new_agent();
    let mut response = agent
        .put(&url)
        .header("Content-Type", prometheus_text::CONTENT_TYPE)
        .send(text.as_bytes())
        .with_context(|| format!("failed to PUT the metrics to {url}"))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let body = response
            .body_mut()
            .with_config()
            .limit(4 << 10)
            .read_to_string()
            .unwrap_or_default();
        let redirect = match response.headers().get("location") {
            Some(to) if (300..400).contains(&status) => format!(
                " (a redirect to {}, which a PUT does not follow: set `pushgateway` to where it \
                 leads)",
                to.to_str().unwrap_or("?")
            ),
            _ => String::new(),
        };
        bail!(
            "the Pushgateway at {url} answered {status}{redirect}: {}",
            body.trim()
        );
    }
    Ok(())
}

/// `<url>/metrics/job/<job>[/instance/<instance>][/shard/<i>]`. An instance that is not
/// plain URL text (a `/`, a space) goes base64url-encoded, as the Pushgateway's `@base64`
/// suffix allows.
fn push_url(gateway: &Pushgateway, job: &str, shard: Option<Shard>) -> String {
    let mut url = format!("{}/metrics/job/{job}", gateway.url);
    if let Some(instance) = &gateway.instance {
        let plain = instance
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~:".contains(&b));
        if plain {
            url.push_str(&format!("/instance/{instance}"));
        } else {
            let encoded = base64::engine::general_purpose::URL_SAFE.encode(instance);
            url.push_str(&format!("/instance@base64/{encoded}"));
        }
    }
    if let Some(shard) = shard {
        url.push_str(&format!("/shard/{}", shard.index));
    }
    url
}

#[cfg(test)]
mod tests;
