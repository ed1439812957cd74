//! What the registry tests share: an installation whose config reaches a real
//! `docker-registry` on loopback, keys made by `openssl`, and the `push`, `pull` and `sign`
//! commands of the binary run in it; plain HTTP reads of the registry for what the tests
//! inspect or forge (a signature manifest copied under another tag).

use std::path::PathBuf;

use reddalert_testkit::registry::{DockerRegistry, openssl_keypair};
use serde_json::Value;

use crate::support::*;

pub struct Setup {
    pub env: Env,
    pub registry: DockerRegistry,
}

/// The key pair `NAME.pem` / `NAME.pub` in the installation's directory, made by openssl.
pub fn key(env: &Env, name: &str) -> (PathBuf, PathBuf) {
    if !env.path(&format!("{name}.pem")).exists() {
        openssl_keypair(env.dir.path(), name);
    }
    (
        env.path(&format!("{name}.pem")),
        env.path(&format!("{name}.pub")),
    )
}

impl Setup {
    /// An installation with `modules`, a config that lists `registry` as plain HTTP, and
    /// `extra` config; `{host}` in `extra` becomes the registry's host:port.
    pub fn new(registry: DockerRegistry, edda: &str, modules: &[&str], extra: &str) -> Setup {
        let host = registry.host();
        let extra = extra.replace("{host}", &host);
        let env = Env::new(
            edda,
            modules,
            &format!("{extra}\n[registry]\ninsecure = [\"{host}\"]\n"),
        );
        Setup { env, registry }
    }

    pub fn host(&self) -> String {
        self.registry.host()
    }

    /// `host/acme/<repo>`.
    pub fn reference(&self, repo_tag: &str) -> String {
        format!("{}/acme/{repo_tag}", self.host())
    }

    /// `reddalert push MODULE REF [--sign KEY]`, which must succeed; returns the manifest digest.
    pub fn push(&self, module: &str, repo_tag: &str, sign: Option<&str>) -> String {
        let reference = self.reference(repo_tag);
        let mut args = vec!["push", module, reference.as_str()];
        let key = sign.map(|k| key(&self.env, k).0);
        if let Some(key) = &key {
            args.extend(["--sign", path_str(key)]);
        }
        let run = self.env.run(&args);
        assert_eq!(run.code, 0, "push failed: {}\n{}", run.stdout, run.stderr);
        let digest = run
            .stdout
            .split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no digest in {}", run.stdout))
            .to_owned();
        assert_eq!(
            digest,
            self.digest_of(repo_tag),
            "push printed the manifest's digest"
        );
        digest
    }

    /// `reddalert sign REF --key KEY`.
    pub fn sign(&self, repo_tag: &str, key_name: &str) -> Run {
        let (pem, _) = key(&self.env, key_name);
        self.env
            .run(&["sign", &self.reference(repo_tag), "--key", path_str(&pem)])
    }

    /// `reddalert pull ARGS...`.
    pub fn pull(&self, args: &[&str]) -> Run {
        let mut all = vec!["pull"];
        all.extend_from_slice(args);
        self.env.run(&all)
    }

    /// The manifest at `acme/<repo>:<tag or digest>`, read over plain HTTP, and its digest.
    pub fn manifest(&self, repo: &str, reference: &str) -> (Vec<u8>, String) {
        let url = format!(
            "http://{}/v2/acme/{repo}/manifests/{reference}",
            self.host()
        );
        let mut response = ureq::get(&url)
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.body_mut().read_to_vec().unwrap();
        (body, digest)
    }

    pub fn digest_of(&self, repo_tag: &str) -> String {
        let (repo, tag) = repo_tag.split_once(':').unwrap();
        self.manifest(repo, tag).1
    }

    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let url = format!("http://{}/v2/acme/{repo}/blobs/{digest}", self.host());
        ureq::get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .body_mut()
            .read_to_vec()
            .unwrap()
    }

    /// Uploads a manifest under `acme/<repo>:<tag>` over plain HTTP (its blobs must be there).
    pub fn put_manifest(&self, repo: &str, tag: &str, manifest: &[u8]) {
        let url = format!("http://{}/v2/acme/{repo}/manifests/{tag}", self.host());
        ureq::put(&url)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .send(manifest)
            .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
    }

    /// The installed module and the lock's entry for `name`.
    pub fn installed(&self, name: &str) -> (Option<Vec<u8>>, Value) {
        let module = std::fs::read(self.env.rules.join(format!("{name}.wasm"))).ok();
        let lock = std::fs::read_to_string(self.env.path("reddalert.lock"))
            .map(|t| serde_json::from_str::<Value>(&t).unwrap()["rules"][name].clone())
            .unwrap_or(Value::Null);
        (module, lock)
    }

    /// `reddalert rules --json`'s entry for `name`.
    pub fn listed(&self, name: &str) -> Value {
        let listing = self.env.run(&["rules", "--json"]);
        assert_eq!(listing.code, 0, "{}", listing.stderr);
        let doc: Value = serde_json::from_str(&listing.stdout).unwrap();
        doc["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// The window in which elbs raises one alert and secgroups some over the `basic` fixtures.
pub fn run_window() -> Vec<String> {
    window(T1, T4)
}

/// The hex of `sha256:<hex>`.
pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").expect("a sha256 digest")
}
