//! Reads EDDA's `_diff` text (one unified-diff block per pair of adjacent revisions, newest
//! pair first) back into the two revisions of each block, and compares their group sets.
//!
//! The original scanned the diff's `"groups"` lines for `+` signs, so a group line that only
//! gained or lost its trailing comma counted as "added": a user removed from the last of their
//! groups was reported as added to the one before. Comparing the sets of the two revisions
//! reports only real additions.

use std::collections::BTreeSet;

use reddalert_rule_sdk::prelude::*;
use reddalert_rule_sdk::serde_json;

/// One block: the lines of the older and of the newer revision that its hunks show. With
/// `_diff=200` that is the whole pretty-printed document unless it is very long.
#[derive(Debug, Default, PartialEq)]
struct Block<'a> {
    old: Vec<&'a str>,
    new: Vec<&'a str>,
}

/// The groups some revision in the diff has that the revision before it did not, sorted.
pub fn groups_added(text: &str) -> Result<Vec<String>> {
    let mut added = BTreeSet::new();
    for (n, block) in blocks(text)?.iter().enumerate() {
        let context = || format!("diff block {}", n + 1);
        let old = groups(&block.old).with_context(|| format!("{}: older revision", context()))?;
        let new = groups(&block.new).with_context(|| format!("{}: newer revision", context()))?;
        match (old, new) {
            (Some(old), Some(new)) => added.extend(new.difference(&old).cloned()),
            // A change to the list would show it whole, with 200 lines of context around.
            (None, None) => {}
            _ => bail!(
                "{}: the groups list is shown for one revision only",
                context()
            ),
        }
    }
    Ok(added.into_iter().collect())
}

fn blocks(text: &str) -> Result<Vec<Block<'_>>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks: Vec<Block<'_>> = Vec::new();
    let mut i = 0;
    while let Some(&line) = lines.get(i) {
        i += 1;
        // Pretty JSON lines never start with "-- ", so a removed line cannot look like a header.
        if line.starts_with("--- ") && lines.get(i).is_some_and(|l| l.starts_with("+++ ")) {
            blocks.push(Block::default());
            i += 1;
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            if line.is_empty() {
                continue;
            }
            bail!("diff line {i}: expected a `--- ` header, got {line:?}");
        };
        match line.as_bytes().first() {
            // A context line whose single space was lost (trailing whitespace stripped).
            None => {
                block.old.push("");
                block.new.push("");
            }
            Some(b' ') => {
                block.old.push(&line[1..]);
                block.new.push(&line[1..]);
            }
            Some(b'-') => block.old.push(&line[1..]),
            Some(b'+') => block.new.push(&line[1..]),
            // Hunk headers, and GNU diff's "\ No newline at end of file".
            Some(b'@' | b'\\') => {}
            Some(_) => bail!("diff line {i}: not a unified diff line: {line:?}"),
        }
    }
    Ok(blocks)
}

/// The `groups` of one revision: from the parsed document when the hunks show all of it,
/// otherwise from its pretty-printed `"groups"` list; `None` when the hunks leave it out.
fn groups(side: &[&str]) -> Result<Option<BTreeSet<String>>> {
    let Ok(doc) = serde_json::from_str::<Value>(&side.join("\n")) else {
        return Ok(scan_groups(side));
    };
    match doc.get("groups") {
        Some(Value::Null) => Ok(Some(BTreeSet::new())),
        Some(Value::Array(items)) => items
            .iter()
            .map(|g| {
                g.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| anyhow!("group {g} is not a name"))
            })
            .collect::<Result<_>>()
            .map(Some),
        _ => bail!("the document has no groups list"),
    }
}

