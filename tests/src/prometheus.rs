//! Prometheus exposition text read back by real parsers: the Prometheus project's own Python
//! client (`prometheus_client.parser`, installed with pip when missing), and `promtool check
//! metrics` (the server's linter) when it is on PATH. A test that renders metrics fails when
//! either finds the text malformed. The Python parser is lenient about some things (a repeated
//! TYPE line, extra fields after the value), so tests check the families it reads back too.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What the tests install when `prometheus_client` is missing.
pub const PROMETHEUS_CLIENT: &str = "prometheus-client==0.26.0";

const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families

try:
    families = [
        {"name": f.name, "type": f.type, "help": f.documentation,
         "samples": [{"name": s.name, "labels": s.labels, "value": repr(float(s.value))}
                     for s in f.samples]}
        for f in text_string_to_metric_families(sys.stdin.read())
    ]
except Exception as err:
    print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
else:
    print(json.dumps({"families": families}))
"#;

/// One metric family as the parser read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    /// `gauge`, `counter`, ... (`unknown` when no TYPE line).
    pub kind: String,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Family {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.labels == wanted)
            .map(|s| s.value)
    }
}

/// The families of `text`; panics with the parser's message when it does not parse.
pub fn parse(text: &str) -> Vec<Family> {
    try_parse(text).unwrap_or_else(|err| panic!("not Prometheus text: {err}\n{text}"))
}

/// The families of `text`, or the parser's complaint.
pub fn try_parse(text: &str) -> Result<Vec<Family>, String> {
    ensure_installed();
    let out = run_with_stdin(Command::new("python3").args(["-c", PARSE]), text)
        .expect("start python3 for prometheus_client");
    assert!(
        out.status.success(),
        "the Prometheus parser did not run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON answer");
    if let Some(err) = answer["error"].as_str() {
        return Err(err.to_owned());
    }
    let families = answer["families"].as_array().expect("families");
    Ok(families
        .iter()
        .map(|f| Family {
            name: text_of(&f["name"]),
            kind: text_of(&f["type"]),
            help: text_of(&f["help"]),
            samples: f["samples"]
                .as_array()
                .expect("samples")
                .iter()
                .map(|s| Sample {
                    name: text_of(&s["name"]),
                    labels: serde_json::from_value(s["labels"].clone()).expect("labels"),
                    value: text_of(&s["value"]).parse().expect("a float's repr"),
                })
                .collect(),
        })
        .collect())
}

/// `promtool check metrics` on `text`: `None` when promtool is not installed, else its
/// verdict with what it printed.
pub fn promtool_check(text: &str) -> Option<Result<(), String>> {
    let out = run_with_stdin(Command::new("promtool").args(["check", "metrics"]), text).ok()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(said)
    })
}

fn text_of(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn run_with_stdin(command: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("the child's stdin")
        .write_all(input.as_bytes())?;
    child.wait_with_output()
}

/// Installs [`PROMETHEUS_CLIENT`] with pip unless `prometheus_client.parser` imports (once
/// per process).
pub fn ensure_installed() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let present = || {
            Command::new("python3")
                .args(["-c", "import prometheus_client.parser"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if present() {
            return;
        }
        eprintln!("prometheus_client not found; installing {PROMETHEUS_CLIENT} with pip");
        let install = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", PROMETHEUS_CLIENT])
            .output()
            .expect("run python3 -m pip (the metrics tests need Python 3 with pip)");
        assert!(
            install.status.success() && present(),
            "pip install {PROMETHEUS_CLIENT} failed:\n{}",
            String::from_utf8_lossy(&install.stderr)
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_text_parses_into_families() {
        let families =
            parse("# HELP x_seconds A time.\n# TYPE x_seconds gauge\nx_seconds{rule=\"a\"} 1.5\n");
        assert_eq!(families.len(), 1);
        assert_eq!(
            (families[0].name.as_str(), families[0].kind.as_str()),
            ("x_seconds", "gauge")
        );
        assert_eq!(families[0].help, "A time.");
        assert_eq!(families[0].value(&[("rule", "a")]), Some(1.5));
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "x{rule=\"a} 1\n",
            "x{rule=a} 1\n",
            "x{1a=\"b\"} 1\n",
            "x{rule=\"a\"}\n",
            "x{rule=\"a\"} one\n",
        ] {
            assert!(try_parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
