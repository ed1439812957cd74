use super::*;

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../etc")
        .join(name)
}

#[test]
fn the_shipped_toml_template_parses_with_every_key() {
    let config = Config::load(&etc("reddalert.example.toml"), &Overrides::default()).unwrap();
    assert_eq!(
        config.edda,
        EddaSource::Http("http://localhost:8080/edda".into())
    );
    assert_eq!(config.outputs, vec![OutputKind::Stdout]);
    assert!(!config.store_until);
    assert_eq!(config.until_lag, Duration::from_secs(300));
    assert!(config.rules_dir.ends_with("etc/rules"));
    assert_eq!(config.limits, DEFAULT_LIMITS);
    assert_eq!(
        config.plugins["elbs"]["allowed_ports"],
        serde_json::json!([80, 443])
    );
    assert_eq!(
        config.plugins["secgroups"]["whitelisted_entries"]["sg-0a1b2c3d (web)"]["8080"][0],
        "192.0.2.0/24"
    );
}

#[test]
fn the_shipped_original_json_template_parses() {
    let config = Config::load(&etc("configfile_template.json"), &Overrides::default()).unwrap();
    assert!(config.store_until);
    assert_eq!(config.plugins["iam"]["allowed"], serde_json::json!([]));
    assert_eq!(config.plugins.len(), 4);
}

#[test]
fn the_demo_config_parses() {
    let config = Config::load(&etc("demo/reddalert.toml"), &Overrides::default()).unwrap();
    assert!(matches!(config.edda, EddaSource::Snapshot(_)));
}

fn load_text(name: &str, text: &str) -> Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Config::load(&path, &Overrides::default())
}

#[test]
fn unknown_keys_name_the_key_and_the_file() {
    let err = format!(
        "{:#}",
        load_text("c.toml", "edda = \"http://x\"\nstore_until = true\n").unwrap_err()
    );
    assert!(
        err.contains("c.toml") && err.contains("store_until") && err.contains("line 2"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        load_text("c.json", r#"{"edda": "http://x", "smtp_hots": "a"}"#).unwrap_err()
    );
    assert!(err.contains("c.json") && err.contains("smtp_hots"), "{err}");
    let err = format!(
        "{:#}",
        load_text("c.toml", "[limits]\nfuel = 1\nmemory = 5\n").unwrap_err()
    );
    assert!(err.contains("memory"), "{err}");
}

#[test]
fn values_are_validated() {
    for (text, needle) in [
        ("edda = \"localhost:8080\"", "neither an http(s) URL"),
        ("output = \"stdout,pager\"", "unknown output \"pager\""),
        ("output = \"jsonl\"", "needs a [jsonl] section"),
        ("[limits]\nmemory_mib = 5000", "memory_mib must be between"),
        (
            "[limits]\ntimeout_seconds = -1.0",
            "timeout_seconds must be positive",
        ),
        ("[plugin]\nami = 5", "plugin.ami"),
        ("parallelism = 0", "parallelism"),
    ] {
        let err = format!("{:#}", load_text("c.toml", text).unwrap_err());
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn overrides_and_per_rule_limits_apply() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "output = [\"stdout\"]\n[limits]\nfuel = 10\n[limits.rule.iam]\nmemory_mib = 1\n",
    )
    .unwrap();
    let overrides = Overrides {
        edda: Some("dir:snap".into()),
        output: Some("stdout_tabsep, stdout_json".into()),
        store_until: true,
        rules_dir: Some("/x".into()),
    };
    let config = Config::load(&path, &overrides).unwrap();
    assert_eq!(config.edda, EddaSource::Snapshot(dir.path().join("snap")));
    assert_eq!(
        config.outputs,
        vec![OutputKind::StdoutTabsep, OutputKind::StdoutJson]
    );
    assert!(config.store_until);
    assert_eq!(config.rules_dir, PathBuf::from("/x"));
    assert_eq!(config.limits_for("iam").memory_bytes, 1 << 20);
    assert_eq!(
        config.limits_for("iam").fuel,
        10,
        "overrides inherit the file's defaults"
    );
    assert_eq!(
        config.limits_for("ami").memory_bytes,
        DEFAULT_LIMITS.memory_bytes
    );
}
