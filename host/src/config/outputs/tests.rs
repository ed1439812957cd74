use super::*;
use crate::config::{Config, Overrides};

fn load(name: &str, text: &str) -> Result<Config> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Config::load(&path, &Overrides::default())
}

/// Loads with `kinds` as the outputs, as `-o` would list them.
fn load_for(name: &str, text: &str, kinds: &[OutputKind]) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let overrides = Overrides {
        output: Some(kinds.to_vec()),
        ..Overrides::default()
    };
    Config::load(&path, &overrides).unwrap()
}

/// The settings of the listed output of this variant.
macro_rules! listed {
    ($config:expr, $variant:ident) => {
        $config
            .outputs
            .iter()
            .find_map(|o| match o {
                OutputSettings::$variant(s) => Some(s),
                _ => None,
            })
            .expect(concat!(stringify!($variant), " is listed"))
    };
}

fn err(name: &str, text: &str) -> String {
    format!("{:#}", load(name, text).unwrap_err())
}

#[test]
fn the_original_defaults_apply() {
    let config = load("c.toml", "output = \"mail_txt,mail_html,elasticsearch\"").unwrap();
    assert_eq!(
        config.output_kinds(),
        vec![OutputKind::Mail, OutputKind::Elasticsearch]
    );
    let mail = listed!(config, Mail);
    assert_eq!(
        (mail.host.as_str(), mail.port, mail.from.as_str()),
        ("localhost", 25, "reddalert@localhost")
    );
    assert_eq!(mail.to, vec!["root@localhost"]);
    assert_eq!(mail.subject, "[reddalert] Report");
    assert_eq!(mail.tls, TlsMode::None);
    assert!(mail.username.is_none() && !mail.send_empty && mail.subject_summary);
    let es = listed!(config, Elasticsearch);
    assert_eq!(
        (es.url.as_str(), es.index.as_str()),
        ("http://localhost:9200", "reddalert")
    );
    assert_eq!(config.waiting, DEFAULT_WAITING_BOUNDS);
}

#[test]
fn the_original_flat_keys_work_in_json() {
    let config = load_for(
        "c.json",
        r#"{"output": "mail_html", "email_from": "alerts@example.com", "email_to": ["a@example.com", "b@example.com"],
            "email_subject": "[sec]", "smtp_host": "relay.example.com", "es_host": "es.example.com", "es_port": 9201}"#,
        &[OutputKind::Mail, OutputKind::Elasticsearch],
    );
    let mail = listed!(config, Mail);
    assert_eq!(mail.host, "relay.example.com");
    assert_eq!(mail.from, "alerts@example.com");
    assert_eq!(mail.to, vec!["a@example.com", "b@example.com"]);
    assert_eq!(mail.subject, "[sec]");
    assert_eq!(
        listed!(config, Elasticsearch).url,
        "http://es.example.com:9201"
    );
}

