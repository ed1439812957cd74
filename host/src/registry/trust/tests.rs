use std::path::PathBuf;

use base64::Engine as _;

use super::*;
use crate::config::{RegistrySettings, TrustSettings};
use crate::registry::artifact::{World, module_artifact, sha256_digest};
use crate::registry::keys::SigningKey;

const MODULE: &[u8] = b"\0asm a module's bytes";

/// A lock entry for MODULE, its manifest signed by `signers`.
fn entry(signers: &[&SigningKey]) -> LockEntry {
    let (manifest, _) = module_artifact(
        MODULE,
        "elbs.wasm",
        &World::default(),
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let digest = sha256_digest(&manifest);
    LockEntry {
        reference: "127.0.0.1:5000/acme/elbs:1.0".into(),
        manifest_digest: digest.clone(),
        module_sha256: sha256_hex(MODULE),
        manifest: base64::engine::general_purpose::STANDARD.encode(&manifest),
        signatures: signers
            .iter()
            .map(|k| cosign::sign(k, "127.0.0.1:5000/acme/elbs", &digest).unwrap())
            .collect(),
        pulled_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// A trust over `entry` as `elbs`, with `keys` configured by name (files in `dir`).
fn trust(
    dir: &std::path::Path,
    level: TrustLevel,
    min_signers: usize,
    keys: &[(&str, &SigningKey)],
    entry: Option<LockEntry>,
    pins: &[(&str, &str)],
) -> Trust {
    let mut paths = BTreeMap::new();
    for (name, key) in keys {
        let path = dir.join(format!("{name}.pub"));
        std::fs::write(&path, key.public_key().to_pem()).unwrap();
        paths.insert(name.to_string(), path);
    }
    let lock_file = dir.join("reddalert.lock");
    let mut lock = Lockfile {
        version: crate::registry::lock::LOCK_VERSION,
        ..Lockfile::default()
    };
    if let Some(entry) = entry {
        lock.rules.insert("elbs".into(), entry);
    }
    lock.save(&lock_file).unwrap();
    let config = RegistryConfig {
        trust: TrustSettings {
            require: level,
            min_signers,
            keys: paths,
        },
        registry: RegistrySettings {
            insecure: Vec::new(),
            ca_file: None,
            auth: BTreeMap::new(),
            docker_config: None,
            max_module_bytes: 1 << 20,
            timeout: std::time::Duration::from_secs(1),
        },
        sources: BTreeMap::new(),
        lock_file,
    };
    let pins = pins
        .iter()
        .map(|(n, h)| (n.to_string(), h.to_string()))
        .collect();
    Trust::load(&config, &pins).unwrap()
}

fn elbs() -> PathBuf {
    PathBuf::from("/rules/elbs.wasm")
}

#[test]
fn a_locked_module_signed_by_a_configured_key_is_admitted_with_its_signers() {
    let dir = tempfile::tempdir().unwrap();
    let acme = SigningKey::generate();
    let t = trust(
        dir.path(),
        TrustLevel::Signed,
        1,
        &[("acme", &acme)],
        Some(entry(&[&acme])),
        &[],
    );
    match t.admit(&elbs(), MODULE) {
        Ok(Admission::Locked { name, provenance }) => {
            assert_eq!(name, "elbs");
            assert_eq!(provenance.signers, ["acme"]);
            assert_eq!(provenance.reference, "127.0.0.1:5000/acme/elbs:1.0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_module_edited_after_the_pull_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let acme = SigningKey::generate();
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("acme", &acme)],
        Some(entry(&[&acme])),
        &[],
    );
    let refusal = t.admit(&elbs(), b"\0asm edited").unwrap_err();
    assert_eq!(refusal.name.as_deref(), Some("elbs"));
    assert!(
        refusal.reason.contains("changed after the pull"),
        "{}",
        refusal.reason
    );
}

#[test]
fn a_key_removed_from_the_config_refuses_what_only_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let acme = SigningKey::generate();
    let other = SigningKey::generate();
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("other", &other)],
        Some(entry(&[&acme])),
        &[],
    );
    let refusal = t.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("no configured key verifies it"),
        "{}",
        refusal.reason
    );
    let none = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[],
        Some(entry(&[&acme])),
        &[],
    );
    let refusal = none.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("none is configured"),
        "{}",
        refusal.reason
    );
}

