//! The rendered text read back by the Prometheus project's parser (and promtool when it is
//! installed), the atomic textfile, and the PUT to a Pushgateway on loopback.

use std::time::Duration;

use reddalert_testkit::http::{HttpServer, Reply, closed_port};
use reddalert_testkit::prometheus::{self, Family};

use super::*;

const STARTED: u64 = 1_514_775_900_000;
const FINISHED: u64 = 1_514_775_912_500;

fn sample() -> RunMetrics {
    RunMetrics {
        started_ms: STARTED,
        finished_ms: FINISHED,
        exit_code: 1,
        rules: vec![
            RuleMetrics {
                name: "secgroups".into(),
                account: Some("123456789012".into()),
                last_success_ms: Some(STARTED),
                alerts: 3,
                failed: false,
                consecutive_failures: 0,
                window_start_ms: Some(STARTED - 300_000),
            },
            RuleMetrics {
                name: "iam".into(),
                account: None,
                last_success_ms: None,
                alerts: 0,
                failed: true,
                consecutive_failures: 4,
                window_start_ms: None,
            },
        ],
        failures: BTreeMap::from([(FailureKind::Rule, 1), (FailureKind::Output, 2)]),
        edda_requests: 14,
        edda_bytes: 1_048_576,
        waiting: vec![Waiting {
            output: "mail".into(),
            alerts: 3,
        }],
        peak_resident_bytes: Some(150 << 20),
        shard: None,
        shed: Shed {
            over_count: 4,
            over_bytes: 2,
            lost: 1,
            cut: 5,
        },
    }
}

fn family<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in {families:#?}"))
}

/// The text parsed, after promtool (when installed) found nothing wrong with it.
fn parsed(text: &str) -> Vec<Family> {
    if let Some(verdict) = prometheus::promtool_check(text) {
        verdict.unwrap_or_else(|said| panic!("promtool check metrics: {said}\n{text}"));
    }
    prometheus::parse(text)
}

