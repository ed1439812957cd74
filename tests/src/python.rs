//! Builds the Python rules under `rules/` (today `rules/ami-py`) into components with
//! componentize-py, at test time: componentize-py is a Python tool, so a build script would
//! make every `cargo clippy` pay for it. The tool is installed with pip when missing. Sources
//! are copied next to the output first, because componentize-py leaves `__pycache__` beside
//! the files it compiles and nothing but sources belongs in the repository. The output goes to
//! `target/test-guests/python/` and is rebuilt only when a source, the WIT or the tool changed.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The componentize-py the tests install when none is found.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// The `ami-py` rule built from `rules/ami-py`, once per test process.
pub fn ami_py() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build("ami-py", "app"))
}

/// A compilation cache for the host to share between tests (and test runs): a debug build of
/// the host takes seconds to compile an 18 MB Python component, and wasmtime's cache is safe to
/// share between processes.
pub fn cache_dir() -> PathBuf {
    root().join("target/test-guests/python/cache")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_owned()
}

/// Builds `rules/<rule>` (app module `app`) into `rule_<rule>.wasm` unless it is up to date.
fn build(rule: &str, app: &str) -> PathBuf {
    let root = root();
    let src = root.join("rules").join(rule);
    // Python rules read JSON; they are built for 0.1.1, which the host keeps running.
    let wit = root.join("wit/deps/reddalert-rules-0.1.1/rules.wit");
    let out_dir = root.join("target/test-guests/python").join(rule);
    let output = out_dir.join(format!("rule_{}.wasm", rule.replace('-', "_")));
    let tool = componentize_py();

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("read {}: {e}", src.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("test_"))
        })
        .collect();
    sources.sort();
    let mut hasher = std::hash::DefaultHasher::new();
    tool.version.hash(&mut hasher);
    for file in sources.iter().chain([&wit]) {
        file.file_name().hash(&mut hasher);
        std::fs::read(file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()))
            .hash(&mut hasher);
    }
    let stamp = format!("{:016x}", hasher.finish());
    let stamp_file = out_dir.join("stamp");
    if output.is_file() && std::fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp) {
        return output;
    }

    let staged = out_dir.join("src");
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).expect("create the staging directory");
    for file in &sources {
        std::fs::copy(file, staged.join(file.file_name().expect("file name")))
            .unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
    }
    let partial = output.with_extension("wasm.partial");
    let started = Instant::now();
    let run = Command::new(&tool.path)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "rule", "componentize", "-p"])
        .arg(&staged)
        .arg(app)
        .arg("-o")
        .arg(&partial)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.path.display()));
    assert!(
        run.status.success(),
        "componentize-py failed to build rules/{rule}:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::rename(&partial, &output).expect("move the component in place");
    std::fs::write(&stamp_file, stamp).expect("write the build stamp");
    let size = std::fs::metadata(&output).map_or(0, |m| m.len());
    eprintln!(
        "built rules/{rule} with {} in {:.1} s ({:.1} MB)",
        tool.version.trim(),
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    output
}

struct Tool {
    path: PathBuf,
    version: String,
}

/// componentize-py from PATH or Python's scripts directory, installed with pip if missing.
fn componentize_py() -> Tool {
    if let Some(tool) = find_tool() {
        return tool;
    }
    eprintln!("componentize-py not found; installing {COMPONENTIZE_PY} with pip");
    let install = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", COMPONENTIZE_PY])
        .output()
        .expect("run python3 -m pip (the Python rule tests need Python 3 with pip)");
    assert!(
        install.status.success(),
        "pip install {COMPONENTIZE_PY} failed:\n{}",
        String::from_utf8_lossy(&install.stderr)
    );
    find_tool().expect("componentize-py was installed but cannot be found on PATH or in Python's scripts directory")
}

fn find_tool() -> Option<Tool> {
    let scripts = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let candidates = [
        Some(PathBuf::from("componentize-py")),
        scripts.map(|d| d.join("componentize-py")),
    ];
    candidates.into_iter().flatten().find_map(|path| {
        let out = Command::new(&path).arg("--version").output().ok()?;
        out.status.success().then(|| Tool {
            version: String::from_utf8_lossy(&out.stdout).into_owned(),
            path,
        })
    })
}
