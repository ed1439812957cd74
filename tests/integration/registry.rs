//! Rules from an OCI registry, against Debian's real `docker-registry` on loopback: an author
//! pushes and signs with reddalert (the signature checks out with `openssl dgst -verify`, and
//! PyPI's `oras` reads the artifact back), an operator pulls and runs it; an artifact pushed by
//! `oras` (in the CNCF layout and in Kubewarden's) and signed by `openssl` is pulled and run;
//! every pull that does not verify fails naming the rule, the reference and the reason, and
//! leaves the installed module and its lock entry as they were.

use base64::Engine as _;
use reddalert_testkit::guests;
use reddalert_testkit::registry::{
    Auth, DockerRegistry, cosign_payload, openssl_sign, openssl_verify, oras, with_custom_section,
};
use serde_json::{Value, json};

use crate::registry_support::*;
use crate::support::*;

const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const ANNOTATION: &str = "dev.cosignproject.cosign/signature";

#[test]
fn a_rule_pushed_and_signed_by_reddalert_is_pulled_verified_and_run() {
    let edda = basic_edda();
    let setup = Setup::new(
        DockerRegistry::start(Auth::Anonymous),
        &edda.base_url(),
        &[],
        "[trust]\nrequire = \"signed\"\n[trust.keys]\nacme = \"acme.pub\"\n[source]\nelbs = \"{host}/acme/elbs:1.0\"\n",
    );
    let digest = setup.push(guests::ELBS, "elbs:1.0", Some("acme"));

    let pulled = setup.pull(&[]);
    assert_eq!(pulled.code, 0, "{}\n{}", pulled.stdout, pulled.stderr);
    assert!(
        pulled.stdout.contains("signed by acme") && pulled.stdout.contains(&digest),
        "{}",
        pulled.stdout
    );
    let (module, entry) = setup.installed("elbs");
    assert_eq!(module.unwrap(), std::fs::read(guests::ELBS).unwrap());
    assert_eq!(entry["manifest_digest"], digest);
    assert_eq!(entry["reference"], setup.reference("elbs:1.0"));

    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    let listed = setup.listed("elbs");
    assert_eq!(listed["source"]["reference"], setup.reference("elbs:1.0"));
    assert_eq!(listed["source"]["manifest_digest"], digest);
    assert_eq!(listed["source"]["signers"], json!(["acme"]));
    let text = setup.env.run(&["rules"]);
    assert!(text.stdout.contains("signed by  acme"), "{}", text.stdout);

    // The signature reddalert wrote is cosign's format and checks out with openssl.
    let (sig_manifest, _) = setup.manifest("elbs", &format!("sha256-{}.sig", hex_of(&digest)));
    let sig_manifest: Value = serde_json::from_slice(&sig_manifest).unwrap();
    let layer = &sig_manifest["layers"][0];
    assert_eq!(layer["mediaType"], SIMPLESIGNING);
    let payload = setup.blob("elbs", layer["digest"].as_str().unwrap());
    let payload_doc: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload_doc["critical"]["image"]["docker-manifest-digest"],
        digest
    );
    assert_eq!(
        payload_doc["critical"]["type"],
        "cosign container image signature"
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(layer["annotations"][ANNOTATION].as_str().unwrap())
        .unwrap();
    let acme_pub = setup.env.path("acme.pub");
    let (ok, said) = openssl_verify(&acme_pub, &payload, &signature);
    assert!(ok && said.contains("Verified OK"), "{said}");
    let (ok, _) = openssl_verify(&acme_pub, &[payload.as_slice(), b" "].concat(), &signature);
    assert!(!ok, "openssl must refuse the signature over other bytes");

    // An independent client reads back what reddalert pushed.
    let manifest = oras::manifest(&setup.host(), &setup.reference("elbs:1.0"));
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    let out = tempfile::tempdir().unwrap();
    let files = oras::pull(&setup.host(), &setup.reference("elbs:1.0"), out.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        std::fs::read(&files[0]).unwrap(),
        std::fs::read(guests::ELBS).unwrap()
    );
}

