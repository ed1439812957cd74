//! The release as an operator gets it. `bash etc/dist.sh --image` packages the bundle and the
//! container image (once per test run), and the tests open what it made: the bundle's files
//! and checksums, a binary that names its build, the config that pins the rules (installed by
//! the bundle's own install.sh), and the OCI archive, whose binary runs the demo account
//! through the image's rules exactly as the suite's build does.
//!
//! The packaging is the release's, but of the build the suite already has (`--binary` the
//! suite's reddalert, `--rules` the stock rules `tests/build.rs` built): a static musl release
//! build of the host takes longer than CI can spend, so that build is not made here (it is
//! `bash etc/dist.sh` without those options, docs/installing.md). What only the release build
//! shows, its binary being static, is therefore not checked by the suite; that dist.sh says so
//! of any other binary is.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use reddalert_testkit::guests;

use crate::support::*;

const RULES: [&str; 12] = [
    "ami",
    "elbs",
    "iam",
    "missingtag",
    "newtag",
    "non_chef",
    "route53changed",
    "route53unknown",
    "s3acl",
    "secgroups",
    "security_headers",
    "sso_unprotected",
];
const MUSL: &str = "x86_64-unknown-linux-musl";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace root")
        .to_owned()
}

/// What `etc/dist.sh --image` built.
struct Dist {
    tarball: PathBuf,
    archive: PathBuf,
    name: String,
}

/// Runs `bash etc/dist.sh --image` on the suite's build once for every test that needs it.
fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        // Its own directory, apart from a release's (target/dist): the stage, the image's
        // build context and buildah's store, replaced on each run.
        let work = root().join("target/dist-test");
        let rules = work.join("rules");
        let _ = std::fs::remove_dir_all(&rules);
        guests::install(&rules, guests::STOCK);
        guests::install(&rules, guests::BEYOND_EDDA);
        let out = work.join("out");
        let output = Command::new("bash")
            .arg("etc/dist.sh")
            .arg("--image")
            .arg("--binary")
            .arg(env!("CARGO_BIN_EXE_reddalert"))
            .arg("--rules")
            .arg(&rules)
            .current_dir(root())
            .env("DIST_DIR", &out)
            .env("CARGO_TARGET_DIR", &work)
            .output()
            .expect("run bash etc/dist.sh");
        let said = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "etc/dist.sh --image failed: {said}"
        );
        // The suite's reddalert is not the static release, and dist.sh says so.
        assert!(
            said.contains(&format!("is not the static {MUSL} release")),
            "{said}"
        );
        let name = format!("reddalert-{}-x86_64-linux", env!("CARGO_PKG_VERSION"));
        Dist {
            tarball: out.join(format!("{name}.tar.gz")),
            archive: out.join(format!("{name}.oci.tar")),
            name,
        }
    })
}

