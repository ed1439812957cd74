//! The contract's copies stay honest: the SDK builds against its own copy of `wit/rules.wit`
//! (so it builds outside this repository), and a released version is frozen under `wit/deps/`
//! and never edited: while `wit/rules.wit` still carries a frozen version, they are identical.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

fn package_version(wit: &str) -> String {
    wit.lines()
        .find_map(|l| l.trim().strip_prefix("package reddalert:rules@"))
        .and_then(|v| v.strip_suffix(';'))
        .expect("a `package reddalert:rules@X;` line")
        .to_owned()
}

#[test]
fn the_sdk_copy_of_the_contract_is_identical() {
    assert!(
        read("rules/sdk/wit/rules.wit") == read("wit/rules.wit"),
        "rules/sdk/wit/rules.wit differs from wit/rules.wit: copy it (cp wit/rules.wit rules/sdk/wit/)"
    );
    // The frozen versions the current one uses (0.2.0 imports 0.1.1's interfaces).
    let mut copied = 0;
    for entry in std::fs::read_dir(root().join("rules/sdk/wit/deps")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let sdk = format!("rules/sdk/wit/deps/{name}/rules.wit");
        let frozen = format!("wit/deps/{name}/rules.wit");
        assert!(
            read(&sdk) == read(&frozen),
            "{sdk} differs from {frozen}: copy it (cp -r wit/deps/{name} rules/sdk/wit/deps/)"
        );
        copied += 1;
    }
    assert!(copied > 0, "the SDK carries the versions its contract uses");
}

#[test]
fn released_versions_are_frozen_and_the_current_one_is_unchanged() {
    let current = read("wit/rules.wit");
    let version = package_version(&current);
    let mut frozen = Vec::new();
    for entry in std::fs::read_dir(root().join("wit/deps")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let Some(v) = name.strip_prefix("reddalert-rules-") else {
            continue;
        };
        let text = std::fs::read_to_string(dir.join("rules.wit")).unwrap();
        assert_eq!(
            package_version(&text),
            v,
            "wit/deps/{name}/rules.wit declares its own version"
        );
        frozen.push(v.to_owned());
        if v == version {
            assert!(
                text == current,
                "wit/rules.wit changed but still says {version}, which is frozen in wit/deps/{name}: \
                 start the next version instead (docs/writing-a-rule.md, \"Interface versions\"), or, if {version} was \
                 never released, refresh the frozen copy"
            );
        }
    }
    assert!(!frozen.is_empty(), "at least the first release is frozen");
}
