//! The mail digest against a real SMTP server on loopback (mailin-embedded): the message
//! arrives with the right headers and both parts, AUTH over STARTTLS works with the password
//! from the environment, and a relay that is down makes the alerts wait for the next run,
//! which delivers them exactly once.

use std::time::Duration;

use reddalert_testkit::guests;
use reddalert_testkit::http::closed_port;
use reddalert_testkit::smtp::FakeSmtp;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn the_digest_arrives_with_both_parts_over_starttls_with_auth() {
    let edda = basic_edda();
    let smtp = FakeSmtp::with_starttls_auth("reddalert", "s3cret pass");
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nca_file = {:?}\n\
             from = \"reddalert@example.com\"\nto = [\"sec@example.com\", \"ops@example.com\"]\n\
             username = \"reddalert\"\npassword_env = \"REDDALERT_TEST_SMTP_PASSWORD\"\n",
            smtp.port(),
            path_str(smtp.ca_file())
        ),
    );
    let a = args(&alerting(), &["-o", "mail,stdout_json"]);
    let run = env.run_with_env(
        &strs(&a),
        &[("REDDALERT_TEST_SMTP_PASSWORD", "s3cret pass")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let alerts = run.alerts();
    assert!(alerts.len() >= 2, "{}", run.stdout);

    let messages = smtp.wait_for(1, WAIT);
    assert_eq!(messages.len(), 1, "one digest per run");
    let received = &messages[0];
    assert_eq!(
        received.auth,
        Some(("reddalert".into(), "s3cret pass".into())),
        "AUTH after STARTTLS"
    );
    assert_eq!(received.to.len(), 2);
    let mail = received.parse();
    assert_eq!(mail.from, vec!["reddalert@example.com"]);
    assert_eq!(mail.to, vec!["sec@example.com", "ops@example.com"]);
    assert!(mail.date.is_some());
    let secgroups = run.alerts_of("secgroups").len();
    let elbs = run.alerts_of("elbs").len();
    assert_eq!(
        mail.subject,
        format!(
            "[reddalert] Report: {} alerts: elbs ({elbs}), secgroups ({secgroups})",
            alerts.len()
        )
    );
    assert_eq!(
        mail.content_types,
        vec!["multipart/alternative", "text/plain", "text/html"]
    );
    assert!(
        mail.text.contains("== secgroups:") && mail.text.contains("Subject: sg-0a1b2c3d (web)"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("\"toPort\":65535"), "{}", mail.text);
    assert_eq!(mail.html.matches("<table").count(), 2, "{}", mail.html);
    assert!(mail.html.contains("<h2>secgroups</h2>"), "{}", mail.html);
    assert!(
        mail.html.contains("&quot;toPort&quot;: 65535"),
        "details escaped: {}",
        mail.html
    );
    assert!(env.status_json().get("pending").is_none());
}

#[test]
fn a_missing_password_variable_is_a_clear_error_before_anything_runs() {
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        "[mail]\ntls = \"starttls\"\nusername = \"u\"\npassword_env = \"REDDALERT_TEST_UNSET_PASSWORD\"\n",
    );
    let a = args(&alerting(), &["-o", "mail"]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "environment variable REDDALERT_TEST_UNSET_PASSWORD (named by `mail.password_env`) is not set"
        ),
        "{}",
        run.stderr
    );
    assert!(!env.status.exists(), "nothing ran, nothing saved");
    assert!(edda.requests().is_empty());
}

#[test]
fn a_relay_that_is_down_makes_alerts_wait_and_the_next_run_mails_them_once() {
    let edda = basic_edda();
    let down = closed_port();
    let env = Env::new(
        &edda.base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {down}\ntimeout_seconds = 5\nsend_empty = false\n"
        ),
    );
    let a = args(&alerting(), &["-o", "stdout_json,mail"]);
    let first = env.run(&strs(&a));
    assert_eq!(first.code, 1, "{}", first.stderr);
    let raised = first.alerts().len();
    assert!(raised >= 2, "stdout still got them: {}", first.stdout);
    assert!(
        first.stderr.contains(&format!(
            "some deliveries failed: {raised} alerts wait in the status file"
        )),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("failed to send the digest mail"),
        "{}",
        first.stderr
    );
    let pending = env.status_json()["pending"].as_array().cloned().unwrap();
    assert_eq!(pending.len(), raised);
    assert!(
        pending
            .iter()
            .all(|p| p["outputs"] == serde_json::json!(["mail"]))
    );

    let smtp = FakeSmtp::plain();
    env.edit_config(
        &format!("port = {down}"),
        &format!("port = {}", smtp.port()),
    );
    let q = args(&quiet(), &["-o", "stdout_json,mail"]);
    let second = env.run(&strs(&q));
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, "", "stdout already had them");
    let messages = smtp.wait_for(1, WAIT);
    assert_eq!(messages.len(), 1);
    let mail = messages[0].parse();
    assert!(
        mail.subject
            .starts_with(&format!("[reddalert] Report: {raised} alerts:")),
        "{}",
        mail.subject
    );
    assert_eq!(
        mail.text.matches("its delivery was delayed").count(),
        raised
    );
    assert!(env.status_json().get("pending").is_none());

    // Nothing waits and nothing is raised: no mail, unless asked for one.
    let third = env.run(&strs(&q));
    assert_eq!(third.code, 0, "{}", third.stderr);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.messages().len(), 1, "exactly once");
    env.edit_config("send_empty = false", "send_empty = true");
    let fourth = env.run(&strs(&q));
    assert_eq!(fourth.code, 0, "{}", fourth.stderr);
    let messages = smtp.wait_for(2, WAIT);
    assert_eq!(messages[1].parse().subject, "[reddalert] Report: no alerts");
}

#[test]
fn the_digest_arrives_over_implicit_tls() {
    let edda = basic_edda();
    let smtp = FakeSmtp::with_implicit_tls();
    let env = Env::new(
        &edda.base_url(),
        &[guests::ELBS],
        &format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nca_file = {:?}\n\
             from = \"reddalert@example.com\"\nto = [\"sec@example.com\"]\n",
            smtp.port(),
            path_str(smtp.ca_file())
        ),
    );
    let a = args(&alerting(), &["-o", "mail,stdout_json"]);
    let run = env.run(&strs(&a));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let messages = smtp.wait_for(1, WAIT);
    assert_eq!(messages.len(), 1, "one digest over SMTPS");
    let mail = messages[0].parse();
    assert_eq!(mail.to, vec!["sec@example.com"]);
    assert!(mail.subject.contains("elbs"), "{}", mail.subject);
}
