//! Settings of the `ocsf` output: the file its findings are appended to, and the severity an
//! operator gives a rule's findings over the defaults the output knows for the stock rules
//! ([`crate::outputs`] holds those, beside the mapping that uses them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use super::raw::RawOcsf;

/// A finding's severity: OCSF's `severity_id` 1 to 5 (Unknown, Fatal and Other are not ours
/// to give).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The names the config accepts, in order.
    pub const NAMES: &str = "informational, low, medium, high, critical";

    /// A severity by its lowercase name.
    pub fn parse(name: &str) -> Option<Severity> {
        Some(match name {
            "informational" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// OCSF's `severity_id`.
    pub fn id(self) -> u8 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// OCSF's caption of the id, the `severity` text.
    pub fn caption(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OcsfSettings {
    pub path: PathBuf,
    /// The operator's severity by rule name; rules not named keep the output's default.
    pub severity: BTreeMap<String, Severity>,
}

/// Validates `[ocsf]`.
pub(super) fn settings(raw: &RawOcsf, resolve: &dyn Fn(&str) -> PathBuf) -> Result<OcsfSettings> {
    let path = raw.path.as_deref().filter(|p| !p.is_empty());
    let path = path.context("invalid key `ocsf.path`: required, the file to append to")?;
    let mut severity = BTreeMap::new();
    for (rule, name) in &raw.severity {
        let Some(level) = Severity::parse(&name.trim().to_ascii_lowercase()) else {
            bail!(
                "invalid key `ocsf.severity.{rule}`: {name:?} is not a severity; use one of {}",
                Severity::NAMES
            );
        };
        severity.insert(rule.clone(), level);
    }
    Ok(OcsfSettings {
        path: resolve(path),
        severity,
    })
}