#[test]
fn the_rendered_text_parses_and_says_what_the_run_did() {
    let text = render(&sample());
    let families = parsed(&text);
    let mut names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "reddalert_alerts_cut",
            "reddalert_alerts_dropped",
            "reddalert_edda_requests",
            "reddalert_edda_response_bytes",
            "reddalert_failures",
            "reddalert_last_run_duration_seconds",
            "reddalert_last_run_end_timestamp_seconds",
            "reddalert_last_run_exit_code",
            "reddalert_last_run_peak_resident_bytes",
            "reddalert_last_run_start_timestamp_seconds",
            "reddalert_last_run_success",
            "reddalert_rule_alerts",
            "reddalert_rule_consecutive_failures",
            "reddalert_rule_failed",
            "reddalert_rule_last_success_timestamp_seconds",
            "reddalert_rule_window_start_timestamp_seconds",
            "reddalert_waiting_alerts",
        ]
    );
    for f in &families {
        assert_eq!(f.kind, "gauge", "{}", f.name);
        assert!(f.help.len() > 10, "{} has no HELP", f.name);
    }
    let one = |name: &str| family(&families, name).value(&[]);
    assert_eq!(
        one("reddalert_last_run_start_timestamp_seconds"),
        Some(1_514_775_900.0)
    );
    assert_eq!(
        one("reddalert_last_run_end_timestamp_seconds"),
        Some(1_514_775_912.5)
    );
    assert_eq!(one("reddalert_last_run_duration_seconds"), Some(12.5));
    assert_eq!(one("reddalert_last_run_exit_code"), Some(1.0));
    assert_eq!(one("reddalert_last_run_success"), Some(0.0));
    assert_eq!(one("reddalert_edda_requests"), Some(14.0));
    assert_eq!(one("reddalert_edda_response_bytes"), Some(1_048_576.0));
    assert_eq!(
        one("reddalert_last_run_peak_resident_bytes"),
        Some(150.0 * 1_048_576.0)
    );
    assert_eq!(one("reddalert_alerts_cut"), Some(5.0));
    let dropped = family(&families, "reddalert_alerts_dropped");
    for (bound, n) in [
        ("max_waiting_alerts", 4.0),
        ("max_waiting_mib", 2.0),
        ("max_dead_letter_mib", 1.0),
    ] {
        assert_eq!(dropped.value(&[("bound", bound)]), Some(n), "{bound}");
    }

    let secgroups = [("rule", "secgroups"), ("account", "123456789012")];
    let iam = [("rule", "iam")];
    let last = family(&families, "reddalert_rule_last_success_timestamp_seconds");
    assert_eq!(last.value(&secgroups), Some(1_514_775_900.0));
    assert_eq!(
        last.samples.len(),
        1,
        "a rule that never succeeded has none"
    );
    let alerts = family(&families, "reddalert_rule_alerts");
    assert_eq!(
        (alerts.value(&secgroups), alerts.value(&iam)),
        (Some(3.0), Some(0.0))
    );
    let failed = family(&families, "reddalert_rule_failed");
    assert_eq!(
        (failed.value(&secgroups), failed.value(&iam)),
        (Some(0.0), Some(1.0))
    );
    let consecutive = family(&families, "reddalert_rule_consecutive_failures");
    assert_eq!(
        (consecutive.value(&secgroups), consecutive.value(&iam)),
        (Some(0.0), Some(4.0))
    );
    let window = family(&families, "reddalert_rule_window_start_timestamp_seconds");
    assert_eq!(window.value(&secgroups), Some(1_514_775_600.0));
    assert_eq!(window.samples.len(), 1, "none without store-until");
    let failures = family(&families, "reddalert_failures");
    for (kind, n) in [
        ("rule", 1.0),
        ("module", 0.0),
        ("output", 2.0),
        ("dropped", 0.0),
        ("account", 0.0),
    ] {
        assert_eq!(failures.value(&[("kind", kind)]), Some(n), "{kind}");
    }
    let waiting = family(&families, "reddalert_waiting_alerts");
    assert_eq!(waiting.value(&[("output", "mail")]), Some(3.0));
    assert!(
        family(&families, "reddalert_failures")
            .help
            .contains("not a counter"),
        "HELP says these are the last run's"
    );
}

#[test]
fn a_clean_run_is_a_success_and_label_values_are_escaped() {
    let mut m = sample();
    m.exit_code = 0;
    m.rules[0].account = Some("prod \"eu\"\\\nsecond line".into());
    let families = parsed(&render(&m));
    assert_eq!(
        family(&families, "reddalert_last_run_success").value(&[]),
        Some(1.0)
    );
    assert_eq!(
        family(&families, "reddalert_rule_alerts").value(&[
            ("rule", "secgroups"),
            ("account", "prod \"eu\"\\\nsecond line")
        ]),
        Some(3.0)
    );
}

#[test]
fn an_empty_run_still_renders_every_failure_kind() {
    let families = parsed(&render(&RunMetrics::default()));
    assert_eq!(
        family(&families, "reddalert_failures").samples.len(),
        FailureKind::OF_A_RUN.len()
    );
}

fn textfile_only(path: &Path) -> MetricsSettings {
    MetricsSettings {
        textfile: Some(path.to_owned()),
        pushgateway: None,
    }
}

#[test]
fn the_textfile_is_replaced_whole_and_no_temporary_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reddalert.prom");
    std::fs::write(&path, "# an older run\n").unwrap();
    // A reader that opened the old file (node_exporter mid-scrape) keeps reading all of it.
    let reader = std::fs::File::open(&path).unwrap();

    publish(&textfile_only(&path), &sample()).unwrap();

    assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&sample()));
    assert_eq!(
        std::io::read_to_string(reader).unwrap(),
        "# an older run\n",
        "replaced by a rename, not rewritten in place"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["reddalert.prom"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "readable by node_exporter's user");
    }
}