/// Pushes `module` with oras in the given layout, then a cosign signature of its manifest made
/// by openssl with `key`, also pushed by oras; returns the manifest digest.
fn oras_push_signed(
    setup: &Setup,
    module: &str,
    repo_tag: &str,
    layout: (&str, &str),
    key: &std::path::Path,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.wasm", repo_tag.split(':').next().unwrap());
    std::fs::copy(module, dir.path().join(&name)).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"architecture":"wasm","os":"wasip2"}"#,
    )
    .unwrap();
    let (config_type, layer_type) = layout;
    let target = setup.reference(repo_tag);
    oras::push(
        &setup.host(),
        &target,
        dir.path(),
        &[(&name, layer_type)],
        ("config.json", config_type),
        None,
    );
    let digest = setup.digest_of(repo_tag);

    let repo = repo_tag.split(':').next().unwrap();
    let payload = cosign_payload(&format!("mirror.example.com/acme/{repo}"), &digest);
    let signature = openssl_sign(key, &payload);
    std::fs::write(dir.path().join("payload.json"), &payload).unwrap();
    std::fs::write(dir.path().join("sig-config.json"), "{}").unwrap();
    let annotations = json!({"payload.json": {ANNOTATION: base64::engine::general_purpose::STANDARD.encode(signature)}});
    let sig_target = setup.reference(&format!("{repo}:sha256-{}.sig", hex_of(&digest)));
    oras::push(
        &setup.host(),
        &sig_target,
        dir.path(),
        &[("payload.json", SIMPLESIGNING)],
        (
            "sig-config.json",
            "application/vnd.oci.image.config.v1+json",
        ),
        Some(annotations),
    );
    digest
}

#[test]
fn artifacts_pushed_by_oras_and_signed_by_openssl_are_pulled_and_run() {
    let edda = basic_edda();
    let setup = Setup::new(
        DockerRegistry::start(Auth::Anonymous),
        &edda.base_url(),
        &[],
        "[trust]\nrequire = \"signed\"\n[trust.keys]\nacme = \"acme.pub\"\n[source]\nsecgroups = \"{host}/acme/secgroups:2.0\"\nelbs = \"{host}/acme/elbs:2.0\"\n",
    );
    let (acme, _) = key(&setup.env, "acme");
    let cncf = ("application/vnd.wasm.config.v0+json", "application/wasm");
    let kubewarden = (
        "application/vnd.wasm.config.v1+json",
        "application/vnd.wasm.content.layer.v1+wasm",
    );
    let secgroups = oras_push_signed(&setup, guests::SECGROUPS, "secgroups:2.0", cncf, &acme);
    let elbs = oras_push_signed(&setup, guests::ELBS, "elbs:2.0", kubewarden, &acme);

    let pulled = setup.pull(&[]);
    assert_eq!(pulled.code, 0, "{}\n{}", pulled.stdout, pulled.stderr);
    assert_eq!(setup.installed("secgroups").1["manifest_digest"], secgroups);
    assert_eq!(setup.installed("elbs").1["manifest_digest"], elbs);
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
    assert!(!run.alerts_of("secgroups").is_empty(), "{}", run.stdout);
    assert_eq!(
        setup.listed("secgroups")["source"]["signers"],
        json!(["acme"])
    );
}

/// Asserts a pull failed naming the rule, the reference and `reason`, and left `before`.
fn assert_refused(
    setup: &Setup,
    run: &Run,
    rule: &str,
    reference: &str,
    reason: &str,
    before: &(Option<Vec<u8>>, Value),
) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("pull failed"))
        .unwrap_or_else(|| panic!("no failure in:\n{}", run.stderr));
    assert!(
        line.contains(rule) && line.contains(reference) && line.contains(reason),
        "expected {reason:?}: {line}"
    );
    assert!(
        &setup.installed(rule) == before,
        "the installed module and lock entry changed"
    );
}

