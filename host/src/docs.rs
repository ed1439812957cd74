//! Holds the README and `docs/` to the code they describe: every relative link and `#anchor`
//! resolves, every `toml` and `json` snippet is a config reddalert accepts (and every `sh`
//! snippet is shell that parses), and `docs/configuration.md` lists exactly the keys the
//! config's types take, each of them shown in `etc/reddalert.example.toml`. The keys are read
//! from the types themselves: serde names the fields a table takes when it meets one it does
//! not, so a key added to the code and not to the docs fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::{Config, Overrides, RawConfig};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace root")
        .to_owned()
}

/// `README.md` and every page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 10, "the docs pages: {docs:?}");
    pages.extend(docs);
    pages
}

/// A fenced code block: its language, the line its text starts on, its text.
struct Snippet {
    lang: String,
    line: usize,
    text: String,
}

/// A page split into its prose lines (numbered from 1) and its fenced code blocks.
fn split(text: &str) -> (Vec<(usize, &str)>, Vec<Snippet>) {
    let mut prose = Vec::new();
    let mut snippets = Vec::new();
    let mut open: Option<Snippet> = None;
    for (n, line) in text.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(lang)) => {
                open = Some(Snippet {
                    lang: lang.trim().to_owned(),
                    line: n + 2,
                    text: String::new(),
                })
            }
            (Some(_), Some(_)) => snippets.push(open.take().unwrap()),
            (Some(snippet), None) => {
                snippet.text.push_str(line);
                snippet.text.push('\n');
            }
            (None, None) => prose.push((n + 1, line)),
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    (prose, snippets)
}

/// GitHub's anchor of a heading: lowercase, spaces to `-`, punctuation dropped; a repeated
/// one gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in split(text).0 {
        let Some(heading) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if !line.starts_with('#') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_default();
        anchors.insert(if *n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        *n += 1;
    }
    anchors
}

/// The targets of the inline links of a line (`[text](target)`), outside code spans.
fn links(line: &str) -> Vec<String> {
    let prose: String = line
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(" ");
    prose
        .match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &prose[at + 2..];
            rest.find(')').map(|end| rest[..end].to_owned())
        })
        .collect()
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (n, line) in split(&text).0 {
            for target in links(line) {
                if target.starts_with("http://")
                    || target.starts_with("https://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                checked += 1;
                let (file, anchor) = match target.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let file = if file.is_empty() {
                    page.clone()
                } else {
                    dir.join(file)
                };
                let at = format!("{}:{n}: {target}", page.display());
                if !file.exists() {
                    broken.push(format!("{at}: no such file"));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let target_text = std::fs::read_to_string(&file).unwrap_or_default();
                    if !anchors(&target_text).contains(anchor) {
                        broken.push(format!("{at}: no heading with this anchor"));
                    }
                }
            }
        }
    }
    assert!(checked > 50, "the scan found the links: {checked}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_config_snippet_parses_and_every_shell_snippet_is_shell() {
    let mut configs = 0;
    let mut failed = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for snippet in split(&text).1 {
            let at = format!("{}:{}", page.display(), snippet.line);
            // A config file of its own: relative paths resolve against a directory no snippet
            // names, so nothing here depends on files that exist on this machine.
            let file = match snippet.lang.as_str() {
                "toml" => "/nonexistent/reddalert.toml",
                // The crawl's IAM policy is shown as it is shipped.
                "json" if snippet.text.contains("\"Statement\"") => {
                    let shipped = root().join("etc/iam-policy.json");
                    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
                    let file = std::fs::read_to_string(&shipped).unwrap();
                    if parse(&snippet.text).is_none() || parse(&snippet.text) != parse(&file) {
                        failed.push(format!("{at}: not the policy of {}", shipped.display()));
                    }
                    continue;
                }
                "json" => "/nonexistent/configfile.json",
                "sh" => {
                    let ok = std::process::Command::new("bash")
                        .args(["-n", "-c", &snippet.text])
                        .status()
                        .expect("run bash -n");
                    if !ok.success() {
                        failed.push(format!("{at}: not shell (bash -n)"));
                    }
                    continue;
                }
                _ => continue,
            };
            configs += 1;
            if let Err(err) =
                Config::from_text(Path::new(file), &snippet.text, &Overrides::default())
            {
                failed.push(format!("{at}: {err:#}"));
            }
        }
    }
    assert!(
        configs >= 10,
        "the scan found the config snippets: {configs}"
    );
    assert!(
        failed.is_empty(),
        "snippets that do not parse:\n{}",
        failed.join("\n")
    );
}

/// One step of a key's path: a table's key, any name of a map (a rule's name, an account's
/// plugin), or an item of an array of tables.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Name,
    Item,
}

fn render(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => out.push_str(&format!(".{key}")),
            Step::Name => out.push_str(".<rule>"),
            Step::Item => out.push_str("[]"),
        }
    }
    out
}

/// What the config's types say of `{"zz_probe": 1}` put at `path`.
fn probe(path: &[Step]) -> Result<(), String> {
    let mut value = serde_json::json!({"zz_probe": 1});
    for step in path.iter().rev() {
        value = match step {
            Step::Key(key) => serde_json::json!({ key: value }),
            Step::Name => serde_json::json!({ "x": value }),
            Step::Item => serde_json::json!([value]),
        };
    }
    serde_json::from_value::<RawConfig>(value)
        .map(drop)
        .map_err(|err| err.to_string())
}

