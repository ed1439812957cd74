//! What an operator deploys beside the binary, checked by the tools that read it. The systemd
//! units (the run's and the crawl's) go through `systemd-analyze verify` under a root that
//! holds the binary where the services say, and `systemd-analyze security` holds each
//! service's exposure down. The Kubernetes manifests of the README and the docs are parsed as
//! YAML and run the image the way it can be run: no shell, the shard passed as Kubernetes
//! expands it, state on a volume that every pod of the Job can mount; their arguments, after
//! the image's entrypoint, run (a crawl's as far as AWS's credentials, which a test has none
//! of).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ sits in the workspace root")
        .to_owned()
}

/// `systemd-analyze <command> --root=<root_dir> <args>`: its verdict and what it said.
fn systemd_analyze(command: &str, root_dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .arg(command)
        .arg(format!("--root={}", root_dir.display()))
        .args(args)
        .output()
        .expect("run systemd-analyze (apt-get install systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A root with the system's units (for the targets ours name), ours in /etc/systemd/system,
/// and this build's binary where the service runs it.
fn systemd_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("usr/lib/systemd");
    std::fs::create_dir_all(&units).unwrap();
    let copied = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(&units)
        .status()
        .unwrap();
    assert!(
        copied.success(),
        "the system's units (apt-get install systemd)"
    );
    let ours = dir.path().join("etc/systemd/system");
    std::fs::create_dir_all(&ours).unwrap();
    for unit in UNITS {
        std::fs::copy(root().join("etc/systemd").join(unit), ours.join(unit)).unwrap();
    }
    let bin = dir.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_reddalert"), bin.join("reddalert")).unwrap();
    dir
}

/// The units the bundle installs.
const UNITS: [&str; 4] = [
    "reddalert.service",
    "reddalert.timer",
    "reddalert-crawl.service",
    "reddalert-crawl.timer",
];

/// The lines of a unit of etc/systemd.
fn unit(name: &str) -> Vec<String> {
    std::fs::read_to_string(root().join("etc/systemd").join(name))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The minutes of the next three times a timer of etc/systemd elapses, as
/// `systemd-analyze calendar` computes them from its `OnCalendar=`.
fn next_minutes(timer: &str) -> Vec<u32> {
    let lines = unit(timer);
    assert!(lines.iter().any(|l| l == "Persistent=true"), "{timer}");
    let calendar = lines
        .iter()
        .find_map(|l| l.strip_prefix("OnCalendar="))
        .expect("OnCalendar");
    let out = Command::new("systemd-analyze")
        .args(["calendar", "--iterations=3", calendar])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    let minutes: Vec<u32> = said
        .lines()
        .filter_map(|l| l.split(" UTC").next()?.rsplit(' ').next())
        .filter_map(|hms| hms.split(':').nth(1)?.parse().ok())
        .collect();
    assert_eq!(minutes.len(), 3, "{said}");
    minutes
}

#[test]
fn the_systemd_units_verify_and_the_services_are_hardened() {
    let dir = systemd_root();
    let (ok, said) = systemd_analyze("verify", dir.path(), &UNITS);
    // Unknown keys and other mistakes are warnings: nothing may be said at all.
    assert!(
        ok && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    for service in ["reddalert.service", "reddalert-crawl.service"] {
        // The exposure, as systemd scores it (0 to 10; 2.0 is the threshold's 20).
        let (ok, said) = systemd_analyze(
            "security",
            dir.path(),
            &["--offline=true", "--threshold=20", service],
        );
        assert!(ok, "systemd-analyze security {service}: {said}");
        let level: f64 = said
            .lines()
            .find_map(|l| {
                l.split(&format!("Overall exposure level for {service}: "))
                    .nth(1)
            })
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("an exposure level in {said}"));
        assert!(level <= 2.0, "{service}: exposure {level}: {said}");
        // Both run as one dynamic user, so the run reads the stores the crawl writes in the
        // state directory they share.
        for line in [
            "DynamicUser=yes",
            "User=reddalert",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "StateDirectory=reddalert",
        ] {
            assert!(
                unit(service).iter().any(|l| l == line),
                "{line} in {service}"
            );
        }
    }
    let exec = |service: &str| {
        unit(service)
            .into_iter()
            .find_map(|l| l.strip_prefix("ExecStart=").map(str::to_owned))
            .unwrap()
    };
    assert_eq!(
        exec("reddalert.service"),
        "/usr/local/bin/reddalert --configfile /etc/reddalert/reddalert.toml --statusfile %S/reddalert/status.json"
    );
    assert_eq!(
        exec("reddalert-crawl.service"),
        "/usr/local/bin/reddalert --configfile /etc/reddalert/reddalert.toml crawl"
    );
    for (timer, every) in [("reddalert.timer", 15), ("reddalert-crawl.timer", 5)] {
        let minutes = next_minutes(timer);
        for pair in minutes.windows(2) {
            assert_eq!(
                (pair[1] + 60 - pair[0]) % 60,
                every,
                "{timer}: every {every} minutes: {minutes:?}"
            );
        }
    }

    // verify fails when something is wrong: here, the binary the services run is missing.
    std::fs::remove_file(dir.path().join("usr/local/bin/reddalert")).unwrap();
    for service in ["reddalert.service", "reddalert-crawl.service"] {
        let (ok, said) = systemd_analyze("verify", dir.path(), &[service]);
        assert!(!ok && said.contains("/usr/local/bin/reddalert"), "{said}");
    }
}

/// Every YAML document of every `yaml` block of the README and the docs, as JSON (PyYAML).
fn manifests() -> Vec<(String, Vec<Value>)> {
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    pages.sort();
    let mut found = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut block: Option<String> = None;
        for line in text.lines() {
            match (&mut block, line.trim_start()) {
                (None, "```yaml") => block = Some(String::new()),
                (Some(yaml), "```") => {
                    let docs = yaml_documents(yaml);
                    found.push((page.display().to_string(), docs));
                    block = None;
                }
                (Some(yaml), _) => {
                    yaml.push_str(line);
                    yaml.push('\n');
                }
                _ => {}
            }
        }
    }
    found
}

fn yaml_documents(yaml: &str) -> Vec<Value> {
    use std::io::Write as _;
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3 with PyYAML");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not YAML: {}\n{yaml}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The image's user, from the passwd file the Containerfile copies in.
fn image_uid() -> u64 {
    let passwd = std::fs::read_to_string(root().join("etc/container/passwd")).unwrap();
    let containerfile =
        std::fs::read_to_string(root().join("etc/container/Containerfile")).unwrap();
    let user = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    let uid: u64 = user.split(':').next().unwrap().parse().unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.split(':').nth(2) == Some(&uid.to_string())),
        "{uid} in the image's passwd"
    );
    uid
}

