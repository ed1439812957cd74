//! `reddalert new-rule NAME`: scaffolds a rule crate that builds into a working component with
//! `cargo build --release --target wasm32-wasip2`, with a native unit test that passes, a test
//! data directory `test-rule` reads, and a README on building, testing and installing it.
//!
//! Outside this workspace the crate is a workspace of its own and depends on the SDK by path:
//! `--sdk-path` (or `REDDALERT_SDK_PATH`), else the `rules/sdk` of the source tree this binary
//! was built from, whose absolute path is baked in at build time. It starts from that tree's
//! `Cargo.lock`, so it builds with the dependency versions the stock rules are tested with
//! (and offline, when they are in cargo's cache). Inside this workspace it inherits the
//! workspace's package fields and dependencies and is added to its `members`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail, ensure};

use crate::cli::NewRuleArgs;
use crate::out::outln;

/// The SDK of the source tree this binary was built from.
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/sdk");

const LIB_RS: &str = include_str!("template/lib.rs.txt");
const TESTS_RS: &str = include_str!("template/tests.rs.txt");
const README: &str = include_str!("template/README.md.txt");
const INSTANCES: &str = include_str!("template/instances.json.txt");
const CARGO_STANDALONE: &str = include_str!("template/Cargo.toml.txt");
const CARGO_MEMBER: &str = include_str!("template/Cargo.workspace.toml.txt");

pub fn run(args: &NewRuleArgs) -> Result<()> {
    let name = args.name.as_str();
    validate_name(name)?;
    let dir = std::path::absolute(args.path.clone().unwrap_or_else(|| PathBuf::from(name)))
        .context("failed to resolve the crate directory")?;
    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    ensure!(
        !occupied,
        "{} already exists and is not empty; pick another --path",
        dir.display()
    );
    let package = if name.starts_with("rule-") {
        name.to_owned()
    } else {
        format!("rule-{name}")
    };
    let module = format!("{}.wasm", package.replace('-', "_"));
    let workspace = reddalert_workspace(&dir)?;
    let (manifest, target, lockfile) = match &workspace {
        Some(root) => {
            let depth = dir.strip_prefix(root).map_or(0, |p| p.components().count());
            (
                CARGO_MEMBER.to_owned(),
                format!("{}target", "../".repeat(depth)),
                None,
            )
        }
        None => {
            let sdk = sdk_path(args)?;
            let lockfile = sdk
                .ancestors()
                .map(|a| a.join("Cargo.lock"))
                .find(|p| p.is_file());
            let manifest = CARGO_STANDALONE.replace("{{sdk}}", &toml_string(&sdk));
            (manifest, "target".to_owned(), lockfile)
        }
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{Type}}", &type_name(name))
            .replace("{{package}}", &package)
            .replace("{{module}}", &module)
            .replace("{{target}}", &target)
    };
    let mut files = vec![
        (PathBuf::from("Cargo.toml"), fill(&manifest)),
        (PathBuf::from("src/lib.rs"), fill(LIB_RS)),
        (PathBuf::from("src/tests.rs"), fill(TESTS_RS)),
        (PathBuf::from("README.md"), fill(README)),
        (
            PathBuf::from("testdata/view.instances;_expand.json"),
            INSTANCES.to_owned(),
        ),
    ];
    if workspace.is_none() {
        files.push((PathBuf::from(".gitignore"), "/target\n".to_owned()));
    }
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if let Some(lock) = &lockfile {
        std::fs::copy(lock, dir.join("Cargo.lock"))
            .with_context(|| format!("failed to copy {}", lock.display()))?;
    }
    outln!(
        "created rule {name} (package {package}) in {}",
        dir.display()
    )?;
    if let Some(root) = &workspace {
        add_member(root, &dir)?;
    }
    outln!("next:")?;
    outln!("    cd {}", dir.display())?;
    outln!("    cargo test")?;
    outln!("    cargo build --release --target wasm32-wasip2")?;
    outln!("    reddalert test-rule {target}/wasm32-wasip2/release/{module} --data testdata")?;
    Ok(())
}

fn validate_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    ensure!(
        ok,
        "invalid rule name {name:?}: use lowercase letters, digits, '-' and '_', starting with a letter (at most 64)"
    );
    Ok(())
}

