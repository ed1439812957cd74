//! `_diff` output (reference §3.3, EDDA's `Utils.diffRecords`): for each adjacent pair of records,
//! newest pair first, a unified diff of the pretty-printed `data` (older → newer), in the format of
//! java-diff-utils: `--- <uri>;_pp;_at=<older stime>` / `+++ …;_at=<newer stime>` headers, hunk
//! headers always `@@ -a,b +c,d @@`, the whole document as context unless `_diff=N`, and no
//! output at all for a pair whose documents are identical.

use similar::{Algorithm, ChangeTag, TextDiff};

use crate::json;
use crate::source::Stored;

/// `recs` are revisions, newest first; `prefix` is the collection's URI path. `Err` is what
/// EDDA throws (a 500).
pub(crate) fn diff_records(
    recs: &[Stored],
    context: Option<i32>,
    prefix: &str,
) -> Result<String, String> {
    if recs.len() < 2 {
        return Err("java.lang.RuntimeException: diff requires at least 2 records".into());
    }
    let mut rendered: Vec<(String, Vec<String>)> = Vec::with_capacity(recs.len());
    for rec in recs {
        let name = format!("{prefix}/{};_pp;_at={}", rec.id, rec.stime);
        let data = rec.data.value().map_err(|err| err.to_string())?;
        let text = json::pretty(&json::pp_dates(&data, false));
        rendered.push((name, text.split('\n').map(str::to_string).collect()));
    }
    let mut out = String::new();
    for pair in rendered.windows(2) {
        let ((new_name, new_lines), (old_name, old_lines)) = (&pair[0], &pair[1]);
        let size = match context {
            Some(n) => n.max(0) as usize,
            None => old_lines.len().max(new_lines.len()),
        };
        let old: Vec<&str> = old_lines.iter().map(String::as_str).collect();
        let new: Vec<&str> = new_lines.iter().map(String::as_str).collect();
        let diff = TextDiff::configure()
            .algorithm(Algorithm::Myers)
            .diff_slices(&old, &new);
        let groups = diff.grouped_ops(size);
        if groups
            .iter()
            .flatten()
            .all(|op| op.tag() == similar::DiffTag::Equal)
        {
            continue;
        }
        out.push_str(&format!("--- {old_name}\n+++ {new_name}\n"));
        for group in groups {
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            let (o, n) = (first.old_range().start, first.new_range().start);
            let o_len = last.old_range().end - o;
            let n_len = last.new_range().end - n;
            out.push_str(&format!("@@ -{},{o_len} +{},{n_len} @@\n", o + 1, n + 1));
            for op in &group {
                for change in diff.iter_changes(op) {
                    let sign = match change.tag() {
                        ChangeTag::Equal => ' ',
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                    };
                    out.push(sign);
                    out.push_str(change.value());
                    out.push('\n');
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Doc;
    use serde_json::{Value, json};

    fn rec(stime: i64, data: Value) -> Stored {
        Stored {
            id: "x".into(),
            stime,
            ltime: None,
            ctime: None,
            ftime: stime,
            data: Doc::new(&data),
        }
    }

    #[test]
    fn identical_pairs_print_nothing() {
        let recs = [
            rec(3, json!({"a": 1})),
            rec(2, json!({"a": 1})),
            rec(1, json!({"a": 0})),
        ];
        let out = diff_records(&recs, None, "/p").expect("diff");
        assert_eq!(
            out,
            "--- /p/x;_pp;_at=1\n+++ /p/x;_pp;_at=2\n@@ -1,3 +1,3 @@\n {\n-  \"a\" : 0\n+  \"a\" : 1\n }\n"
        );
        assert!(diff_records(&recs[..1], None, "/p").is_err());
    }

    #[test]
    fn hunks_split_beyond_twice_the_context() {
        let old = json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6});
        let new = json!({"a": 0, "b": 2, "c": 3, "d": 4, "e": 5, "f": 0});
        let out = diff_records(&[rec(2, new), rec(1, old)], Some(1), "/p").expect("diff");
        let hunks: Vec<&str> = out.lines().filter(|l| l.starts_with("@@")).collect();
        assert_eq!(hunks, ["@@ -1,3 +1,3 @@", "@@ -6,3 +6,3 @@"]);
    }
}
