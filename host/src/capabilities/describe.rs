//! What `reddalert rules` shows about capabilities: for each rule, the ones it declares and
//! whether its grant allows them, and the grant's host lists and call limits, as JSON (`--json`)
//! or as lines of the text listing.

use super::capability_name;
use crate::config::CapabilityConfig;
use crate::config::capabilities::HostPattern;
use crate::contract::Capability;

/// What `reddalert rules` shows about one rule's capabilities: for each declared one whether
/// it is granted, and the grant's limits.
pub fn describe(
    config: &CapabilityConfig,
    rule: &str,
    declared: &[Capability],
) -> serde_json::Value {
    let grant = config.grant_for(rule);
    let (granted, refused): (Vec<Capability>, Vec<Capability>) =
        declared.iter().copied().partition(|c| grant.allows(*c));
    let limits = config.net.max_calls;
    let max = |default: u64| grant.max_calls.unwrap_or(default);
    let hosts =
        |patterns: &[HostPattern]| patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    serde_json::json!({
        "granted": granted.iter().map(|c| capability_name(*c)).collect::<Vec<_>>(),
        "not_granted": refused.iter().map(|c| capability_name(*c)).collect::<Vec<_>>(),
        "grant": {
            "http": grant.http,
            "tcp_probe": grant.tcp_probe,
            "chef": grant.chef,
            "s3": grant.s3,
            "allow_hosts": hosts(&grant.hosts.allow),
            "deny_hosts": hosts(&grant.hosts.deny),
            "allow_private": grant.hosts.allow_private,
            "max_calls": {
                "http": max(limits.http),
                "tcp-probe": max(limits.tcp_probe),
                "chef": max(limits.chef),
                "s3": max(limits.s3),
            },
        },
    })
}

/// The same as lines of text, for `reddalert rules` without `--json`.
pub fn describe_text(
    config: &CapabilityConfig,
    rule: &str,
    declared: &[Capability],
) -> Vec<String> {
    let grant = config.grant_for(rule);
    let mut lines = Vec::new();
    if !declared.is_empty() {
        let each: Vec<String> = declared
            .iter()
            .map(|c| match (*c, grant.allows(*c)) {
                (Capability::Edda, _) => "edda".to_owned(),
                (c, true) => format!("{} (granted)", capability_name(c)),
                (c, false) => format!("{} (NOT granted)", capability_name(c)),
            })
            .collect();
        lines.push(format!("capability {}", each.join(", ")));
    }
    let policy = &grant.hosts;
    let mut extra = Vec::new();
    if !policy.allow.is_empty() {
        extra.push(format!(
            "allow_hosts {}",
            policy
                .allow
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if !policy.deny.is_empty() {
        extra.push(format!(
            "deny_hosts {}",
            policy
                .deny
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if policy.allow_private {
        extra.push("allow_private".into());
    }
    if let Some(n) = grant.max_calls {
        extra.push(format!("max_calls {n}"));
    }
    if !extra.is_empty() {
        lines.push(format!("grant      {}", extra.join("; ")));
    }
    lines
}