#[test]
fn a_pull_that_does_not_verify_fails_alone_and_the_installed_rule_keeps_running() {
    let edda = basic_edda();
    let mut setup = Setup::new(
        DockerRegistry::start(Auth::Anonymous),
        &edda.base_url(),
        &[],
        "[trust]\nrequire = \"signed\"\n[trust.keys]\nacme = \"acme.pub\"\n[source]\nelbs = \"{host}/acme/elbs:1.0\"\n",
    );
    let signed = setup.push(guests::ELBS, "elbs:1.0", Some("acme"));
    assert_eq!(setup.pull(&[]).code, 0);
    let before = setup.installed("elbs");
    let bigger = setup.env.path("elbs-bigger.wasm");
    std::fs::write(
        &bigger,
        with_custom_section(&std::fs::read(guests::ELBS).unwrap(), 1000),
    )
    .unwrap();
    let point = |tag: &str| {
        let text = std::fs::read_to_string(&setup.env.config).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("elbs = "))
            .unwrap()
            .to_owned();
        setup
            .env
            .edit_config(&line, &format!("elbs = \"{}\"", setup.reference(tag)));
    };

    // The tag re-pointed to an unsigned manifest after it was signed.
    setup.push(path_str(&bigger), "elbs:1.0", None);
    let run = setup.pull(&[]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        &setup.reference("elbs:1.0"),
        "it has no signature",
        &before,
    );

    // A signature over another digest: the signed manifest's signatures copied to this one.
    let other = setup.digest_of("elbs:1.0");
    let (sig_manifest, _) = setup.manifest("elbs", &format!("sha256-{}.sig", hex_of(&signed)));
    setup.put_manifest(
        "elbs",
        &format!("sha256-{}.sig", hex_of(&other)),
        &sig_manifest,
    );
    let run = setup.pull(&[]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        &setup.reference("elbs:1.0"),
        "another manifest",
        &before,
    );

    // Signed by a key that is not configured.
    setup.push(path_str(&bigger), "elbs:wrong-key", Some("mallory"));
    point("elbs:wrong-key");
    let run = setup.pull(&[]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:wrong-key",
        "no configured key verifies it",
        &before,
    );

    // Never signed.
    setup.push(guests::ELBS, "elbs:unsigned", None);
    point("elbs:unsigned");
    let run = setup.pull(&["elbs"]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:unsigned",
        "it has no signature",
        &before,
    );

    // A layer over the size limit is refused before it is downloaded.
    let big = setup.env.path("elbs-big.wasm");
    std::fs::write(
        &big,
        with_custom_section(&std::fs::read(guests::ELBS).unwrap(), 1 << 20),
    )
    .unwrap();
    setup.push(path_str(&big), "elbs:big", Some("acme"));
    point("elbs:big");
    setup
        .env
        .edit_config("[registry]\n", "[registry]\nmax_module_mib = 1\n");
    let run = setup.pull(&[]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:big",
        "over the limit of 1 MiB (registry.max_module_mib)",
        &before,
    );

    // A module whose declared name is not the one it is pulled as.
    setup.env.edit_config(
        "[source]\n",
        &format!(
            "[source]\nsecgroups = \"{}\"\n",
            setup.reference("elbs:1.0")
        ),
    );
    setup.push(guests::ELBS, "elbs:named", Some("acme"));
    setup.env.edit_config(
        &format!("secgroups = \"{}\"", setup.reference("elbs:1.0")),
        &format!("secgroups = \"{}\"", setup.reference("elbs:named")),
    );
    let run = setup.pull(&["secgroups"]);
    assert_refused(
        &setup,
        &run,
        "secgroups",
        "elbs:named",
        "declares the rule name \"elbs\", not \"secgroups\"",
        &(None, Value::Null),
    );

    // Plain HTTP is refused unless the host is listed.
    point("elbs:named");
    let listed = format!("insecure = [\"{}\"]", setup.host());
    setup.env.edit_config(&listed, "insecure = []");
    let run = setup.pull(&["elbs"]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:named",
        "must be listed in `registry.insecure`",
        &before,
    );
    setup.env.edit_config("insecure = []", &listed);

    // The registry down during a pull: the installed rule keeps running.
    setup.registry.stop();
    let run = setup.pull(&["elbs"]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:named",
        "failed to resolve the reference",
        &before,
    );
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("elbs").len(), 1, "{}", run.stdout);
}

