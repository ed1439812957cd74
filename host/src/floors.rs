//! Holds the host's modules to the floors `lib.rs` describes: every `crate::<module>` path in
//! a module's sources (comments aside) must name a module on a lower floor. An import that
//! runs sideways or up fails here with the file and the line, before it grows into a circle.

use std::path::Path;

/// The floor of every top-level module; a module may import only from lower floors.
const FLOORS: &[(&str, u8)] = &[
    ("contract", 0),
    ("outcome", 0),
    ("time", 0),
    ("httpclient", 0),
    ("logging", 0),
    ("report", 0),
    ("pool", 0),
    ("oslock", 0),
    ("out", 0),
    ("alert", 1),
    ("config", 2),
    ("engine", 3),
    ("aws", 3),
    ("edda", 3),
    ("outputs", 3),
    ("metrics", 3),
    ("status", 3),
    ("store", 3),
    ("cli", 3),
    ("registry", 3),
    ("capabilities", 4),
    ("window", 4),
    ("services", 5),
    ("crawl", 5),
    ("rules", 6),
    ("run", 7),
    ("serve", 7),
    ("listing", 7),
    ("authoring", 7),
    ("pull", 7),
    ("fuzzing", 8),
    ("app", 9),
    // Tests of the docs against the config's types.
    ("docs", 3),
];

fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// (file, line, importing module, imported module) of every `crate::` path in `dir`.
fn imports(dir: &Path, src: &Path, found: &mut Vec<(String, usize, String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            imports(&path, src, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        if matches!(top, "lib" | "main" | "floors") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                // `reddalert_rule_sdk::`, `$crate::` and the like are not this crate.
                let before = line[..at].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let name: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    found.push((rel.clone(), n + 1, top.to_owned(), name));
                }
            }
        }
    }
}

#[test]
fn every_module_imports_only_from_lower_floors() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    imports(&src, &src, &mut found);
    assert!(
        found.len() > 100,
        "the scan found the imports: {}",
        found.len()
    );
    let mut wrong = Vec::new();
    for (file, line, from, to) in &found {
        match (floor(from), floor(to)) {
            (Some(a), Some(b)) if b < a => {}
            (None, _) => wrong.push(format!("{file}: module {from} has no floor in FLOORS")),
            (_, None) => wrong.push(format!("{file}:{line}: crate::{to} has no floor in FLOORS")),
            (Some(a), Some(b)) => wrong.push(format!(
                "{file}:{line}: {from} (floor {a}) imports crate::{to} (floor {b})"
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the floors:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_module_of_lib_has_a_floor() {
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(name) = line
            .trim()
            .strip_prefix("pub mod ")
            .or_else(|| line.trim().strip_prefix("pub(crate) mod "))
        {
            let name = name.trim_end_matches(';');
            assert!(
                floor(name).is_some(),
                "lib.rs declares {name}, which has no floor"
            );
        }
    }
}