/// What the suite's own reddalert says of its build, which the packaged one must say too.
fn suite_version() -> String {
    let version = run(Path::new(env!("CARGO_BIN_EXE_reddalert")), &["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert_version(&version.stdout, None);
    version.stdout
}

fn run(program: &Path, args: &[&str]) -> Run {
    let output = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("SENTRY_DSN")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn sh(command: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .args(["-c", command])
        .current_dir(dir)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, found);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(rel);
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(dir, dir, &mut found);
    found
}

/// A copy of `config` in `dir` with its `cache_dir` moved to the tests' shared cache, so a
/// test never writes the machine's /var/cache.
fn with_cache_in(config: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(config).unwrap();
    let line = "cache_dir = \"/var/cache/reddalert\"";
    assert_eq!(text.matches(line).count(), 1, "{text}");
    let copy = dir.join("reddalert.toml");
    let cache = shared_module_cache();
    std::fs::write(
        &copy,
        text.replace(line, &format!("cache_dir = {:?}", cache.to_str().unwrap())),
    )
    .unwrap();
    copy
}

/// `reddalert rules --json` with `config` over `rules`: every stock rule listed, loaded and
/// matching its pin.
fn assert_every_rule_pinned_and_matching(binary: &Path, config: &Path, rules: &Path) {
    let listed = run(
        binary,
        &[
            "rules",
            "--json",
            "--configfile",
            config.to_str().unwrap(),
            "--rules-dir",
            rules.to_str().unwrap(),
        ],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let doc: Value = serde_json::from_str(&listed.stdout).unwrap();
    let names: BTreeSet<&str> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, RULES.into_iter().collect(), "{}", listed.stdout);
    for rule in doc["rules"].as_array().unwrap() {
        assert_eq!(rule["pin"], "matches", "{rule}");
        assert_eq!(rule["interface"], doc["rules"][0]["interface"]);
    }
    assert_eq!(doc["unloadable"], serde_json::json!([]));
    assert_eq!(doc["pins_without_module"], serde_json::json!({}));
}

#[test]
fn the_bundle_holds_the_binary_the_pinned_rules_and_all_it_installs() {
    let dist = dist();
    let dir = tempfile::tempdir().unwrap();
    sh(&format!("tar -xzf {}", dist.tarball.display()), dir.path());
    let bundle = dir.path().join(&dist.name);
    let mut expected: BTreeSet<String> = [
        "bin/reddalert",
        "etc/reddalert.toml",
        "etc/reddalert.crontab",
        "etc/systemd/reddalert.service",
        "etc/systemd/reddalert.timer",
        "etc/systemd/reddalert-crawl.service",
        "etc/systemd/reddalert-crawl.timer",
        "etc/iam-policy.json",
        "etc/monitoring/reddalert.rules.yml",
        "etc/monitoring/reddalert.grafana.json",
        "install.sh",
        "LICENSE",
        "README.md",
        "SHA256SUMS",
        "VERSION",
    ]
    .map(String::from)
    .into();
    expected.extend(RULES.map(|r| format!("rules/rule_{r}.wasm")));
    for page in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = page.unwrap().file_name().to_string_lossy().into_owned();
        expected.insert(format!("docs/{name}"));
    }
    assert_eq!(files(&bundle), expected);

    // Every file but the sums themselves is summed, and matches.
    let sums = std::fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    let summed: BTreeSet<String> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("sha256sum's format").1.to_owned())
        .collect();
    let mut all = expected.clone();
    all.remove("SHA256SUMS");
    assert_eq!(summed, all);
    sh("sha256sum --quiet --strict -c SHA256SUMS", &bundle);

    let binary = bundle.join("bin/reddalert");
    let version = run(&binary, &["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert_eq!(version.stdout, suite_version(), "the suite's reddalert");
    assert_eq!(
        std::fs::read_to_string(bundle.join("VERSION")).unwrap(),
        version.stdout
    );
    // The rules are this tree's, built as the suite builds them.
    for rule in RULES {
        let from_suite = guests::STOCK
            .iter()
            .chain(guests::BEYOND_EDDA)
            .find(|g| g.ends_with(&format!("/rule_{rule}.wasm")))
            .unwrap();
        assert_eq!(
            sha256(&bundle.join(format!("rules/rule_{rule}.wasm"))),
            sha256(Path::new(from_suite)),
            "{rule}"
        );
    }

    // install.sh puts everything in place, and the config it installs pins every rule.
    let target = tempfile::tempdir().unwrap();
    let install = Command::new(bundle.join("install.sh"))
        .env("DESTDIR", target.path())
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let installed = target.path();
    for file in [
        "usr/local/bin/reddalert",
        "etc/reddalert/reddalert.toml",
        "etc/systemd/system/reddalert.service",
        "etc/systemd/system/reddalert.timer",
        "etc/systemd/system/reddalert-crawl.service",
        "etc/systemd/system/reddalert-crawl.timer",
        "usr/local/share/reddalert/reddalert.crontab",
        "usr/local/share/reddalert/iam-policy.json",
        "usr/local/share/reddalert/monitoring/reddalert.rules.yml",
        "usr/local/share/doc/reddalert/README.md",
        "usr/local/share/doc/reddalert/docs/troubleshooting.md",
        "usr/local/share/doc/reddalert/LICENSE",
    ] {
        assert!(installed.join(file).is_file(), "{file} installed");
    }
    let config = installed.join("etc/reddalert/reddalert.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    for line in [
        "rules_dir = \"/usr/local/lib/reddalert/rules\"",
        "cache_dir = \"/var/cache/reddalert\"",
        "store-until = true",
        "[pin]",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "{line} in\n{text}"
        );
    }
    let scratch = tempfile::tempdir().unwrap();
    assert_every_rule_pinned_and_matching(
        &installed.join("usr/local/bin/reddalert"),
        &with_cache_in(&config, scratch.path()),
        &installed.join("usr/local/lib/reddalert/rules"),
    );

    // Installing again keeps the operator's config and puts this release's beside it.
    std::fs::write(&config, "edda = \"http://edda.example.com/edda\"\n").unwrap();
    let again = Command::new(bundle.join("install.sh"))
        .env("DESTDIR", installed)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "edda = \"http://edda.example.com/edda\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(installed.join("etc/reddalert/reddalert.toml.new")).unwrap(),
        text
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("[pin]"),
        "it says to carry the pins over"
    );

    // A bundle whose file changed refuses to install.
    std::fs::write(bundle.join("rules/rule_elbs.wasm"), b"not the release's").unwrap();
    let tampered = Command::new(bundle.join("install.sh"))
        .env("DESTDIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!tampered.status.success(), "a changed file is refused");
}

/// The OCI archive's image: its config (the manifest's) and its filesystem, unpacked under
/// `dir`, with the owner of every entry as the layers record it.
fn unpack_image(archive: &Path, dir: &Path) -> (Value, PathBuf, Vec<(String, String)>) {
    let layout = dir.join("layout");
    std::fs::create_dir(&layout).unwrap();
    sh(&format!("tar -xf {}", archive.display()), &layout);
    let read = |digest: &str| -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        let blob = std::fs::read(layout.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&blob)),
            hex,
            "the blob is what its digest says"
        );
        blob
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index}");
    let manifest: Value =
        serde_json::from_slice(&read(manifests[0]["digest"].as_str().unwrap())).unwrap();
    let config: Value =
        serde_json::from_slice(&read(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let rootfs = dir.join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let mut owners = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let blob = dir.join("layer");
        std::fs::write(&blob, read(layer["digest"].as_str().unwrap())).unwrap();
        for line in sh(&format!("tar -tvf {} --numeric-owner", blob.display()), dir).lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            owners.push((
                fields[5].trim_end_matches('/').to_owned(),
                fields[1].to_owned(),
            ));
        }
        sh(
            &format!("tar -xf {} -C {}", blob.display(), rootfs.display()),
            dir,
        );
    }
    (config, rootfs, owners)
}