#[test]
fn two_of_two_signers_are_two_keys_and_one_key_listed_twice_counts_once() {
    let edda = basic_edda();
    let setup = Setup::new(
        DockerRegistry::start(Auth::Anonymous),
        &edda.base_url(),
        &[],
        "[trust]\nrequire = \"signed\"\nmin_signers = 2\n[trust.keys]\nacme = \"acme.pub\"\nbob = \"bob.pub\"\n[source]\nelbs = \"{host}/acme/elbs:1.0\"\n",
    );
    key(&setup.env, "bob");
    let digest = setup.push(guests::ELBS, "elbs:1.0", Some("acme"));
    let run = setup.pull(&[]);
    assert_refused(
        &setup,
        &run,
        "elbs",
        "elbs:1.0",
        "signed by 1 of the configured keys (acme), and trust.min_signers is 2",
        &(None, Value::Null),
    );

    let signed = setup.sign("elbs:1.0", "bob");
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert!(signed.stdout.contains(&digest), "{}", signed.stdout);
    let again = setup.sign("elbs:1.0", "bob");
    assert!(
        again.stdout.contains("signed with this key already"),
        "{}",
        again.stdout
    );
    let run = setup.pull(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        setup.listed("elbs")["source"]["signers"],
        json!(["acme", "bob"])
    );
    assert_eq!(
        setup.installed("elbs").1["signatures"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The same key under two names is one signer.
    setup
        .env
        .edit_config("bob = \"bob.pub\"", "acme-again = \"acme.pub\"");
    let run = setup.env.run(&strs(&run_window()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("signed by 1 of the configured keys (acme=acme-again)"),
        "{}",
        run.stderr
    );
}

#[test]
fn basic_auth_credentials_come_from_the_environment() {
    let edda = basic_edda();
    let registry = DockerRegistry::start(Auth::Basic {
        user: "alice",
        password: "s3cret",
    });
    let host = registry.host();
    let setup = Setup::new(
        registry,
        &edda.base_url(),
        &[],
        &format!(
            "[registry.auth.\"{host}\"]\nusername_env = \"REG_USER\"\npassword_env = \"REG_PASS\"\n[trust.keys]\nacme = \"acme.pub\"\n[source]\nelbs = \"{{host}}/acme/elbs:1.0\"\n"
        ),
    );
    let (pem, _) = key(&setup.env, "acme");
    let creds = [("REG_USER", "alice"), ("REG_PASS", "s3cret")];
    let push = setup.env.run_with_env(
        &[
            "push",
            guests::ELBS,
            &setup.reference("elbs:1.0"),
            "--sign",
            path_str(&pem),
        ],
        &creds,
    );
    assert_eq!(push.code, 0, "{}", push.stderr);
    let pulled = setup.env.run_with_env(&["pull"], &creds);
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert!(setup.installed("elbs").0.is_some());

    let wrong = setup
        .env
        .run_with_env(&["pull"], &[("REG_USER", "alice"), ("REG_PASS", "wrong")]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains(&format!(
            "credentials for {host} come from `[registry.auth.\"{host}\"]`"
        )),
        "{}",
        wrong.stderr
    );
    let unset = setup.pull(&[]);
    assert_eq!(unset.code, 1, "{}", unset.stderr);
    assert!(
        unset.stderr.contains("REG_USER") && unset.stderr.contains("is not set"),
        "{}",
        unset.stderr
    );
}

#[test]
fn the_bearer_token_flow_is_spoken_with_a_token_server() {
    let edda = basic_edda();
    let tokens = reddalert_testkit::registry::TokenServer::start("alice", "s3cret");
    let registry = DockerRegistry::start(Auth::Token(&tokens));
    let host = registry.host();
    let setup = Setup::new(
        registry,
        &edda.base_url(),
        &[],
        &format!(
            "[registry.auth.\"{host}\"]\nusername_env = \"REG_USER\"\npassword_env = \"REG_PASS\"\n[trust.keys]\nacme = \"acme.pub\"\n[source]\nelbs = \"{{host}}/acme/elbs:1.0\"\n"
        ),
    );
    let (pem, _) = key(&setup.env, "acme");
    let creds = [("REG_USER", "alice"), ("REG_PASS", "s3cret")];
    let push = setup.env.run_with_env(
        &[
            "push",
            guests::ELBS,
            &setup.reference("elbs:1.0"),
            "--sign",
            path_str(&pem),
        ],
        &creds,
    );
    assert_eq!(push.code, 0, "{}", push.stderr);
    let pulled = setup.env.run_with_env(&["pull"], &creds);
    assert_eq!(pulled.code, 0, "{}", pulled.stderr);
    assert!(setup.installed("elbs").0.is_some());
    let scopes: Vec<String> = tokens
        .server
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        scopes.iter().any(
            |p| p.contains("scope=repository%3Aacme%2Felbs%3Apull%2Cpush")
                || p.contains("scope=repository:acme/elbs:pull,push")
        ),
        "{scopes:?}"
    );
    assert!(
        scopes.iter().any(|p| p.ends_with("%3Apull")
            || p.contains("elbs:pull&")
            || p.contains("elbs%3Apull&")),
        "{scopes:?}"
    );
    assert!(
        tokens
            .server
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_some())
    );
}