/// Reads the top-level `"groups" : [ … ]` of a pretty-printed document, one name per line.
fn scan_groups(side: &[&str]) -> Option<BTreeSet<String>> {
    let start = side.iter().position(|l| l.starts_with("  \"groups\" : "))?;
    let head = side[start]["  \"groups\" : ".len()..].trim_end_matches(',');
    match head {
        "[ ]" | "[]" | "null" => return Some(BTreeSet::new()),
        "[" => {}
        _ => return None,
    }
    let mut groups = BTreeSet::new();
    for line in &side[start + 1..] {
        let item = line.trim().trim_end_matches(',');
        if item == "]" {
            return Some(groups);
        }
        groups.insert(serde_json::from_str::<String>(item).ok()?);
    }
    // The list runs past the end of the hunk.
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_sides_and_skip_headers() {
        let text =
            "--- a;_at=1\n+++ a;_at=2\n@@ -1,3 +1,3 @@\n {\n-  \"x\" : 1\n+  \"x\" : 2\n }\n";
        let expected = Block {
            old: vec!["{", "  \"x\" : 1", "}"],
            new: vec!["{", "  \"x\" : 2", "}"],
        };
        assert_eq!(blocks(text).expect("parses"), vec![expected]);
    }

    #[test]
    fn empty_diff_has_no_blocks() {
        assert_eq!(blocks("").expect("parses"), vec![]);
        assert_eq!(groups_added("\n").expect("parses"), Vec::<String>::new());
    }

    #[test]
    fn text_before_any_header_is_an_error() {
        let err = blocks("{\"code\":500}").expect_err("not a diff");
        assert_eq!(
            err.to_string(),
            r#"diff line 1: expected a `--- ` header, got "{\"code\":500}""#
        );
    }

    #[test]
    fn unknown_line_prefix_is_an_error() {
        let err = blocks("--- a\n+++ b\n@@ -1 +1 @@\n*x\n").expect_err("not a diff line");
        assert_eq!(
            err.to_string(),
            r#"diff line 4: not a unified diff line: "*x""#
        );
    }

    #[test]
    fn scan_reads_a_list_cut_after_it_and_rejects_one_cut_inside_it() {
        let side = [
            "{",
            "  \"groups\" : [",
            "    \"a\\\"b\",",
            "    \"c\"",
            "  ],",
            "  \"name\" : \"x\",",
        ];
        assert_eq!(
            scan_groups(&side),
            Some(["a\"b".to_owned(), "c".to_owned()].into())
        );
        assert_eq!(scan_groups(&side[..3]), None);
        assert_eq!(
            scan_groups(&["{", "  \"groups\" : [ ],", "  \"name\" : \"x\","]),
            Some(BTreeSet::new())
        );
        assert_eq!(scan_groups(&["{", "  \"name\" : \"x\","]), None);
    }

    #[test]
    fn whole_document_without_groups_is_an_error() {
        let text =
            "--- a\n+++ b\n@@ -1,3 +1,3 @@\n {\n-  \"name\" : \"x\"\n+  \"name\" : \"y\"\n }\n";
        let err = groups_added(text).expect_err("no groups");
        assert_eq!(
            format!("{err:#}"),
            "diff block 1: older revision: the document has no groups list"
        );
    }

    #[test]
    fn hunks_far_from_the_groups_mean_no_change() {
        let text = "--- a\n+++ b\n@@ -300,3 +300,3 @@\n     \"p1\",\n-    \"p2\"\n+    \"p3\"\n";
        assert_eq!(groups_added(text).expect("parses"), Vec::<String>::new());
    }

    #[test]
    fn groups_shown_on_one_side_only_is_an_error() {
        let text = "--- a\n+++ b\n@@ -1,2 +1,4 @@\n {\n+  \"groups\" : [\n+    \"a\"\n+  ],\n";
        let err = groups_added(text).expect_err("inconsistent");
        assert_eq!(
            format!("{err:#}"),
            "diff block 1: the groups list is shown for one revision only"
        );
    }
}

/// The fuzz target `iam_diff` (`fuzz/`) and the replay of its corpus: any text EDDA could
/// answer for a `_diff` is read or refused, never a panic. Not an API.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = groups_added(text);
    }
}

#[cfg(test)]
mod fuzz_corpus {
    /// Replays `fuzz/corpus/iam_diff/` on stable, so a regression fails `cargo test`.
    #[test]
    fn the_fuzz_corpus_of_the_diff_reader_replays() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/iam_diff");
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus is committed") {
            super::fuzz(&std::fs::read(entry.unwrap().path()).unwrap());
            inputs += 1;
        }
        assert!(inputs > 0, "the corpus is empty");
    }
}
