//! The mail digest of one run, rendered three ways: a subject that says how many alerts of
//! which rules, a plain-text body readable in any client (the original's Subject/Alert
//! blocks, grouped by rule), and an HTML body with one table per rule. Alerts that waited
//! from an earlier run say when they were raised. Pure functions, so snapshots pin them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{AlertRecord, RunInfo, details_text, escape_text};
use crate::time::iso_time;

/// Rules named in a subject before "and N more".
const SUBJECT_RULES: usize = 6;

/// A run's alerts grouped by rule (rules in name order, alerts in the order raised).
pub struct Digest<'a> {
    groups: BTreeMap<&'a str, Vec<&'a AlertRecord>>,
    total: usize,
}

impl<'a> Digest<'a> {
    pub fn new(alerts: &'a [AlertRecord]) -> Digest<'a> {
        let mut groups: BTreeMap<&str, Vec<&AlertRecord>> = BTreeMap::new();
        for alert in alerts {
            groups.entry(&alert.rule).or_default().push(alert);
        }
        Digest {
            groups,
            total: alerts.len(),
        }
    }

    /// "3 alerts from 2 rules", or "no alerts".
    fn headline(&self) -> String {
        match (self.total, self.groups.len()) {
            (0, _) => "no alerts".to_owned(),
            (n, 1) => format!("{} from 1 rule", plural(n, "alert")),
            (n, r) => format!("{} from {r} rules", plural(n, "alert")),
        }
    }
}

/// The subject: `prefix` alone, or with `summary` "prefix: 4 alerts: iam (1), secgroups (3)".
pub fn subject(prefix: &str, summary: bool, alerts: &[AlertRecord]) -> String {
    if !summary {
        return prefix.to_owned();
    }
    let digest = Digest::new(alerts);
    if digest.total == 0 {
        return format!("{prefix}: no alerts");
    }
    let mut rules: Vec<String> = digest
        .groups
        .iter()
        .take(SUBJECT_RULES)
        .map(|(rule, alerts)| format!("{rule} ({})", alerts.len()))
        .collect();
    if digest.groups.len() > SUBJECT_RULES {
        rules.push(format!("and {} more", digest.groups.len() - SUBJECT_RULES));
    }
    format!(
        "{prefix}: {}: {}",
        plural(digest.total, "alert"),
        rules.join(", ")
    )
}

/// The plain-text part.
pub fn render_text(alerts: &[AlertRecord], run: &RunInfo) -> String {
    let digest = Digest::new(alerts);
    let mut out = format!(
        "reddalert: {}\nWindow: {} to {} (run started {})\n",
        digest.headline(),
        iso_time(run.window.since_ms),
        iso_time(run.window.until_ms),
        iso_time(run.started_ms)
    );
    for (rule, group) in &digest.groups {
        let _ = write!(
            out,
            "\n== {rule}: {} (rule version {}) ==\n",
            plural(group.len(), "alert"),
            versions(group)
        );
        for alert in group {
            if let Some(account) = alert.account_name() {
                let _ = write!(out, "\nAccount: {account}");
            }
            let _ = write!(
                out,
                "\nSubject: {}\nAlert: {}\n",
                escape_text(&alert.id),
                escape_text(&details_text(&alert.details))
            );
            if let Some(note) = delayed(alert, run) {
                let _ = writeln!(out, "Note: {note}");
            }
        }
    }
    out
}

/// The HTML part: one table per rule, every value escaped.
pub fn render_html(alerts: &[AlertRecord], run: &RunInfo) -> String {
    let digest = Digest::new(alerts);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>reddalert</title></head>\n\
         <body style=\"font-family: sans-serif\">\n",
    );
    let _ = writeln!(
        out,
        "<p><strong>reddalert: {}</strong><br>\nWindow: {} to {} (run started {})</p>",
        digest.headline(),
        iso_time(run.window.since_ms),
        iso_time(run.window.until_ms),
        iso_time(run.started_ms)
    );
    for (rule, group) in &digest.groups {
        let _ = writeln!(
            out,
            "<h2>{}</h2>\n<p>{}, rule version {}</p>\n\
             <table border=\"1\" cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse: collapse\">\n\
             <thead><tr><th>Subject</th><th>Alert</th></tr></thead>\n<tbody>",
            escape(rule),
            plural(group.len(), "alert"),
            escape(&versions(group))
        );
        for alert in group {
            let note = delayed(alert, run)
                .map(|n| format!("<br><small>{}</small>", escape(&n)))
                .unwrap_or_default();
            let account = alert
                .account_name()
                .map(|name| format!("[{}] ", escape(name)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td valign=\"top\">{account}{}{note}</td><td><pre style=\"white-space: pre-wrap; margin: 0\">{}</pre></td></tr>",
                escape(&alert.id),
                escape(&pretty(&alert.details))
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Strings as they are; structures indented, which reads better in a table cell.
fn pretty(details: &serde_json::Value) -> String {
    match details {
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    }
}

fn delayed(alert: &AlertRecord, run: &RunInfo) -> Option<String> {
    (alert.raised_ms != run.started_ms).then(|| {
        format!(
            "raised {} (window {} to {}); its delivery was delayed",
            iso_time(alert.raised_ms),
            iso_time(alert.window.since_ms),
            iso_time(alert.window.until_ms)
        )
    })
}

fn versions(group: &[&AlertRecord]) -> String {
    let mut versions: Vec<&str> = group.iter().map(|a| a.rule_version.as_str()).collect();
    versions.sort_unstable();
    versions.dedup();
    versions.join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Escapes text for HTML element content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
