//! The alerting rules (`etc/monitoring/reddalert.rules.yml`) and the Grafana dashboard, run by
//! Prometheus's own promtool over the metrics real runs wrote: a run's textfile becomes
//! promtool's input series as it stands (every name, label and value; the timestamps moved so
//! that the run ended at promtool's time 0, and held there, as a textfile is once cron stops),
//! and promtool evaluates the rules over the hours after it, against the alerts each hour must
//! and must not raise. The crawl's alerts are fed the textfile a real `reddalert crawl` of an
//! account in moto wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use reddalert_testkit::aws_account::Seed;
use reddalert_testkit::guests;

use crate::crawl::Crawled;
use crate::support::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace root")
        .to_owned()
}

fn rules_file() -> PathBuf {
    root().join("etc/monitoring/reddalert.rules.yml")
}

/// Runs promtool (Debian's `prometheus` package); its verdict and what it printed.
fn promtool(args: &[&str]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .expect("run promtool (apt-get install prometheus)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The samples of a metrics textfile: each series as written (`name{labels}`) and its value.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("`series value`");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The value of `series` in a textfile.
fn sample(text: &str, series: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(s, _)| s == series)
        .unwrap_or_else(|| panic!("{series} in\n{text}"))
        .1
}

/// promtool's input series: every sample held for three hours, one a minute, with the
/// timestamps (`*_timestamp_seconds`) moved so that the run ended at time 0.
fn input_series(text: &str) -> String {
    series_ending(
        text,
        sample(text, "reddalert_last_run_end_timestamp_seconds"),
    )
}

/// promtool's input series of a textfile whose job ended at `end` (seconds since the epoch),
/// which becomes time 0.
fn series_ending(text: &str, end: f64) -> String {
    let mut yaml = String::new();
    for (series, value) in samples(text) {
        let name = series.split('{').next().unwrap();
        let value = if name.ends_with("_timestamp_seconds") {
            value - end
        } else {
            value
        };
        yaml.push_str(&format!(
            "      - series: '{series}'\n        values: '{value}+0x180'\n"
        ));
    }
    yaml
}

/// The rules file without its annotations: promtool compares them too, and their templates
/// are checked by `promtool check rules` on the file as shipped.
fn rules_without_annotations() -> String {
    let text = std::fs::read_to_string(rules_file()).unwrap();
    let mut out = String::new();
    let mut skipping: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(at) = skipping {
            if indent > at || line.trim().is_empty() {
                continue;
            }
            skipping = None;
        }
        if line.trim() == "annotations:" {
            skipping = Some(indent);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn alert_names() -> Vec<String> {
    std::fs::read_to_string(rules_file())
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(str::to_owned)
        .collect()
}

/// An alert expected firing at a time, with its labels beside `severity`.
type Firing = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// `promtool test rules` of the rules over `series`: at each of `times`, every alert of the
/// file must fire with exactly the labels `firing` lists for it then, and no other.
fn promtool_test(series: &str, times: &[&str], firing: &[Firing]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(&rules, rules_without_annotations()).unwrap();
    let severities: BTreeMap<String, String> = {
        let text = std::fs::read_to_string(rules_file()).unwrap();
        let mut map = BTreeMap::new();
        let mut alert = None;
        for line in text.lines() {
            if let Some(name) = line.trim().strip_prefix("- alert: ") {
                alert = Some(name.to_owned());
            }
            if let (Some(name), Some(severity)) = (&alert, line.trim().strip_prefix("severity: ")) {
                map.insert(name.clone(), severity.to_owned());
            }
        }
        map
    };
    let named: BTreeSet<&str> = firing.iter().map(|f| f.0).collect();
    assert!(
        named.iter().all(|t| times.contains(t)),
        "{named:?} in {times:?}"
    );
    let mut checks = String::new();
    for at in times {
        for alert in alert_names() {
            checks.push_str(&format!(
                "      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts:\n"
            ));
            let mut expected = 0;
            for (_, _, labels) in firing.iter().filter(|f| f.0 == *at && f.1 == alert) {
                expected += 1;
                checks.push_str(&format!(
                    "          - exp_labels: {{severity: {}",
                    severities[&alert]
                ));
                for (k, v) in *labels {
                    checks.push_str(&format!(", {k}: {v:?}"));
                }
                checks.push_str("}\n");
            }
            if expected == 0 {
                checks.truncate(checks.len() - 1);
                checks.push_str(" []\n");
            }
        }
    }
    let test = format!(
        "rule_files: [{}]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{series}    alert_rule_test:\n{checks}",
        rules.display()
    );
    let file = dir.path().join("test.yml");
    std::fs::write(&file, &test).unwrap();
    let (ok, said) = promtool(&["test", "rules", file.to_str().unwrap()]);
    (ok, format!("{said}\n--- the test ---\n{test}"))
}

/// Runs reddalert with metrics and store-until on `modules`, `runs` times with `args`; the
/// textfile the last run wrote, and the last run.
fn textfile_of(modules: &[&str], extra: &str, args: &[&str], runs: usize) -> (String, Run) {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        modules,
        &format!("store-until = true\n[metrics]\ntextfile = \"reddalert.prom\"\n{extra}"),
    );
    // jsonl's file is a directory: every run fails to deliver to it, and the alerts wait.
    std::fs::create_dir(env.path("alerts.jsonl")).unwrap();
    let mut last = None;
    for _ in 0..runs {
        last = Some(env.run(args));
    }
    let text = std::fs::read_to_string(env.path("reddalert.prom")).expect("the run's textfile");
    (text, last.unwrap())
}

#[test]
fn the_rules_file_is_valid_and_its_templates_parse() {
    let (ok, said) = promtool(&["check", "rules", rules_file().to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("10 rules found"), "{said}");
}

#[test]
fn a_failing_rule_and_a_failing_output_raise_their_alerts_and_the_silence_after_them_too() {
    let (text, run) = textfile_of(
        &[guests::ELBS, guests::SECGROUPS, guests::TRAP],
        "[jsonl]\npath = \"alerts.jsonl\"\n",
        &["-o", "stdout_json,jsonl"],
        3,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let series = input_series(&text);
    for written in [
        "reddalert_rule_consecutive_failures{rule=\"trap\"} 3",
        "reddalert_failures{kind=\"output\"} 1",
        "reddalert_last_run_success 0",
    ] {
        assert!(text.contains(written), "{written} in\n{text}");
    }
    let waiting = samples(&text)
        .into_iter()
        .find(|(s, _)| s == "reddalert_waiting_alerts{output=\"jsonl\"}")
        .expect("alerts waiting for jsonl")
        .1;
    assert!(waiting > 0.0, "{text}");

    let trap: &[(&str, &str)] = &[("rule", "trap")];
    let elbs: &[(&str, &str)] = &[("rule", "elbs")];
    let secgroups: &[(&str, &str)] = &[("rule", "secgroups")];
    let jsonl: &[(&str, &str)] = &[("output", "jsonl")];
    let (ok, said) = promtool_test(
        &series,
        &["10m", "70m", "150m"],
        &[
            // Right after the runs: the rule failed three times, and has never covered a window.
            ("10m", "ReddalertRuleFailing", trap),
            ("10m", "ReddalertRuleBehind", trap),
            // An hour on: nothing ran since, the runs failed, the alerts still wait.
            ("70m", "ReddalertNotRunning", &[]),
            ("70m", "ReddalertRunsFailing", &[]),
            ("70m", "ReddalertAlertsWaiting", jsonl),
            ("70m", "ReddalertRuleFailing", trap),
            ("70m", "ReddalertRuleBehind", trap),
            // Past two hours every rule's window is behind.
            ("150m", "ReddalertNotRunning", &[]),
            ("150m", "ReddalertRunsFailing", &[]),
            ("150m", "ReddalertAlertsWaiting", jsonl),
            ("150m", "ReddalertRuleFailing", trap),
            ("150m", "ReddalertRuleBehind", trap),
            ("150m", "ReddalertRuleBehind", elbs),
            ("150m", "ReddalertRuleBehind", secgroups),
        ],
    );
    assert!(ok, "{said}");
}

#[test]
fn a_healthy_run_raises_nothing_until_the_runs_stop() {
    let (text, run) = textfile_of(&[guests::ELBS], "", &[], 1);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let elbs: &[(&str, &str)] = &[("rule", "elbs")];
    let (ok, said) = promtool_test(
        &input_series(&text),
        &["10m", "70m", "150m"],
        &[
            ("70m", "ReddalertNotRunning", &[]),
            ("150m", "ReddalertNotRunning", &[]),
            ("150m", "ReddalertRuleBehind", elbs),
        ],
    );
    assert!(ok, "{said}");
}

/// The collections a crawl records, each as the labels its metrics carry.
const COLLECTIONS: [&[(&str, &str)]; 6] = [
    &[("collection", "aws.hostedRecords")],
    &[("collection", "aws.hostedZones")],
    &[("collection", "aws.iamUsers")],
    &[("collection", "aws.loadBalancers")],
    &[("collection", "aws.securityGroups")],
    &[("collection", "view.instances")],
];

#[test]
fn a_crawl_failing_a_collection_and_then_stopping_raises_the_crawl_alerts() {
    let account = Crawled::start(
        &Seed::small(),
        &[],
        "[metrics]\ntextfile = \"reddalert.prom\"\n",
    );
    // The security groups of both regions fail: that collection is never read whole.
    account.proxy.fail(
        "DescribeSecurityGroups",
        &[1, 2],
        400,
        "InvalidParameterValue",
    );
    let crawl = account.crawl();
    assert_eq!(crawl.code, 1, "{}", crawl.stderr);
    let text = std::fs::read_to_string(account.env.path("reddalert-crawl.prom"))
        .expect("the crawl's textfile");
    let labelled: BTreeSet<String> = samples(&text)
        .into_iter()
        .filter_map(|(s, _)| {
            let labels = s.strip_prefix("reddalert_crawl_resources{collection=\"")?;
            Some(labels.split('"').next()?.to_owned())
        })
        .collect();
    let collections: BTreeSet<String> = COLLECTIONS.iter().map(|l| l[0].1.to_owned()).collect();
    assert_eq!(labelled, collections, "{text}");
    for collection in &collections {
        let series = format!("reddalert_crawl_collection_failed{{collection=\"{collection}\"}}");
        let failed = collection == "aws.securityGroups";
        assert_eq!(
            sample(&text, &series),
            f64::from(u8::from(failed)),
            "{text}"
        );
    }
    let end = sample(&text, "reddalert_crawl_last_start_timestamp_seconds")
        + sample(&text, "reddalert_crawl_last_duration_seconds");

    let mut firing: Vec<Firing> = vec![
        // At once: the collection no crawl ever read whole, whose last crawl failed.
        (
            "10m",
            "ReddalertCrawlStale",
            &[("collection", "aws.securityGroups")],
        ),
        // Half an hour without a crawl: it stopped, and every collection is stale.
        ("40m", "ReddalertCrawlNotRunning", &[]),
    ];
    firing.extend(COLLECTIONS.map(|labels| ("40m", "ReddalertCrawlStale", labels)));
    let (ok, said) = promtool_test(&series_ending(&text, end), &["10m", "40m"], &firing);
    assert!(ok, "{said}");
}

#[test]
fn the_dashboard_asks_in_valid_promql_for_metrics_a_run_writes() {
    let text = std::fs::read_to_string(root().join("etc/monitoring/reddalert.grafana.json"))
        .expect("the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().expect("a PromQL target").to_owned())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    // The instance picker's query is Grafana's label_values(); the metric inside it counts too.
    let picker = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "instance")
        .expect("an instance variable")["query"]["query"]
        .as_str()
        .unwrap()
        .to_owned();
    let inner = picker
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(", instance)"))
        .expect("label_values(<metric>, instance)");
    exprs.push(inner.to_owned());

    // promtool parses every query, as a recording rule with the variable at its "All" value.
    let dir = tempfile::tempdir().unwrap();
    let rules: Vec<serde_json::Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| serde_json::json!({"record": format!("dashboard:query_{i}"), "expr": e.replace("$instance", ".*")}))
        .collect();
    let file = dir.path().join("dashboard.rules.yml");
    // JSON is YAML.
    std::fs::write(
        &file,
        serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]}).to_string(),
    )
    .unwrap();
    let (ok, said) = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(ok, "{said}");

    // Every metric it names is one a run writes.
    let (written, _) = textfile_of(&[guests::ELBS, guests::TRAP], "", &[], 1);
    let names: BTreeSet<String> = samples(&written)
        .into_iter()
        .map(|(s, _)| s.split('{').next().unwrap().to_owned())
        .collect();
    let mut named = BTreeSet::new();
    for expr in &exprs {
        for (at, _) in expr.match_indices("reddalert_") {
            let name: String = expr[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            named.insert(name);
        }
    }
    let unknown: Vec<&String> = named.difference(&names).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard asks for {unknown:?}; a run writes {names:?}"
    );
    assert!(named.len() >= 10, "{named:?}");
}