#[test]
fn signers_are_distinct_keys_so_one_key_listed_twice_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = SigningKey::generate();
    let b = SigningKey::generate();
    let both = trust(
        dir.path(),
        TrustLevel::Signed,
        2,
        &[("a", &a), ("b", &b)],
        Some(entry(&[&a, &b])),
        &[],
    );
    match both.admit(&elbs(), MODULE) {
        Ok(Admission::Locked { provenance, .. }) => assert_eq!(provenance.signers, ["a", "b"]),
        other => panic!("{other:?}"),
    }
    let twice = trust(
        dir.path(),
        TrustLevel::Signed,
        2,
        &[("a", &a), ("again", &a)],
        Some(entry(&[&a, &a])),
        &[],
    );
    let refusal = twice.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal
            .reason
            .contains("signed by 1 of the configured keys (a=again)"),
        "{}",
        refusal.reason
    );
}

#[test]
fn a_lock_whose_manifest_or_digest_was_edited_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let acme = SigningKey::generate();
    let mut edited = entry(&[&acme]);
    edited.manifest = base64::engine::general_purpose::STANDARD.encode(b"{}");
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("acme", &acme)],
        Some(edited),
        &[],
    );
    let refusal = t.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("not to the locked digest"),
        "{}",
        refusal.reason
    );

    // A signature over another digest does not count, even by a configured key.
    let mut other = entry(&[]);
    other.signatures = vec![cosign::sign(&acme, "r", &sha256_digest(b"another")).unwrap()];
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("acme", &acme)],
        Some(other),
        &[],
    );
    let refusal = t.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("another manifest"),
        "{}",
        refusal.reason
    );
}

#[test]
fn a_pin_that_disagrees_with_the_lock_refuses_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let acme = SigningKey::generate();
    let wrong = "ab".repeat(32);
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("acme", &acme)],
        Some(entry(&[&acme])),
        &[("elbs", &wrong)],
    );
    let refusal = t.admit(&elbs(), MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("remove `pin.elbs`"),
        "{}",
        refusal.reason
    );
    let same = sha256_hex(MODULE);
    let t = trust(
        dir.path(),
        TrustLevel::Off,
        1,
        &[("acme", &acme)],
        Some(entry(&[&acme])),
        &[("elbs", &same)],
    );
    assert!(t.admit(&elbs(), MODULE).is_ok());
}

#[test]
fn modules_without_a_lock_entry_follow_the_required_level() {
    let dir = tempfile::tempdir().unwrap();
    let other = PathBuf::from("/rules/dropped.wasm");
    let off = trust(dir.path(), TrustLevel::Off, 1, &[], None, &[]);
    assert_eq!(off.admit(&other, MODULE), Ok(Admission::Unchecked));
    let hash = sha256_hex(MODULE);
    let pinned = trust(
        dir.path(),
        TrustLevel::Pinned,
        1,
        &[],
        None,
        &[("dropped", &hash)],
    );
    assert_eq!(pinned.admit(&other, MODULE), Ok(Admission::Pinned));
    let refusal = pinned.admit(&other, b"\0asm unpinned").unwrap_err();
    assert_eq!(refusal.name, None);
    assert!(
        refusal.reason.contains("neither a pin nor a lock entry"),
        "{}",
        refusal.reason
    );
    let signed = trust(
        dir.path(),
        TrustLevel::Signed,
        1,
        &[],
        None,
        &[("dropped", &hash)],
    );
    let refusal = signed.admit(&other, MODULE).unwrap_err();
    assert!(
        refusal.reason.contains("has no lock entry"),
        "{}",
        refusal.reason
    );
}