#[test]
fn the_image_holds_only_the_release_and_its_binary_runs_the_demo_through_the_image_rules() {
    let dist = dist();
    let dir = tempfile::tempdir().unwrap();
    let (config, rootfs, owners) = unpack_image(&dist.archive, dir.path());

    let run_config = &config["config"];
    let entrypoint: Vec<&str> = run_config["Entrypoint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        entrypoint,
        [
            "/usr/local/bin/reddalert",
            "--configfile",
            "/etc/reddalert/reddalert.toml",
            "--statusfile",
            "/var/lib/reddalert/status.json"
        ]
    );
    assert_eq!(run_config["User"], "10001:10001", "not root");
    assert_eq!(
        run_config["Labels"]["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        run_config["Labels"]["org.opencontainers.image.revision"]
            .as_str()
            .unwrap()
            .starts_with(&source_commit())
    );

    // Nothing but the release: no shell, no package manager, no base image.
    let mut expected: BTreeSet<String> = [
        "etc/passwd",
        "etc/group",
        "etc/ssl/certs/ca-certificates.crt",
        "etc/reddalert/reddalert.toml",
        "usr/local/bin/reddalert",
    ]
    .map(String::from)
    .into();
    expected.extend(RULES.map(|r| format!("usr/local/lib/reddalert/rules/rule_{r}.wasm")));
    assert_eq!(files(&rootfs), expected);
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("reddalert:x:10001:10001:")),
        "{passwd}"
    );
    let certs = std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(
        certs.matches("BEGIN CERTIFICATE").count() > 50,
        "a CA bundle"
    );
    // The user owns what the run writes, and nothing else.
    for (path, owner) in &owners {
        let written = [
            "var/lib/reddalert",
            "var/cache/reddalert",
            "var/log/reddalert",
        ]
        .contains(&path.as_str());
        assert_eq!(
            owner == "10001/10001",
            written,
            "{path} is owned by {owner}"
        );
    }
    assert_eq!(owners.iter().filter(|(_, o)| o == "10001/10001").count(), 3);

    // The image's binary and rules are the bundle's.
    let bundle = tempfile::tempdir().unwrap();
    sh(
        &format!("tar -xzf {}", dist.tarball.display()),
        bundle.path(),
    );
    let bundle = bundle.path().join(&dist.name);
    let binary = rootfs.join("usr/local/bin/reddalert");
    assert_eq!(sha256(&binary), sha256(&bundle.join("bin/reddalert")));
    assert_eq!(
        sha256(&rootfs.join("etc/reddalert/reddalert.toml")),
        sha256(&bundle.join("etc/reddalert.toml"))
    );
    let version = run(&binary, &["--version"]);
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert_eq!(version.stdout, suite_version(), "the suite's reddalert");
    let rules = rootfs.join("usr/local/lib/reddalert/rules");
    assert_every_rule_pinned_and_matching(
        &binary,
        &with_cache_in(&rootfs.join("etc/reddalert/reddalert.toml"), dir.path()),
        &rules,
    );

    // The demo account through the image's rules: the alerts of the suite's own build.
    let demo = |program: &Path, rules: &Path, status: &str| {
        let status = dir.path().join(status);
        let run = run(
            program,
            &[
                "--configfile",
                root().join("etc/demo/reddalert.toml").to_str().unwrap(),
                "--statusfile",
                status.to_str().unwrap(),
                "--rules-dir",
                rules.to_str().unwrap(),
                "--since",
                "2018-01-01T00:00:00Z",
                "--until",
                "2018-01-01T06:00:00Z",
                "-o",
                "stdout_json",
                "secgroups",
                "elbs",
                "iam",
                "ami",
                "newtag",
                "missingtag",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut alerts: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
        alerts.sort();
        alerts
    };
    let suite_rules = dir.path().join("suite-rules");
    reddalert_testkit::guests::install(&suite_rules, guests::STOCK);
    let from_image = demo(&binary, &rules, "image.json");
    let from_suite = demo(
        Path::new(env!("CARGO_BIN_EXE_reddalert")),
        &suite_rules,
        "suite.json",
    );
    assert!(
        from_image.len() >= 6,
        "the demo raises alerts: {from_image:?}"
    );
    assert_eq!(from_image, from_suite);
}