/// The image's entrypoint, as the Containerfile writes it.
fn entrypoint() -> Vec<String> {
    let containerfile =
        std::fs::read_to_string(root().join("etc/container/Containerfile")).unwrap();
    let json = containerfile
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("an ENTRYPOINT");
    serde_json::from_str(json).expect("the exec form")
}

#[test]
fn the_kubernetes_examples_run_the_image_without_a_shell_on_state_every_pod_can_mount() {
    let uid = image_uid();
    let mut cronjobs = 0;
    for (page, docs) in manifests() {
        let claims: Vec<&Value> = docs
            .iter()
            .filter(|d| d["kind"] == "PersistentVolumeClaim")
            .collect();
        for job in docs.iter().filter(|d| d["kind"] == "CronJob") {
            cronjobs += 1;
            let at = format!("{page}: {}", job["metadata"]["name"]);
            assert_eq!(job["apiVersion"], "batch/v1", "{at}");
            assert_eq!(job["spec"]["concurrencyPolicy"], "Forbid", "{at}");
            let spec = &job["spec"]["jobTemplate"]["spec"];
            let pod = &spec["template"]["spec"];
            assert_eq!(
                pod["securityContext"]["runAsUser"], uid,
                "{at}: the image's user"
            );
            let containers = pod["containers"].as_array().unwrap();
            assert_eq!(containers.len(), 1, "{at}");
            let container = &containers[0];
            assert!(
                container["image"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/reddalert:{}", env!("CARGO_PKG_VERSION"))),
                "{at}: this version's image"
            );
            assert!(
                container["command"].is_null(),
                "{at}: the image's entrypoint, no shell"
            );
            let args: Vec<String> = container["args"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            assert!(
                !args.iter().any(|a| a == "sh" || a.starts_with("-c")),
                "{at}: {args:?}"
            );

            // The state directory is on a claim.
            let mounts = container["volumeMounts"].as_array().unwrap();
            let state = mounts
                .iter()
                .find(|m| m["mountPath"] == "/var/lib/reddalert")
                .unwrap_or_else(|| panic!("{at}: the status files on a volume"));
            let volume = pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == state["name"])
                .unwrap();
            let claim = volume["persistentVolumeClaim"]["claimName"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: a claim outlives the pods"));

            let parallel = spec["parallelism"].as_u64().unwrap_or(1);
            if spec["completionMode"] == "Indexed" {
                let n = spec["completions"].as_u64().unwrap();
                assert_eq!(parallel, n, "{at}: every shard at once");
                let shard = args
                    .windows(2)
                    .find(|w| w[0] == "--shard")
                    .unwrap_or_else(|| panic!("{at}: --shard in {args:?}"));
                assert_eq!(shard[1], format!("$(JOB_COMPLETION_INDEX)/{n}"), "{at}");
            }
            if let Some(claim) = claims.iter().find(|c| c["metadata"]["name"] == claim) {
                let modes = claim["spec"]["accessModes"].as_array().unwrap();
                if parallel > 1 {
                    assert!(
                        modes.iter().any(|m| m == "ReadWriteMany"),
                        "{at}: {parallel} pods mount {claim} at once"
                    );
                }
            } else {
                assert_eq!(parallel, 1, "{at}: a claim for parallel pods must be shown");
            }

            // The entrypoint with these arguments runs (the index as Kubernetes expands it).
            let crawls = args.first().is_some_and(|a| a == "crawl");
            let dir = tempfile::tempdir().unwrap();
            let rules = dir.path().join("rules");
            std::fs::create_dir(&rules).unwrap();
            let (prod, staging, crawl) = if crawls {
                let store = |name: &str| format!("store:{}", dir.path().join(name).display());
                let crawl = "[crawl]\nregions = [\"eu-west-1\"]\n";
                (store("prod.sqlite"), store("staging.sqlite"), crawl)
            } else {
                let edda = format!("dir:{}", root().join("etc/demo/edda").display());
                (edda.clone(), edda, "")
            };
            let config = dir.path().join("reddalert.toml");
            std::fs::write(
                &config,
                format!(
                    "rules_dir = {:?}\ncache_dir = \"\"\n{crawl}[[account]]\nname = \"prod\"\n\
                     edda = {prod:?}\n[[account]]\nname = \"staging\"\nedda = {staging:?}\n",
                    rules.to_str().unwrap()
                ),
            )
            .unwrap();
            let status = dir.path().join("status.json");
            let mut argv: Vec<String> = entrypoint()[1..].to_vec();
            for (flag, path) in [("--configfile", &config), ("--statusfile", &status)] {
                let at = argv.iter().position(|a| a == flag).unwrap();
                argv[at + 1] = path.to_str().unwrap().to_owned();
            }
            argv.extend(
                args.iter()
                    .map(|a| a.replace("$(JOB_COMPLETION_INDEX)", "1")),
            );
            if crawls {
                // As far as a test goes: the arguments, the config and its stores are taken,
                // and each account's crawl stops at AWS's credentials, which a test has none
                // of (an account that fails fails alone: exit 1).
                let run = without_aws_credentials(&argv, dir.path());
                assert_eq!(run.code, 1, "{at}: {argv:?}: {}", run.stderr);
                assert!(
                    run.stderr.contains("no AWS credentials found"),
                    "{at}: {argv:?}: {}",
                    run.stderr
                );
            } else {
                let run = run_binary(&argv.iter().map(String::as_str).collect::<Vec<_>>());
                assert_eq!(run.code, 0, "{at}: {argv:?}: {}", run.stderr);
            }
        }
    }
    assert!(
        cronjobs >= 4,
        "the README's, Running's, the sharded one and the crawl's: {cronjobs}"
    );
}

/// reddalert with `args` and none of the AWS credential chain's sources: no variables, a
/// home without `~/.aws`, no instance metadata.
fn without_aws_credentials(args: &[String], home: &Path) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reddalert"));
    command.args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("AWS_") {
            command.env_remove(var);
        }
    }
    let output = command
        .env_remove("RUST_LOG")
        .env_remove("SENTRY_DSN")
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run reddalert");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
