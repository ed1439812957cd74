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
    assert_eq!(config.output_kinds(), vec![OutputKind::Stdout]);
    assert!(!config.store_until);
    assert_eq!(config.until_lag, Duration::from_secs(300));
    assert!(config.rules_dir.ends_with("etc/rules"));
    assert_eq!(config.limits, DEFAULT_LIMITS);
    assert_eq!(
        config.rule_sections["elbs"]["allowed_ports"],
        serde_json::json!([80, 443])
    );
    assert_eq!(
        config.rule_sections["secgroups"]["whitelisted_entries"]["sg-0a1b2c3d (web)"]["8080"][0],
        "192.0.2.0/24"
    );
    assert_eq!(config.registry.trust.require, TrustLevel::Off);
    assert_eq!(config.registry.trust.min_signers, 1);
    assert_eq!(config.registry.registry.max_module_bytes, 64 << 20);
    assert!(config.registry.lock_file.ends_with("etc/reddalert.lock"));
    assert_eq!(
        config.crawl,
        CrawlSettings {
            regions: vec!["us-east-1".into()],
            ..CrawlSettings::default()
        }
    );
}

#[test]
fn the_templates_registry_examples_parse_when_uncommented() {
    let text = std::fs::read_to_string(etc("reddalert.example.toml")).unwrap();
    let start = text.find("# [trust.keys]").expect("a keys example");
    let end = text
        .find("# Several AWS accounts")
        .expect("the accounts example");
    let uncommented: String = text[start..end]
        .lines()
        .filter(|l| {
            l.starts_with('[') || l.starts_with("# [") || l.starts_with("# ") && l.contains(" = ")
        })
        .map(|l| l.trim_start_matches("# "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = load_text("t.toml", &uncommented).unwrap();
    assert!(config.registry.trust.keys["acme"].ends_with("keys/acme.pub"));
    assert_eq!(
        config.registry.sources["elbs"],
        "registry.example.com/acme/reddalert-elbs:1.4.0"
    );
    assert!(config.registry.registry.ca_file.is_some());
    assert_eq!(
        config.registry.registry.auth["registry.example.com"].password_env,
        "REDDALERT_REGISTRY_TOKEN"
    );
}

#[test]
fn the_templates_crawl_keys_parse_when_uncommented() {
    let text = std::fs::read_to_string(etc("reddalert.example.toml")).unwrap();
    let (head, crawl) = text.split_once("\n[crawl]\n").expect("a [crawl] section");
    let (crawl, rest) = crawl.split_once("\n\n").expect("the end of [crawl]");
    let crawl: Vec<&str> = crawl
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(key) if !key.starts_with(' ') => key,
            _ => l,
        })
        .collect();
    let uncommented = format!("{head}\n[crawl]\n{}\n\n{rest}", crawl.join("\n"));
    let config = load_text("t.toml", &uncommented).unwrap();
    assert_eq!(
        config.crawl.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/reddalert-read")
    );
    assert_eq!(config.crawl.external_id.as_deref(), Some("reddalert"));
    assert_eq!(
        config.crawl.endpoint_url.as_deref(),
        Some("http://127.0.0.1:5000")
    );
}

#[test]
fn crawl_settings_are_read_from_the_original_json_shape_and_checked_with_their_key() {
    let json = r#"{"crawl": {"regions": ["eu-west-1"], "retries": 0},
        "account": [{"name": "a", "edda": "http://e", "crawl": {"regions": ["us-west-2"]}},
                    {"name": "b", "edda": "http://f"}]}"#;
    let config = load_text("t.json", json).unwrap();
    assert_eq!(config.crawl.regions, ["eu-west-1"]);
    let a = config.for_account(&config.accounts[0], 1);
    assert_eq!(
        (a.crawl.regions.as_slice(), a.crawl.retries),
        (&["us-west-2".to_owned()][..], 0)
    );
    let b = config.for_account(&config.accounts[1], 1);
    assert_eq!(b.crawl, config.crawl);
    let err = |text: &str| format!("{:#}", load_text("t.toml", text).unwrap_err());
    let top = err("[crawl]\nregions = [\"mars-1\"]\n");
    assert!(
        top.contains("invalid key `crawl`") && top.contains("\"mars-1\""),
        "{top}"
    );
    let own = err(
        "[[account]]\nname = \"a\"\nedda = \"http://e\"\n[account.crawl]\ntimeout_seconds = 0\n",
    );
    assert!(
        own.contains("invalid key `account[0].crawl`") && own.contains("timeout_seconds"),
        "{own}"
    );
}

