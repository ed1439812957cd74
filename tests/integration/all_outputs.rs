//! End to end through the binary with every output on at once, from the TOML config and from
//! the original's JSON config with its own key names.

use std::time::Duration;

use reddalert_testkit::elasticsearch::FakeElasticsearch;
use reddalert_testkit::guests;
use reddalert_testkit::smtp::FakeSmtp;
use reddalert_testkit::webhook::FakeWebhook;

use crate::support::*;

#[test]
fn every_output_gets_every_alert_in_one_run() {
    let edda = basic_edda();
    let smtp = FakeSmtp::plain();
    let es = FakeElasticsearch::start();
    let hook = FakeWebhook::start();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {}\n[elasticsearch]\nurl = \"{}\"\n\
             [jsonl]\npath = \"alerts.jsonl\"\n[webhook]\nurl = \"{}\"\n",
            smtp.port(),
            es.url(),
            hook.url()
        ),
    );
    env.edit_config(
        "output = [\"stdout_json\"]",
        "output = [\"stdout\", \"stdout_tabsep\", \"stdout_json\", \"mail\", \"elasticsearch\", \"jsonl\", \"webhook\"]",
    );
    let a = alerting();
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);

    let json_lines = run.stdout.lines().filter(|l| l.starts_with('{')).count();
    let raised = json_lines;
    assert!(raised >= 2, "{}", run.stdout);
    assert_eq!(run.stdout.matches("Rule: ").count(), raised);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.split('\t').count() == 3)
            .count(),
        raised
    );
    let mails = smtp.wait_for(1, Duration::from_secs(5));
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]
            .parse()
            .subject
            .starts_with(&format!("[reddalert] Report: {raised} alerts")),
        "{:?}",
        mails[0].parse().subject
    );
    assert_eq!(es.documents().len(), raised);
    let jsonl = std::fs::read_to_string(env.path("alerts.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), raised);
    assert_eq!(hook.delivered()[0]["count"], raised);
    assert!(env.status_json().get("pending").is_none());
}

#[test]
fn the_original_json_config_drives_mail_and_elasticsearch() {
    let edda = basic_edda();
    let smtp = FakeSmtp::plain();
    let es = FakeElasticsearch::start();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let config = env.path("configfile.json");
    let text = serde_json::json!({
        "edda": edda.base_url(),
        "output": "stdout_json,mail_txt,mail_html,elasticsearch",
        "rules_dir": "rules",
        "cache_dir": shared_module_cache(),
        "email_from": "reddalert@example.com",
        "email_to": ["root@example.com"],
        "email_subject": "[sec] Report",
        "smtp_host": "127.0.0.1",
        "mail": {"port": smtp.port()},
        "es_host": "127.0.0.1",
        "es_port": es.port(),
        "plugin.elbs": {"allowed_ports": [80, 443]}
    });
    std::fs::write(&config, text.to_string()).unwrap();
    let mut a = vec![
        "--configfile".to_owned(),
        path_str(&config).to_owned(),
        "--statusfile".to_owned(),
        path_str(&env.status).to_owned(),
    ];
    a.extend(window(T2, T4));
    let run = run_binary(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let raised = run.alerts().len();
    assert!(raised >= 1, "{}", run.stdout);
    let mails = smtp.wait_for(1, Duration::from_secs(5));
    assert_eq!(mails.len(), 1, "mail_txt and mail_html are one digest");
    let mail = mails[0].parse();
    assert!(
        mail.subject.starts_with("[sec] Report: "),
        "{}",
        mail.subject
    );
    assert_eq!(mail.from, vec!["reddalert@example.com"]);
    assert_eq!(mail.to, vec!["root@example.com"]);
    assert_eq!(es.documents().len(), raised);
}
