//! A rule's config as a type. The rule writes one serde struct whose `Default` is its default
//! config; the SDK derives the `default_config` the host shows and merges under the
//! operator's `plugin.<name>` section from it, reads the merged section back into the type
//! with the path of any bad value (`allowed_ports[2]: invalid value: integer 70000, expected
//! u16`; a key set to `null` keeps its default, as one left out does), warns through the host's log about keys the type does not have (a typo must not
//! silently change what a security rule checks, but a key meant for the host must not fail
//! the rule either), and runs the type's own checks ([`Settings::validate`]).
//!
//! ```
//! use reddalert_rule_sdk::prelude::*;
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(default)]
//! struct Config {
//!     allowed_ports: std::collections::BTreeSet<u16>,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Config { allowed_ports: [80, 443].into() }
//!     }
//! }
//!
//! impl Settings for Config {}
//!
//! assert_eq!(default_config::<Config>(), json!({"allowed_ports": [80, 443]}));
//! ```

use anyhow::{Result, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::host::{Level, log};
use crate::types::Input;

/// A rule's config: a serde type whose `Default` is the rule's default config. Mark the
/// struct `#[serde(default)]` so that a key the operator leaves out keeps its default.
pub trait Settings: Serialize + DeserializeOwned + Default {
    /// Checks serde cannot express (a range, a regular expression, two keys that exclude each
    /// other). An error fails the rule with the message, which should name the key.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// The default config of `C` as JSON, for [`Info::default_config`](crate::Info).
pub fn default_config<C: Settings>() -> Value {
    serde_json::to_value(C::default()).unwrap_or_else(|err| {
        // A Default that does not serialize is a bug of the rule, seen by its first test.
        panic!("the rule's default config does not serialize: {err}")
    })
}

impl Input {
    /// The config as the rule's [`Settings`] type: keys the type does not have are logged as
    /// warnings, a bad value fails with its path, then the type's own checks run.
    pub fn config<C: Settings>(&self) -> Result<C> {
        read(&self.rule, &self.config)
    }
}

/// Reads the merged config section of `rule` into `C`: warns about keys `C` does not have,
/// fails with the path of a bad value, then runs [`Settings::validate`]. Messages start with
/// the rule's name, as the host's log and Sentry show them.
pub(crate) fn read<C: Settings>(rule: &str, config: &Value) -> Result<C> {
    let Value::Object(section) = config else {
        return Err(anyhow!(
            "{rule}: the config is not a table/object of settings: {config}"
        ));
    };
    if let Value::Object(known) = default_config::<C>() {
        for key in section.keys().filter(|k| !known.contains_key(*k)) {
            log(
                Level::Warn,
                &format!("{rule}: unknown config key {key:?} is ignored"),
            );
        }
    }
    // A key set to `null` keeps its default, as a key left out does: the original's JSON
    // configs write `null` (Python's `None`) for "not set".
    let set: serde_json::Map<String, Value> = section
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settings: C = serde_path_to_error::deserialize(Value::Object(set)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match path.as_str() {
            "." | "" => anyhow!("{rule}: {inner}"),
            path => anyhow!("{rule}: {path}: {inner}"),
        }
    })?;
    settings
        .validate()
        .map_err(|err| anyhow!("{rule}: {err:#}"))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Ports {
        allowed_ports: BTreeSet<u16>,
        name: String,
    }

    impl Default for Ports {
        fn default() -> Self {
            Ports {
                allowed_ports: [80, 443].into(),
                name: "web".into(),
            }
        }
    }

    impl Settings for Ports {
        fn validate(&self) -> Result<()> {
            anyhow::ensure!(!self.name.is_empty(), "name: must not be empty");
            Ok(())
        }
    }

    #[test]
    fn the_default_config_is_the_types_default() {
        assert_eq!(
            default_config::<Ports>(),
            json!({"allowed_ports": [80, 443], "name": "web"})
        );
    }

    #[test]
    fn a_section_reads_into_the_type_keys_left_out_keeping_their_default() {
        let ports: Ports = read("ports", &json!({"allowed_ports": [22]})).unwrap();
        assert_eq!(
            ports,
            Ports {
                allowed_ports: [22].into(),
                name: "web".into()
            }
        );
    }

    #[test]
    fn a_bad_value_names_its_path() {
        let err = read::<Ports>("ports", &json!({"allowed_ports": [80, 443, 70000]})).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "ports: allowed_ports[2]: invalid value: integer `70000`, expected u16"
        );
        let err = read::<Ports>("ports", &json!({"allowed_ports": "80"})).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("ports: allowed_ports: invalid type"),
            "{err:#}"
        );
        let err = read::<Ports>("ports", &json!([80])).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a table/object of settings"),
            "{err:#}"
        );
    }

    #[test]
    fn a_key_set_to_null_keeps_its_default() {
        let ports: Ports = read("ports", &json!({"allowed_ports": null, "name": "db"})).unwrap();
        assert_eq!(ports.allowed_ports, BTreeSet::from([80, 443]));
        assert_eq!(ports.name, "db");
    }

    #[test]
    fn validate_runs_after_the_types_checks() {
        let err = read::<Ports>("ports", &json!({"name": ""})).unwrap_err();
        assert_eq!(format!("{err:#}"), "ports: name: must not be empty");
    }

    #[test]
    fn unknown_keys_are_warned_about_not_fatal() {
        let logged = crate::testing::capture_logs(|| {
            read::<Ports>("ports", &json!({"allowed_port": [22]})).unwrap();
        });
        assert_eq!(
            logged,
            [(
                Level::Warn,
                "ports: unknown config key \"allowed_port\" is ignored".to_owned()
            )]
        );
    }
}
