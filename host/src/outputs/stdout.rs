//! The stdout outputs, named as the original named them: `stdout` prints the original's
//! Rule/Subject/Alert block per alert, `stdout_tabsep` one `plugin<TAB>id<TAB>details` line,
//! and `stdout_json` one JSON object per line for machines. Only alerts go to stdout.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use anyhow::{Context as _, Result};

use super::{AlertRecord, Output, Rejected, RunInfo, details_text, escape_text, json_line};
use crate::config::StdoutFormat;

pub(super) struct StdoutOutput<'a> {
    format: StdoutFormat,
    out: Rc<RefCell<&'a mut (dyn Write + Send)>>,
}

impl<'a> StdoutOutput<'a> {
    pub(super) fn new(format: StdoutFormat, out: Rc<RefCell<&'a mut (dyn Write + Send)>>) -> Self {
        StdoutOutput { format, out }
    }
}

impl Output for StdoutOutput<'_> {
    fn name(&self) -> &'static str {
        self.format.kind().name()
    }

    fn send(&mut self, alerts: &[AlertRecord], _run: &RunInfo) -> Result<Rejected> {
        let mut text = String::new();
        for alert in alerts {
            text.push_str(&render(self.format, alert));
        }
        let mut out = self.out.borrow_mut();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("failed to write alerts to stdout")?;
        Ok(Vec::new())
    }
}

pub(crate) fn render(format: StdoutFormat, alert: &AlertRecord) -> String {
    // With accounts, each alert names its account: a line of the block, a first field of
    // the tab-separated line, a key of the JSON line. Without, the original's formats.
    match format {
        StdoutFormat::Blocks => format!(
            "Rule: {}\n{}Subject: {}\nAlert: {}\n\n",
            alert.rule,
            alert
                .account_name()
                .map(|name| format!("Account: {name}\n"))
                .unwrap_or_default(),
            escape_text(&alert.id),
            escape_text(&details_text(&alert.details))
        ),
        // Tabs and line ends escaped: exactly one line of three fields per alert.
        StdoutFormat::Tabsep => format!(
            "{}{}\t{}\t{}\n",
            alert
                .account_name()
                .map(|name| format!("{name}\t"))
                .unwrap_or_default(),
            escape_text(&alert.rule),
            escape_text(&alert.id),
            escape_text(&details_text(&alert.details))
        ),
        StdoutFormat::Json => {
            // The original's three fields, and the stable id a consumer de-duplicates by.
            #[derive(serde::Serialize)]
            struct Line<'a> {
                plugin_name: &'a str,
                id: &'a str,
                details: &'a serde_json::Value,
                uid: String,
                #[serde(skip_serializing_if = "Option::is_none")]
                account: Option<&'a crate::alert::AccountTag>,
            }
            let line = Line {
                account: alert.account.as_ref(),
                plugin_name: &alert.rule,
                id: &alert.id,
                details: &alert.details,
                uid: super::document_id(alert),
            };
            format!("{}\n", json_line(&line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(details: serde_json::Value) -> AlertRecord {
        AlertRecord {
            rule: "secgroups".into(),
            id: "sg-1 (web)".into(),
            details,
            rule_version: "0.1.0".into(),
            window: crate::contract::Window {
                since_ms: 0,
                until_ms: 1,
            },
            raised_ms: 2,
            account: None,
        }
    }

    #[test]
    fn renders_the_original_formats() {
        let a = alert(json!({"fromPort": 22, "toPort": 22}));
        assert_eq!(
            render(StdoutFormat::Blocks, &a),
            "Rule: secgroups\nSubject: sg-1 (web)\nAlert: {\"fromPort\":22,\"toPort\":22}\n\n"
        );
        assert_eq!(
            render(StdoutFormat::Tabsep, &alert(json!("a\tb"))),
            "secgroups\tsg-1 (web)\ta\\tb\n"
        );
        let x = alert(json!("x"));
        assert_eq!(
            render(StdoutFormat::Json, &x),
            format!(
                "{{\"plugin_name\":\"secgroups\",\"id\":\"sg-1 (web)\",\"details\":\"x\",\"uid\":\"{}\"}}\n",
                crate::outputs::document_id(&x)
            )
        );
    }
}
