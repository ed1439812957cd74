//! Every run verifies its pulled rules offline, against `reddalert.lock` and the keys
//! configured now: a module edited after the pull, one whose only signer's key left the
//! config, an unsigned module dropped in under `require = "signed"`, one with neither pin nor
//! lock under `"pinned"`, and a pin that disagrees with the lock are each refused alone (not
//! run, state and window kept, exit 1, named on stderr, in `reddalert rules` and in the
//! metrics) while every other rule runs. `pull --locked` fetches exactly the locked digest.

use reddalert_testkit::guests;
use reddalert_testkit::prometheus;
use reddalert_testkit::registry::{Auth, DockerRegistry};
use serde_json::Value;

use crate::registry_support::*;
use crate::support::*;

/// elbs signed by acme and secgroups signed by bob, both pulled, with metrics on.
fn pulled_pair(require: &str) -> (Setup, reddalert_testkit::edda::FakeEdda) {
    let edda = basic_edda();
    let setup = Setup::new(
        DockerRegistry::start(Auth::Anonymous),
        &edda.base_url(),
        &[],
        &format!(
            "store-until = true\n[metrics]\ntextfile = \"reddalert.prom\"\n[trust]\nrequire = \"{require}\"\n[trust.keys]\nacme = \"acme.pub\"\nbob = \"bob.pub\"\n[source]\nelbs = \"{{host}}/acme/elbs:1.0\"\nsecgroups = \"{{host}}/acme/secgroups:1.0\"\n"
        ),
    );
    setup.push(guests::ELBS, "elbs:1.0", Some("acme"));
    setup.push(guests::SECGROUPS, "secgroups:1.0", Some("bob"));
    let pulled = setup.pull(&[]);
    assert_eq!(pulled.code, 0, "{}\n{}", pulled.stdout, pulled.stderr);
    (setup, edda)
}

/// Runs over the alerting window and asserts elbs was refused alone with `reason`, by name
/// on stderr, in the status file (state and window kept), the listing and the metrics.
fn assert_refused_alone(setup: &Setup, reason: &str) {
    let before = setup.env.status_json();
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("refused") && l.contains("elbs"))
        .unwrap_or_else(|| panic!("elbs not refused:\n{}", run.stderr));
    assert!(line.contains(reason), "expected {reason:?}: {line}");
    assert!(run.alerts_of("elbs").is_empty(), "{}", run.stdout);
    assert!(
        !run.alerts_of("secgroups").is_empty(),
        "the other rule runs: {}",
        run.stdout
    );
    let status = setup.env.status_json();
    let elbs = &status["rules"]["elbs"];
    assert_eq!(elbs["consecutive_failures"], 1, "{status}");
    assert!(
        elbs["last_error"].as_str().unwrap().contains(reason),
        "{status}"
    );
    assert_eq!(
        elbs["state"], before["rules"]["elbs"]["state"],
        "its state is kept"
    );
    assert_eq!(
        elbs["since"], before["rules"]["elbs"]["since"],
        "its window is kept"
    );
    assert!(status["rules"]["secgroups"]["last_success"].is_u64());

    let listing = setup.env.run(&["rules", "--json"]);
    let doc: Value = serde_json::from_str(&listing.stdout).unwrap();
    let refused = doc["refused"].as_array().unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r["name"] == "elbs" && r["reason"].as_str().unwrap().contains(reason)),
        "{doc}"
    );
    let metrics =
        prometheus::parse(&std::fs::read_to_string(setup.env.path("reddalert.prom")).unwrap());
    let value = |name: &str, labels: &[(&str, &str)]| {
        metrics
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.value(labels))
    };
    assert_eq!(
        value("reddalert_failures", &[("kind", "refused")]),
        Some(1.0),
        "{metrics:#?}"
    );
    assert_eq!(
        value("reddalert_rule_failed", &[("rule", "elbs")]),
        Some(1.0)
    );
    assert_eq!(
        value("reddalert_rule_failed", &[("rule", "secgroups")]),
        Some(0.0)
    );
}

