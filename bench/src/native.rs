//! Each stock EDDA rule built natively (the SDK's native path, as the rules' unit tests run
//! them) on the same snapshot files the wasm runs read: the yardstick for the cost of wasm.
//! The iam rule's per-user `_diff` queries are answered from the snapshot files too.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, Result, ensure};
use reddalert_rule_sdk::host::EddaError;
use reddalert_rule_sdk::testing::Harness;
use reddalert_rule_sdk::{Capability, Query, Rule};
use serde_json::Value;

use crate::alerts::Alerts;
use crate::generate::{SINCE_MS, UNTIL_MS};
use crate::measure::median_of;

/// One rule's native cost: the median seconds of one evaluation (input built, bodies parsed,
/// the rule's work) and its alerts.
pub struct NativeRun {
    pub rule: String,
    pub seconds: f64,
    pub alerts: Alerts,
}

pub fn run_all(snapshot: &Path, runs: usize) -> Result<Vec<NativeRun>> {
    Ok(vec![
        one::<rule_secgroups::Secgroups>(snapshot, runs)?,
        one::<rule_elbs::Elbs>(snapshot, runs)?,
        one::<rule_iam::Iam>(snapshot, runs)?,
        one::<rule_ami::Ami>(snapshot, runs)?,
        one::<rule_newtag::NewTag>(snapshot, runs)?,
        one::<rule_missingtag::MissingTag>(snapshot, runs)?,
    ])
}

fn one<R: Rule>(snapshot: &Path, runs: usize) -> Result<NativeRun> {
    let info = R::info();
    let mut data = Vec::new();
    for q in &info.queries {
        data.push((q.path.clone(), read(snapshot, q)?));
    }
    let edda = if info.name == "iam" {
        iam_answers(snapshot, &data)?
    } else {
        HashMap::new()
    };
    let (seconds, output) = median_of(runs, || {
        // As in `test-rule` and an operator's run without grants: nothing beyond EDDA.
        let mut harness = Harness::<R>::new()
            .window(SINCE_MS, UNTIL_MS)
            .deny(Capability::Http)
            .deny(Capability::TcpProbe)
            .deny(Capability::Chef)
            .deny(Capability::S3);
        for (path, body) in &data {
            harness = harness.data(path, body.clone());
        }
        for (path, answer) in &edda {
            harness = harness.edda(path, answer.clone());
        }
        harness
            .run()
            .with_context(|| format!("the native {} failed", info.name))
    })?;
    let mut alerts = Alerts::default();
    for alert in &output.alerts {
        alerts.push(&info.name, &alert.id, &alert.details);
    }
    Ok(NativeRun {
        rule: info.name,
        seconds,
        alerts,
    })
}

/// The query path without its field selector, and the selected keys (top-level only).
pub fn split(path: &str) -> (&str, Option<Vec<&str>>) {
    match path.split_once(":(") {
        Some((base, keys)) => (base, Some(keys.trim_end_matches(')').split(',').collect())),
        None => (path, None),
    }
}

/// The snapshot file of a query, named as the host names it (`reddalert snapshot` wrote it):
/// without the field selector, whose keys the host selects when it reads the file.
pub fn file_name(q: &Query) -> String {
    let mut name = split(&q.path).0.replace('/', ".");
    if q.window {
        name.push_str(";_since");
        if q.updated_only {
            name.push_str(";_updated");
        }
    }
    name + ".json"
}

/// What the host hands the rule for `q`: the file, with the selected keys only when the query
/// has a field selector, so that the native build parses what the wasm one does.
fn read(snapshot: &Path, q: &Query) -> Result<String> {
    let path = snapshot.join(file_name(q));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let (_, Some(keys)) = split(&q.path) else {
        return Ok(text);
    };
    ensure!(
        keys.iter().all(|k| !k.contains(['(', ':', '='])),
        "the benchmark selects top-level keys only, not {:?}",
        q.path
    );
    let records: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse {}", path.display()))?;
    let selected: Vec<serde_json::Map<String, Value>> = records
        .into_iter()
        .map(|record| {
            record
                .into_iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .collect()
        })
        .collect();
    Ok(serde_json::to_string(&selected)?)
}

/// What EDDA answered the iam rule's run-time queries for each changed user: its `_diff` over
/// the window and, for a new user (a 400), the user itself. An error body replays as the error.
fn iam_answers(
    snapshot: &Path,
    data: &[(String, String)],
) -> Result<HashMap<String, Result<String, EddaError>>> {
    let users: Vec<String> = serde_json::from_str(&data[0].1).context("the iam user list")?;
    let mut answers = HashMap::new();
    for user in users {
        for q in [
            Query::windowed(format!("aws/iamUsers/{user};_diff=200")),
            Query::current(format!("aws/iamUsers/{user}")),
        ] {
            let Ok(body) = read(snapshot, &q) else {
                continue;
            };
            answers.insert(q.path, answer(body));
        }
    }
    Ok(answers)
}

fn answer(body: String) -> Result<String, EddaError> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        code: u16,
        #[serde(default)]
        name: Option<String>,
        message: String,
    }
    match serde_json::from_str::<ErrorBody>(&body) {
        Ok(err) => Err(EddaError::Http {
            status: err.code,
            name: err.name,
            message: err.message,
        }),
        Err(_) => Ok(body),
    }
}
