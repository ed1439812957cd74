//! OCSF findings checked by py-ocsf-models, the maintained Python models of the OCSF schema:
//! each line is validated in pydantic's strict mode as a `DetectionFinding`, then the model's
//! dump is compared with the line, because pydantic drops fields it does not know without a
//! word (a misspelt or misplaced field would pass validation and be lost downstream), and
//! `class_uid` and `type_uid` are checked, which the model fills in or leaves unchecked. The
//! pinned version is installed with pip when missing.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The validator the tests use; its `OCSF_VERSION` is the schema the `ocsf` output follows.
pub const PY_OCSF_MODELS: &str = "py-ocsf-models==0.10.0";

const CHECK: &str = r#"
import json, sys
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

def lost(ours, theirs, path):
    """Where the model's dump lost or changed what we wrote, or None."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return f"{path}: became {theirs!r}"
        for key, value in ours.items():
            if key not in theirs:
                return f"{path}.{key}: dropped, not a field of the model"
            where = lost(value, theirs[key], f"{path}.{key}")
            if where:
                return where
        return None
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(theirs) != len(ours):
            return f"{path}: became {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            where = lost(a, b, f"{path}[{i}]")
            if where:
                return where
        return None
    if type(ours) is not type(theirs) or ours != theirs:
        return f"{path}: {ours!r} became {theirs!r}"
    return None

problems = []
for n, line in enumerate(sys.stdin.read().splitlines(), 1):
    try:
        ours = json.loads(line)
        model = DetectionFinding.model_validate_json(line, strict=True)
    except Exception as err:
        problems.append(f"line {n}: {err}")
        continue
    if ours.get("class_uid") != 2004:
        problems.append(f"line {n}: class_uid is {ours.get('class_uid')!r}, not 2004")
    elif ours.get("type_uid") != 2004 * 100 + ours.get("activity_id", 0):
        problems.append(f"line {n}: type_uid is not class_uid * 100 + activity_id")
    where = lost(ours, model.model_dump(mode="json"), "$")
    if where:
        problems.append(f"line {n}: {where}")
print(json.dumps(problems))
"#;

/// What is wrong with each line of `text` as an OCSF Detection Finding, one message per
/// problem naming the line; empty when every line is valid and kept whole by the model.
pub fn problems(text: &str) -> Vec<String> {
    ensure_installed();
    let mut child = Command::new("python3")
        .args(["-c", CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3 for py-ocsf-models");
    child
        .stdin
        .take()
        .expect("python's stdin")
        .write_all(text.as_bytes())
        .expect("send the findings to python");
    let out = child.wait_with_output().expect("wait for python");
    assert!(
        out.status.success(),
        "the OCSF check did not run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the OCSF check printed no list ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Installs [`PY_OCSF_MODELS`] with pip unless that version is importable (once per process).
pub fn ensure_installed() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let wanted = PY_OCSF_MODELS.split("==").nth(1).expect("a pinned version");
        let present = || {
            Command::new("python3")
                .args([
                    "-c",
                    "import importlib.metadata as m, sys; \
                     import py_ocsf_models.events.findings.detection_finding; \
                     sys.exit(m.version('py-ocsf-models') != sys.argv[1])",
                    wanted,
                ])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if present() {
            return;
        }
        eprintln!("{PY_OCSF_MODELS} not found; installing it with pip");
        let install = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", PY_OCSF_MODELS])
            .output()
            .expect("run python3 -m pip (the OCSF tests need Python 3 with pip)");
        assert!(
            install.status.success() && present(),
            "pip install {PY_OCSF_MODELS} failed:\n{}",
            String::from_utf8_lossy(&install.stderr)
        );
    });
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::problems;

    fn valid() -> Value {
        json!({
            "class_uid": 2004, "category_uid": 2, "activity_id": 1, "type_uid": 200401,
            "severity_id": 3, "time": 1, "status_id": 1,
            "metadata": {"version": "1.5.0", "product": {"name": "p", "vendor_name": "v"}},
            "finding_info": {"uid": "u", "title": "t"},
        })
    }

    #[test]
    fn a_minimal_finding_passes() {
        assert_eq!(problems(&valid().to_string()), Vec::<String>::new());
    }

    #[test]
    fn a_field_the_model_drops_is_a_problem_naming_it() {
        let mut f = valid();
        f["finding_info"]["titel"] = json!("typo");
        let found = problems(&format!("{}\n{f}\n", valid()));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("line 2: $.finding_info.titel: dropped"),
            "{found:?}"
        );
    }

    #[test]
    fn schema_violations_are_problems() {
        for (key, value, needle) in [
            ("severity_id", json!(7), "severity_id"),
            ("time", json!("yesterday"), "time"),
            ("type_uid", json!(200_405), "type_uid"),
            ("activity_id", json!(2), "class_uid * 100 + activity_id"),
            ("class_uid", json!(2003), "not 2004"),
        ] {
            let mut f = valid();
            f[key] = value;
            let found = problems(&f.to_string());
            assert!(
                found.len() == 1 && found[0].contains(needle),
                "{key}: {found:?}"
            );
        }
        let mut f = valid();
        f.as_object_mut().unwrap().remove("finding_info");
        assert!(!problems(&f.to_string()).is_empty());
    }
}