#[test]
fn a_textfile_that_cannot_be_written_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("reddalert.prom");
    let err = format!(
        "{:#}",
        publish(&textfile_only(&path), &sample()).unwrap_err()
    );
    assert!(
        err.starts_with("failed to publish the run's metrics: failed to create a temporary file")
            && err.contains("missing"),
        "{err}"
    );
}

fn gateway(url: String, instance: Option<&str>) -> MetricsSettings {
    MetricsSettings {
        textfile: None,
        pushgateway: Some(Pushgateway {
            url,
            instance: instance.map(str::to_owned),
            timeout: Duration::from_secs(5),
        }),
    }
}

#[test]
fn the_pushgateway_gets_the_same_text_in_one_put_per_group() {
    let server = HttpServer::start(|_| Reply::text(200, ""));
    publish(&gateway(server.url(), Some("web-1")), &sample()).unwrap();
    publish(&gateway(server.url(), Some("web/1 eu")), &sample()).unwrap();
    publish(&gateway(server.url(), None), &sample()).unwrap();
    let sharded = RunMetrics {
        shard: Some("2/4".parse().unwrap()),
        ..sample()
    };
    publish(&gateway(server.url(), Some("web-1")), &sharded).unwrap();
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/metrics/job/reddalert/instance/web-1",
            // base64url of "web/1 eu"
            "/metrics/job/reddalert/instance@base64/d2ViLzEgZXU=",
            "/metrics/job/reddalert",
            // Each shard of a Kubernetes indexed Job keeps a group of its own.
            "/metrics/job/reddalert/instance/web-1/shard/2",
        ]
    );
    let first = &requests[0];
    assert_eq!(first.method, "PUT");
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(first.body_text(), render(&sample()));
}

#[test]
fn a_pushgateway_that_refuses_or_is_down_is_an_error_and_the_textfile_still_written() {
    let server = HttpServer::start(|_| Reply::text(400, "text format parsing error in line 3"));
    let err = format!(
        "{:#}",
        publish(&gateway(server.url(), None), &sample()).unwrap_err()
    );
    assert!(
        err.contains(&format!(
            "the Pushgateway at {}/metrics/job/reddalert answered 400: text format parsing \
             error in line 3",
            server.url()
        )),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reddalert.prom");
    let mut both = gateway(format!("http://127.0.0.1:{}", closed_port()), None);
    both.textfile = Some(path.clone());
    let err = format!("{:#}", publish(&both, &sample()).unwrap_err());
    assert!(err.contains("failed to PUT the metrics to"), "{err}");
    // The textfile is written all the same, and counts the failed push as an output failure.
    let mut counted = sample();
    *counted.failures.get_mut(&FailureKind::Output).unwrap() += 1;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), render(&counted));
}

#[test]
fn a_pushgateway_redirect_is_a_failed_push_not_a_get_and_the_textfile_counts_it() {
    let server = HttpServer::start(|req| {
        if req.method == "PUT" {
            Reply::redirect(301, "/elsewhere/metrics/job/reddalert")
        } else {
            Reply::text(200, "a page")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reddalert.prom");
    let mut both = gateway(server.url(), None);
    both.textfile = Some(path.clone());
    let mut ok = sample();
    ok.exit_code = 0;
    ok.failures.clear();
    let err = format!("{:#}", publish(&both, &ok).unwrap_err());
    assert!(
        err.contains("answered 301 (a redirect to /elsewhere/metrics/job/reddalert"),
        "{err}"
    );
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["PUT"], "the PUT was not followed by a GET");
    let families = parsed(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(
        family(&families, "reddalert_failures").value(&[("kind", "output")]),
        Some(1.0)
    );
    assert_eq!(
        family(&families, "reddalert_last_run_exit_code").value(&[]),
        Some(1.0)
    );
}