#[test]
fn the_shipped_original_json_template_parses() {
    let config = Config::load(&etc("configfile_template.json"), &Overrides::default()).unwrap();
    assert!(config.store_until);
    assert_eq!(
        config.rule_sections["iam"]["allowed"],
        serde_json::json!([])
    );
    assert_eq!(config.rule_sections.len(), 4);
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
        (
            "edda = \"store:\"",
            "`store:` needs the path of the store file",
        ),
        ("output = \"stdout,pager\"", "unknown output \"pager\""),
        ("output = \"jsonl\"", "needs a [jsonl] section"),
        (
            "[limits]\nmemory_mib = 5000",
            "`memory_mib`: 5000 is outside its range 1 to 4096",
        ),
        (
            "[limits]\ntimeout_seconds = -1.0",
            "`timeout_seconds`: -1 is outside its range",
        ),
        ("[plugin]\nami = 5", "plugin.ami"),
        (
            "parallelism = 0",
            "`parallelism`: 0 is outside its range 1 to 256",
        ),
        // Values a user can write by mistake: none may panic, wrap or run for ever.
        (
            "[limits]\ntimeout_seconds = 1e300",
            "`timeout_seconds`: 1e300 is outside its range",
        ),
        (
            "[limits.rule.iam]\noutput_mib = 17592186044416",
            "`output_mib`: 17592186044416 is outside its range 1 to 4096",
        ),
        (
            "edda_max_response_mib = 17592186044416",
            "`edda_max_response_mib`: 17592186044416 is outside its range 1 to 65536",
        ),
        (
            "edda_timeout_seconds = 18446744073709551615",
            "`edda_timeout_seconds`: 18446744073709551615 is outside its range 1 to 3600",
        ),
        ("[limits]\nfuel = 0", "`fuel`: 0 is outside its range"),
        (
            "output = []",
            "no output is named, so every alert would be lost",
        ),
        ("output = \",\"", "no output is named"),
    ] {
        let err = format!("{:#}", load_text("c.toml", text).unwrap_err());
        assert!(err.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn an_empty_output_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "").unwrap();
    let overrides = Overrides {
        output: Some(Vec::new()),
        ..Overrides::default()
    };
    let err = format!("{:#}", Config::load(&path, &overrides).unwrap_err());
    assert!(err.contains("no output is named"), "{err}");
    let err = format!("{:#}", OutputKind::parse_list(" , ").unwrap_err());
    assert!(err.contains("no output is named"), "{err}");
}

#[test]
fn a_bare_file_name_is_relative_to_the_working_directory() {
    let config = Config::from_raw(
        Path::new("reddalert.toml"),
        RawConfig::default(),
        &Overrides::default(),
    )
    .unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(config.rules_dir, cwd.join("rules"));
}

