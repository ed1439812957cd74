//! The interface versions this host runs. A module names the version it was built for in its
//! `reddalert:rules/guest@X` export; this host runs 0.2.x rules (whose `guest` export may ask for
//! archives) and 0.1.x rules, both linked to 0.1.1's imports, which 0.2.0 kept unchanged.

/// The newest interface version this host implements.
pub const INTERFACE_VERSION: &str = "0.2.0";

/// A contract this host speaks: what its `guest` export looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contract {
    /// 0.1.x: every declared query answered with JSON.
    V01,
    /// 0.2.x: a declared query answered with JSON or with an archive of its typed models.
    V02,
}

impl Contract {
    /// Oldest first.
    const ALL: [Contract; 2] = [Contract::V01, Contract::V02];

    /// The newest version of the contract this host implements.
    pub(crate) fn version(self) -> &'static str {
        match self {
            Contract::V01 => "0.1.1",
            Contract::V02 => INTERFACE_VERSION,
        }
    }

    /// The contract of a module built for `version`, when this host runs it.
    pub(crate) fn of(version: &str) -> Option<Contract> {
        Contract::ALL
            .into_iter()
            .find(|c| compatible(version, c.version()))
    }
}

/// The version series this host runs, for messages: `0.1.x or 0.2.x`.
pub(crate) fn supported() -> String {
    let ranges: Vec<String> = Contract::ALL
        .iter()
        .map(|c| supported_range(c.version()))
        .collect();
    ranges.join(" or ")
}

/// The interface versions of the rules this host runs, oldest to newest (`0.1.0 to 0.1.1,
/// 0.2.0`): in each series, every version up to the one implemented (a newer patch may import
/// what this host does not have).
pub fn runs_versions() -> String {
    let series: Vec<String> = Contract::ALL
        .iter()
        .map(|c| {
            let oldest = oldest_compatible(c.version());
            if oldest == c.version() {
                oldest
            } else {
                format!("{oldest} to {}", c.version())
            }
        })
        .collect();
    series.join(", ")
}

/// Semver compatibility as cargo reads it: same major, and for 0.x the same minor.
fn compatible(found: &str, ours: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parse(found), parse(ours)) {
        (Some((0, a)), Some((0, b))) => a == b,
        (Some((a, _)), Some((b, _))) => a == b,
        _ => false,
    }
}

fn supported_range(ours: &str) -> String {
    let mut it = ours.split('.');
    match (it.next(), it.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}.x"),
        (Some(major), _) => format!("{major}.x"),
        _ => ours.to_owned(),
    }
}

fn oldest_compatible(ours: &str) -> String {
    let mut it = ours.split('.');
    match (it.next(), it.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}.0"),
        (Some(major), _) => format!("{major}.0.0"),
        _ => ours.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_cargo_semver() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.7", "0.1.0"));
        assert!(!compatible("0.2.0", "0.1.0"));
        assert!(!compatible("1.0.0", "0.1.0"));
        assert!(compatible("1.4.0", "1.0.0"));
        assert!(!compatible("garbage", "0.1.0"));
        assert_eq!(supported_range("0.1.0"), "0.1.x");
        assert_eq!(oldest_compatible("0.1.1"), "0.1.0");
        assert_eq!(oldest_compatible("1.4.2"), "1.0.0");
        assert!(compatible(&oldest_compatible("0.3.2"), "0.3.2"));
    }

    #[test]
    fn each_module_version_finds_its_contract() {
        assert_eq!(Contract::of("0.1.0"), Some(Contract::V01));
        assert_eq!(Contract::of("0.1.1"), Some(Contract::V01));
        assert_eq!(Contract::of("0.2.0"), Some(Contract::V02));
        assert_eq!(Contract::of("0.3.0"), None);
        assert_eq!(Contract::of("1.0.0"), None);
        assert_eq!(supported(), "0.1.x or 0.2.x");
        assert_eq!(runs_versions(), "0.1.0 to 0.1.1, 0.2.0");
    }
}