/// The fields of the table at `path`, when it is one: serde lists them when it meets a key
/// the table does not take.
fn fields(path: &[Step]) -> Option<Vec<String>> {
    let err = probe(path).err()?;
    let expected = err.strip_prefix("unknown field `zz_probe`, ")?;
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

/// Keys the types take and validation refuses, so no config holds them.
const REFUSED: &[&str] = &["limits.rule.<rule>.rule"];

/// Every key of the config, as `docs/configuration.md` writes them: tables are walked into,
/// maps of tables get `<rule>`, arrays of tables `[]`; a map of values (`plugin`, `pin`,
/// `tags`) is one key.
fn walk(path: Vec<Step>, keys: &mut BTreeSet<String>) {
    for field in fields(&path).expect("a table") {
        let mut at = path.clone();
        at.push(Step::Key(field));
        if REFUSED.contains(&render(&at).as_str()) {
            continue;
        }
        let with = |step: Step| {
            let mut p = at.clone();
            p.push(step);
            p
        };
        if fields(&at).is_some() {
            walk(at, keys);
        } else if fields(&with(Step::Name)).is_some() {
            walk(with(Step::Name), keys);
        } else if fields(&with(Step::Item)).is_some() {
            walk(with(Step::Item), keys);
        } else {
            keys.insert(render(&at));
        }
    }
}

fn config_keys() -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    walk(Vec::new(), &mut keys);
    keys
}

/// A key as written in a table or in the example, with a rule's or a map's name turned into
/// the form of [`config_keys`]: `grant.s3acl.s3` is `grant.<rule>.s3`, `plugin.elbs.x` and
/// `ocsf.severity.secgroups` are `plugin` and `ocsf.severity`.
fn normalise(key: &str, maps: &BTreeSet<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    for part in key.split('.') {
        let joined = out.join(".");
        if maps.contains(&joined) {
            break;
        }
        let named = matches!(joined.as_str(), "grant" | "limits.rule" | "registry.auth");
        out.push(if named { "<rule>".into() } else { part.into() });
    }
    out.join(".")
}

/// The keys of `etc/reddalert.example.toml`, commented examples included.
fn example_keys(maps: &BTreeSet<String>) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("etc/reddalert.example.toml")).unwrap();
    let mut table = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        // A header may carry a comment after it: `[account.plugin.elbs]  # ...`; a quoted
        // name (`[registry.auth."registry.example.com"]`) is one name, dots and all.
        let header = line.split(" #").next().unwrap_or_default().trim();
        let header = &unquoted(header);
        if let Some(header) = header.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            table = format!("{header}[]");
        } else if let Some(header) = header.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = header.replace("account.", "account[].");
        } else if let Some((key, _)) = line.split_once(" = ") {
            let key = key.trim();
            let is_key = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-".contains(c);
            if key.chars().all(is_key) {
                let full = if table.is_empty() {
                    key.to_owned()
                } else {
                    format!("{table}.{key}")
                };
                keys.insert(normalise(&full, maps));
            }
        }
    }
    keys
}

/// `text` with each quoted name (`"registry.example.com"`) made a plain one, `x`.
fn unquoted(text: &str) -> String {
    let mut parts = text.split('"');
    let mut out = parts.next().unwrap_or_default().to_owned();
    while let (Some(_quoted), Some(rest)) = (parts.next(), parts.next()) {
        out.push('x');
        out.push_str(rest);
    }
    out
}

/// A key as `docs/configuration.md` writes it, each placeholder (`<rule>`, `<host>`,
/// `<name>`) made a plain name, `x`.
fn placeholders_named(key: &str) -> String {
    let mut out = String::new();
    let mut rest = key;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        match rest[at..].find('>') {
            Some(end) => {
                out.push('x');
                rest = &rest[at + end + 1..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first cell of every row of the key tables of `docs/configuration.md`.
fn documented_keys(maps: &BTreeSet<String>) -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    split(&text)
        .0
        .into_iter()
        .filter_map(|(_, line)| line.strip_prefix("| `"))
        .filter_map(|row| row.split_once("` |"))
        .map(|(key, _)| normalise(&placeholders_named(key), maps))
        .collect()
}

#[test]
fn configuration_md_and_the_example_list_every_key_the_config_takes() {
    let keys = config_keys();
    for key in [
        "edda",
        "mail.host",
        "grant.<rule>.allow_private",
        "account[].name",
        "account[].crawl.role_arn",
        "registry.auth.<rule>.username_env",
        "limits.edda_call_mib",
    ] {
        assert!(keys.contains(key), "the walk finds {key}: {keys:?}");
    }
    assert!(keys.len() > 90, "the walk finds every key: {keys:?}");
    // Maps of values are keys of their own: whatever a name holds is the rule's, or a tag.
    let maps: BTreeSet<String> = [
        "plugin",
        "pin",
        "ocsf.severity",
        "account[].plugin",
        "account[].tags",
        "trust.keys",
        "source",
    ]
    .map(String::from)
    .into();
    for map in &maps {
        assert!(keys.contains(map), "{map} is a key: {keys:?}");
    }

    let documented = documented_keys(&maps);
    let missing: Vec<&String> = keys.difference(&documented).collect();
    let unknown: Vec<&String> = documented.difference(&keys).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/configuration.md lists keys the config does not take: {unknown:?}; \
         and leaves out: {missing:?}"
    );

    let mut example = example_keys(&maps);
    // `[account.crawl]` takes any key of `[crawl]`, as the example says: the keys shown under
    // `[crawl]` stand for it.
    let crawl: Vec<String> = example
        .iter()
        .filter_map(|k| k.strip_prefix("crawl."))
        .map(|k| format!("account[].crawl.{k}"))
        .collect();
    example.extend(crawl);
    let missing: Vec<&String> = keys.difference(&example).collect();
    let unknown: Vec<&String> = example.difference(&keys).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "etc/reddalert.example.toml shows keys the config does not take: {unknown:?}; \
         and leaves out: {missing:?}"
    );
}