#[test]
fn the_originals_smtp_host_may_carry_a_port() {
    for (smtp_host, host, port) in [
        ("mail.example.com:2525", "mail.example.com", 2525),
        ("mail.example.com", "mail.example.com", 25),
        ("[2001:db8::25]:2525", "2001:db8::25", 2525),
        ("2001:db8::25", "2001:db8::25", 25),
    ] {
        let text = format!(r#"{{"smtp_host": "{smtp_host}"}}"#);
        let config = load_for("c.json", &text, &[OutputKind::Mail]);
        let mail = listed!(config, Mail);
        assert_eq!((mail.host.as_str(), mail.port), (host, port), "{smtp_host}");
    }
}

#[test]
fn sections_set_everything_and_resolve_paths() {
    let config = load(
        "c.toml",
        r#"output = ["mail", "elasticsearch", "jsonl", "webhook"]
max_waiting_alerts = 7
[mail]
host = "smtp.example.com"
tls = "tls"
to = "a@example.com, b@example.com"
username = "reddalert"
password_env = "SMTP_PASSWORD"
ca_file = "ca.pem"
[elasticsearch]
url = "https://es.example.com:9200/"
index = "reddalert-%Y.%m.%d"
api_key_env = "ES_API_KEY"
retries = 1
backoff_ms = 10
[jsonl]
path = "alerts.jsonl"
[webhook]
url_env = "SLACK_URL"
format = "slack"
"#,
    )
    .unwrap();
    let (mail, es) = (listed!(config, Mail), listed!(config, Elasticsearch));
    assert_eq!((mail.port, mail.tls), (465, TlsMode::Tls));
    assert_eq!(mail.to.len(), 2);
    assert!(mail.ca_file.as_ref().unwrap().is_absolute());
    assert_eq!(es.url, "https://es.example.com:9200");
    assert_eq!(es.retry.retries, 1);
    assert_eq!(
        listed!(config, Jsonl).path.file_name().unwrap(),
        "alerts.jsonl"
    );
    let webhook = listed!(config, Webhook);
    assert_eq!(webhook.url, WebhookUrl::Env("SLACK_URL".into()));
    assert_eq!(webhook.format, WebhookFormat::Slack);
    assert_eq!(config.waiting.alerts, 7);
}

#[test]
fn mistakes_are_named() {
    for (text, needle) in [
        ("output = \"jsonl\"", "needs a [jsonl] section with `path`"),
        ("output = \"webhook\"", "needs a [webhook] section"),
        ("output = \"ocsf\"", "needs an [ocsf] section with `path`"),
        (
            "[ocsf]\nseverity = { a = \"low\" }",
            "`ocsf.path`: required",
        ),
        ("[ocsf]\npath = \"f\"\nseverities = {}", "severities"),
        (
            "smtp_host = \"a\"\n[mail]\nhost = \"b\"",
            "`smtp_host` and `mail.host`",
        ),
        ("[mail]\nusername = \"u\"", "go together"),
        (
            "[mail]\nusername = \"u\"\npassword_env = \"P\"",
            "password in clear",
        ),
        ("[mail]\nto = [\"not an address\"]", "is not a mail address"),
        ("[mail]\ntls = \"maybe\"", "maybe"),
        ("[mail]\nhots = \"x\"", "hots"),
        (
            "[elasticsearch]\nindex = \"Upper\"",
            "not a valid index pattern",
        ),
        ("[elasticsearch]\nurl = \"es:9200\"", "not an http(s) URL"),
        (
            "es_host = \"x\"\n[elasticsearch]\nurl = \"http://y\"",
            "keep one",
        ),
        ("[webhook]\nurl = \"http://a\"\nurl_env = \"B\"", "not both"),
        (
            "[webhook]\nurl = \"http://a\"\ntimeout_seconds = 0",
            "`webhook.timeout_seconds`: 0 is outside its range",
        ),
        (
            "[elasticsearch]\nretries = 1000000000",
            "`elasticsearch.retries`: 1000000000 is outside its range 0 to 20",
        ),
        (
            "[webhook]\nurl = \"http://a\"\nbackoff_ms = 86400000",
            "`webhook.backoff_ms`: 86400000 is outside its range 0 to 600000",
        ),
        ("max_waiting_alerts = 100000000", "`max_waiting_alerts`"),
        (
            "smtp_host = \"mail.example.com:smtp\"",
            "not a number from 1 to 65535",
        ),
        (
            "smtp_host = \"mail.example.com:2525\"\n[mail]\nport = 25",
            "names port 2525 and `mail.port` says 25",
        ),
    ] {
        let e = err("c.toml", text);
        assert!(e.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn a_missing_secret_names_the_variable_and_the_key() {
    let e = format!(
        "{:#}",
        secret("REDDALERT_TEST_SURELY_UNSET_VARIABLE", "mail.password_env").unwrap_err()
    );
    assert!(
        e.contains("REDDALERT_TEST_SURELY_UNSET_VARIABLE") && e.contains("mail.password_env"),
        "{e}"
    );
}

fn etc(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../etc")
        .join(name)
}

#[test]
fn the_shipped_templates_set_every_output() {
    // Every output listed, as `-o` would: each template has the settings of each.
    let every = Overrides {
        output: Some(OutputKind::ALL.to_vec()),
        ..Overrides::default()
    };
    let toml = Config::load(&etc("reddalert.example.toml"), &every).unwrap();
    let json = Config::load(&etc("configfile_template.json"), &every).unwrap();
    for config in [&toml, &json] {
        assert_eq!(config.output_kinds(), OutputKind::ALL);
        let (mail, es) = (listed!(config, Mail), listed!(config, Elasticsearch));
        assert_eq!(mail.host, "localhost");
        assert_eq!(mail.to, vec!["root@localhost"]);
        assert_eq!(mail.subject, "[reddalert] Report");
        assert_eq!(es.url, "http://localhost:9200");
        assert_eq!(es.index, "reddalert");
        assert_eq!(
            listed!(config, Jsonl).path,
            std::path::PathBuf::from("/var/log/reddalert/alerts.jsonl")
        );
        assert_eq!(
            listed!(config, Webhook).url,
            WebhookUrl::Env("REDDALERT_WEBHOOK_URL".into())
        );
        assert_eq!(
            listed!(config, Ocsf).path,
            std::path::PathBuf::from("/var/log/reddalert/findings.ocsf.jsonl")
        );
        assert_eq!(config.waiting, DEFAULT_WAITING_BOUNDS);
    }
}

#[test]
fn ocsf_takes_a_path_beside_the_config_and_severities_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "output = [\"ocsf\"]\n[ocsf]\npath = \"findings.jsonl\"\n\
         severity = { secgroups = \"critical\", newtag = \"Low\", my_rule = \"informational\" }\n",
    )
    .unwrap();
    let config = Config::load(&path, &Overrides::default()).unwrap();
    assert_eq!(config.output_kinds(), vec![OutputKind::Ocsf]);
    let ocsf = listed!(config, Ocsf).clone();
    assert_eq!(ocsf.path, dir.path().join("findings.jsonl"));
    assert_eq!(
        ocsf.severity.into_iter().collect::<Vec<_>>(),
        vec![
            ("my_rule".to_owned(), Severity::Informational),
            ("newtag".to_owned(), Severity::Low),
            ("secgroups".to_owned(), Severity::Critical),
        ]
    );
}

#[test]
fn an_unknown_severity_names_the_key_the_value_and_the_choices() {
    let toml = err(
        "c.toml",
        "[ocsf]\npath = \"f\"\nseverity = { secgroups = \"urgent\" }",
    );
    let json = err(
        "c.json",
        r#"{"ocsf": {"path": "f", "severity": {"secgroups": "urgent"}}}"#,
    );
    for e in [toml, json] {
        assert!(
            e.contains(
                "invalid key `ocsf.severity.secgroups`: \"urgent\" is not a severity; use one \
                 of informational, low, medium, high, critical"
            ),
            "{e}"
        );
    }
}

#[test]
fn metrics_take_a_textfile_beside_the_config_and_a_pushgateway() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[metrics]\ntextfile = \"textfile/reddalert.prom\"\n\
         pushgateway = \"http://pushgateway:9091/\"\ninstance = \"web-1\"\ntimeout_seconds = 2.5\n",
    )
    .unwrap();
    let metrics = Config::load(&path, &Overrides::default())
        .unwrap()
        .metrics
        .unwrap();
    assert_eq!(
        metrics.textfile,
        Some(dir.path().join("textfile/reddalert.prom"))
    );
    assert_eq!(
        metrics.pushgateway,
        Some(Pushgateway {
            url: "http://pushgateway:9091".into(),
            instance: Some("web-1".into()),
            timeout: std::time::Duration::from_millis(2500),
        })
    );
    let none = load("c.toml", "").unwrap();
    assert!(none.metrics.is_none());
    let json = load("c.json", r#"{"metrics": {"pushgateway": "https://pg"}}"#).unwrap();
    let pushed = json.metrics.unwrap();
    assert_eq!(pushed.textfile, None);
    assert_eq!(
        pushed.pushgateway.unwrap().timeout,
        std::time::Duration::from_secs(10)
    );
}

#[test]
fn metrics_mistakes_are_named() {
    for (text, needle) in [
        (
            "[metrics]",
            "invalid key `metrics`: set `textfile` (a file for node_exporter's textfile \
             collector), `pushgateway` (a Pushgateway URL), or both",
        ),
        ("[metrics]\ntextfile = \"\"", "`metrics.textfile`: empty"),
        (
            "[metrics]\npushgateway = \"pg:9091\"",
            "`metrics.pushgateway`: \"pg:9091\" is not an http(s) URL",
        ),
        (
            "[metrics]\npushgateway = \"http://pg:9091/metrics/job/x\"",
            "give the base URL",
        ),
        (
            "[metrics]\ntextfile = \"m.prom\"\ninstance = \"a\"",
            "`metrics.instance`: it is a Pushgateway setting and `metrics.pushgateway` is not set",
        ),
        (
            "[metrics]\npushgateway = \"http://pg\"\ninstance = \"\"",
            "`metrics.instance`: empty",
        ),
        (
            "[metrics]\npushgateway = \"http://pg\"\ntimeout_seconds = 0",
            "`metrics.timeout_seconds`: 0 is outside its range",
        ),
        ("[metrics]\ntextfle = \"m.prom\"", "textfle"),
    ] {
        let e = err("c.toml", text);
        assert!(e.contains(needle), "{text:?}: {e}");
    }
}