#[test]
fn the_originals_chef_keys_in_the_rules_sections_are_the_hosts() {
    let text = r#"{"plugin.non_chef": {"chef_server_url": "https://chef.example.com/organizations/o",
        "client_name": "reddalert", "client_key_file": "chef.pem", "excluded_instances": ["^ci-"]},
        "plugin.route53unknown": {"chef_server_url": "https://chef.example.com/organizations/o",
        "legit_domains": ["example.com"]}}"#;
    let config = load_text("c.json", text).unwrap();
    let chef = format!("{:?}", config.capabilities);
    assert!(
        chef.contains("https://chef.example.com/organizations/o"),
        "{chef}"
    );
    assert!(chef.contains("chef.pem"), "{chef}");
    // The rules see their own settings only: the key file's path stays in the host.
    assert_eq!(
        config.rule_sections["non_chef"],
        serde_json::json!({"excluded_instances": ["^ci-"]})
    );
    assert_eq!(
        config.rule_sections["route53unknown"],
        serde_json::json!({"legit_domains": ["example.com"]})
    );
    let clash = text.replace(
        r#""legit_domains""#,
        r#""client_name": "other", "legit_domains""#,
    );
    let err = format!("{:#}", load_text("c.json", &clash).unwrap_err());
    assert!(
        err.contains(
            "`plugin.non_chef.client_name` and `plugin.route53unknown.client_name` differ"
        ),
        "{err}"
    );
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
        output: Some(OutputKind::parse_list("stdout_tabsep, stdout_json").unwrap()),
        store_until: true,
        rules_dir: Some("/x".into()),
    };
    let config = Config::load(&path, &overrides).unwrap();
    assert_eq!(config.edda, EddaSource::Snapshot(dir.path().join("snap")));
    let store = Overrides {
        edda: Some("store:stores/acct.sqlite".into()),
        ..overrides.clone()
    };
    assert_eq!(
        Config::load(&path, &store).unwrap().edda,
        EddaSource::Store(dir.path().join("stores/acct.sqlite"))
    );
    assert_eq!(
        config.output_kinds(),
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

#[test]
fn the_templates_accounts_example_parses_when_uncommented() {
    let text = std::fs::read_to_string(etc("reddalert.example.toml")).unwrap();
    let (head, example) = text
        .split_once("# [[account]]")
        .expect("an accounts example");
    let uncommented: String = format!("# [[account]]{example}")
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .collect::<Vec<_>>()
        .join("\n");
    let head = head.replace("edda = \"http://localhost:8080/edda\"\n", "");
    let config = load_text("t.toml", &format!("{head}\n{uncommented}\n")).unwrap();
    let names: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["prod", "staging"]);
    assert_eq!(config.accounts[0].tags["team"], "payments");
    let prod = config.for_account(&config.accounts[0], 1);
    assert_eq!(
        prod.edda,
        EddaSource::Http("http://edda-prod:8080/edda".into())
    );
    assert_eq!(
        prod.rule_sections["elbs"]["allowed_ports"],
        serde_json::json!([80, 443, 8443])
    );
    assert_eq!(
        prod.crawl.role_arn.as_deref(),
        Some("arn:aws:iam::210987654321:role/reddalert-read")
    );
    assert_eq!(prod.crawl.regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(prod.crawl.retention_days, 90, "the rest is the top level's");
    let staging = config.for_account(&config.accounts[1], 1);
    assert_eq!(
        staging.rule_sections["elbs"]["allowed_ports"],
        serde_json::json!([80, 443])
    );
    assert_eq!(staging.crawl, config.crawl);
}

#[test]
fn accounts_are_checked() {
    let err = |text: &str| format!("{:#}", load_text("t.toml", text).unwrap_err());
    assert!(
        err("[[account]]\nedda = \"http://e\"\n").contains("`account[0].name`: required"),
        "{}",
        err("[[account]]\nedda = \"http://e\"\n")
    );
    assert!(err("[[account]]\nname = \"a\"\n").contains("`account[0].edda`: required"));
    let twice = "[[account]]\nname = \"a\"\nedda = \"http://e\"\n[[account]]\nname = \"a\"\nedda = \"http://f\"\n";
    assert!(
        err(twice).contains("two accounts are named \"a\""),
        "{}",
        err(twice)
    );
    let chef = "[[account]]\nname = \"a\"\nedda = \"http://e\"\n[account.plugin.non_chef]\nclient_name = \"x\"\n";
    assert!(
        err(chef).contains("`account[0].plugin.non_chef.client_name`"),
        "{}",
        err(chef)
    );
    let bad_edda = "[[account]]\nname = \"a\"\nedda = \"ftp://e\"\n";
    assert!(
        err(bad_edda).contains("invalid account \"a\""),
        "{}",
        err(bad_edda)
    );
    let unknown = "[[account]]\nname = \"a\"\nedda = \"http://e\"\nregion = \"x\"\n";
    assert!(
        err(unknown).contains("unknown field `region`"),
        "{}",
        err(unknown)
    );
    // The original's JSON shape takes them too.
    let json = r#"{"account": [{"name": "a", "edda": "http://e", "tags": {"env": "x"}}]}"#;
    let config = load_text("t.json", json).unwrap();
    assert_eq!(config.accounts[0].tags["env"], "x");
}