#[test]
fn a_module_edited_on_disk_after_the_pull_is_refused_alone() {
    let (setup, _edda) = pulled_pair("signed");
    let first = setup.env.run(&strs(&window(T0, T1)));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let path = setup.env.rules.join("elbs.wasm");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0, 2, 1, b'x', 0]);
    std::fs::write(&path, bytes).unwrap();
    assert_refused_alone(&setup, "the file changed after the pull");
}

#[test]
fn a_key_removed_from_the_config_refuses_the_rules_only_it_signed() {
    let (setup, _edda) = pulled_pair("off");
    let first = setup.env.run(&strs(&window(T0, T1)));
    assert_eq!(first.code, 0, "{}", first.stderr);
    setup.env.edit_config("acme = \"acme.pub\"\n", "");
    assert_refused_alone(&setup, "no configured key verifies it");
}

#[test]
fn an_unsigned_module_dropped_in_under_signed_is_refused_alone() {
    let (setup, _edda) = pulled_pair("signed");
    std::fs::copy(guests::AMI, setup.env.rules.join("dropped.wasm")).unwrap();
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("refused") && l.contains("dropped.wasm"))
        .unwrap_or_else(|| panic!("not refused:\n{}", run.stderr));
    assert!(line.contains("has no lock entry"), "{line}");
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    assert!(
        setup.env.status_json()["rules"].get("ami").is_none(),
        "it never ran"
    );
    let listing = setup.env.run(&["rules"]);
    assert!(
        listing.stdout.contains("(refused)") && listing.stdout.contains("dropped.wasm"),
        "{}",
        listing.stdout
    );
}

#[test]
fn under_pinned_a_module_needs_a_pin_or_a_lock_and_a_pin_must_agree_with_the_lock() {
    let (setup, _edda) = pulled_pair("pinned");
    std::fs::copy(guests::AMI, setup.env.rules.join("ami.wasm")).unwrap();
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("has neither a pin nor a lock entry"),
        "{}",
        run.stderr
    );
    assert_eq!(run.alerts_of("elbs").len(), 1);

    let ami = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(guests::AMI).unwrap(),
    ));
    setup.env.edit_config(
        "[trust]\n",
        &format!(
            "[pin]\nami = \"{ami}\"\nelbs = \"{}\"\n[trust]\n",
            "ab".repeat(32)
        ),
    );
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        !run.stderr.contains("has neither a pin"),
        "ami is pinned now: {}",
        run.stderr
    );
    assert!(run.stderr.contains("remove `pin.elbs`"), "{}", run.stderr);
    assert!(run.alerts_of("elbs").is_empty());
    assert!(setup.env.status_json()["rules"]["ami"]["last_success"].is_u64());
}

#[test]
fn pull_locked_fetches_exactly_the_locked_digest() {
    let (setup, _edda) = pulled_pair("signed");
    let locked = setup.installed("elbs");
    // The tag moves to another signed module; --locked keeps to the lock.
    let moved = setup.env.path("elbs-moved.wasm");
    std::fs::write(
        &moved,
        reddalert_testkit::registry::with_custom_section(
            &std::fs::read(guests::ELBS).unwrap(),
            100,
        ),
    )
    .unwrap();
    let new = setup.push(path_str(&moved), "elbs:1.0", Some("acme"));
    std::fs::remove_file(setup.env.rules.join("elbs.wasm")).unwrap();
    let run = setup.pull(&["--locked"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        setup.installed("elbs").0,
        locked.0,
        "the locked module, not the tag's"
    );
    assert_eq!(
        setup.installed("elbs").1["manifest_digest"],
        locked.1["manifest_digest"]
    );
    // Without --locked the tag's new manifest is pulled.
    let run = setup.pull(&["elbs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(setup.installed("elbs").1["manifest_digest"], new);
}