/// `my-check` → `MyCheck`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The SDK to depend on, checked to be one.
fn sdk_path(args: &NewRuleArgs) -> Result<PathBuf> {
    let given = args.sdk_path.is_some();
    let path = args
        .sdk_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(BUILT_WITH_SDK));
    let hint = if given {
        "point --sdk-path (or REDDALERT_SDK_PATH) at the rules/sdk directory of a reddalert source tree"
    } else {
        "this is where the SDK was when reddalert was built; pass --sdk-path <reddalert source>/rules/sdk \
         (or set REDDALERT_SDK_PATH)"
    };
    let is_sdk = std::fs::read_to_string(path.join("Cargo.toml"))
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
        .is_some_and(|manifest| {
            manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                == Some("reddalert-rule-sdk")
        });
    if !is_sdk {
        bail!("no reddalert-rule-sdk crate at {}: {hint}", path.display());
    }
    path.canonicalize()
        .with_context(|| format!("failed to resolve {}", path.display()))
}

/// The root of the reddalert workspace `dir` would be in: the nearest ancestor with a
/// `[workspace]` manifest, when that workspace provides `reddalert-rule-sdk`.
fn reddalert_workspace(dir: &Path) -> Result<Option<PathBuf>> {
    for ancestor in dir.ancestors().skip(1) {
        let manifest = ancestor.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("failed to parse {}", manifest.display()))?;
        let Some(workspace) = table.get("workspace") else {
            continue;
        };
        let has_sdk = workspace
            .get("dependencies")
            .and_then(|d| d.get("reddalert-rule-sdk"))
            .is_some();
        return Ok(has_sdk.then(|| ancestor.to_owned()));
    }
    Ok(None)
}

/// Adds the crate to the workspace's `members`, unless a member or glob already covers it.
fn add_member(root: &Path, dir: &Path) -> Result<()> {
    let manifest = root.join("Cargo.toml");
    let rel = dir
        .strip_prefix(root)
        .context("the crate is not under the workspace root")?
        .to_string_lossy()
        .replace('\\', "/");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("failed to read {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("failed to parse {}", manifest.display()))?;
    let members: Vec<&str> = table
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .map(|m| m.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
    if members
        .iter()
        .any(|m| *m == rel || m.strip_suffix("/*") == Some(parent))
    {
        return Ok(());
    }
    let updated = insert_member(&text, &rel).with_context(|| {
        format!(
            "failed to add {rel:?} to the members of {}; add it by hand",
            manifest.display()
        )
    })?;
    std::fs::write(&manifest, updated)
        .with_context(|| format!("failed to write {}", manifest.display()))?;
    outln!(
        "added {rel:?} to the workspace members in {}",
        manifest.display()
    )?;
    Ok(())
}

/// Inserts `"rel"` at the end of the `members = [...]` array, keeping the file's layout.
fn insert_member(text: &str, rel: &str) -> Result<String> {
    let start = text.find("members = [").context("no `members = [` line")?;
    let open = start + "members = [".len();
    let close = open + text[open..].find(']').context("no closing `]`")?;
    let inside = text[open..close].trim_end();
    let entry = toml_string(Path::new(rel));
    let insert = if inside.trim().is_empty() {
        entry
    } else if inside.ends_with(',') {
        format!(" {entry}")
    } else {
        format!(", {entry}")
    };
    let at = open + inside.len();
    Ok(format!("{}{insert}{}", &text[..at], &text[at..]))
}

/// A path as a TOML basic string.
fn toml_string(path: &Path) -> String {
    toml::Value::String(path.to_string_lossy().into_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_types_and_bad_names_are_refused() {
        assert_eq!(type_name("my-check"), "MyCheck");
        assert_eq!(type_name("s3_acl2"), "S3Acl2");
        for bad in ["", "My", "1x", "a b", "a/b", "ä"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_name("my-check_2").is_ok());
    }

    #[test]
    fn members_are_appended_keeping_the_layout() {
        let one_line = "[workspace]\nmembers = [\"host\", \"rules/sdk\"]\n";
        assert_eq!(
            insert_member(one_line, "rules/x").unwrap(),
            "[workspace]\nmembers = [\"host\", \"rules/sdk\", \"rules/x\"]\n"
        );
        let multi = "members = [\n    \"host\",\n]\n";
        assert_eq!(
            insert_member(multi, "rules/x").unwrap(),
            "members = [\n    \"host\", \"rules/x\"\n]\n"
        );
        assert_eq!(
            insert_member("members = []", "a").unwrap(),
            "members = [\"a\"]"
        );
    }
}
