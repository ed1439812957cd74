//! Real parts for the registry tests: Debian's `docker-registry` (the CNCF distribution
//! registry 2.8) started on `127.0.0.1` with a temporary root, anonymous, behind htpasswd
//! Basic auth, or behind a loopback [`TokenServer`] for the Bearer token flow; PyPI's `oras`
//! library as an independent client ([`oras`]); and `openssl` for keys and signatures in both
//! directions. `.ci/run` installs the Debian packages (`docker-registry`, `apache2-utils` for
//! `htpasswd`) and `oras`; the kit installs `oras` with pip when it is missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::http::{HttpServer, Reply};

/// The pinned `oras` (also in `.ci/run`).
pub const ORAS: &str = "oras==0.2.43";

/// How a registry wants its clients to authenticate.
pub enum Auth<'a> {
    Anonymous,
    /// htpasswd Basic auth with one user.
    Basic {
        user: &'a str,
        password: &'a str,
    },
    /// Bearer tokens from this token server.
    Token(&'a TokenServer),
}

/// A running `docker-registry`; stopped when dropped (or by [`DockerRegistry::stop`]).
pub struct DockerRegistry {
    child: Option<Child>,
    _root: tempfile::TempDir,
    pub port: u16,
}

impl DockerRegistry {
    pub fn start(auth: Auth) -> DockerRegistry {
        assert!(
            Path::new("/usr/bin/docker-registry").exists(),
            "the registry tests need Debian's docker-registry: apt-get install -y docker-registry \
             apache2-utils (.ci/run does)"
        );
        let root = tempfile::tempdir().expect("registry root");
        let auth_yaml = match auth {
            Auth::Anonymous => String::new(),
            Auth::Basic { user, password } => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("run htpasswd (apt-get install -y apache2-utils)");
                assert!(out.status.success(), "htpasswd failed");
                let path = root.path().join("htpasswd");
                std::fs::write(&path, out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: reddalert-tests\n    path: {}\n",
                    path.display()
                )
            }
            Auth::Token(server) => {
                let path = root.path().join("token-ca.pem");
                std::fs::write(&path, &server.cert_pem).unwrap();
                format!(
                    "auth:\n  token:\n    realm: {}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                    server.server.url(),
                    path.display()
                )
            }
        };
        let config = root.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:0\n  secret: reddalert-tests\n{auth_yaml}",
                root.path().join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docker-registry");
        let stderr = child.stderr.take().expect("registry stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        // The log goes on after the port: keep reading it, or the registry blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(at) = line.find("listening on 127.0.0.1:") {
                    let port: String = line[at + 23..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    let _ = tx.send(Ok(port.parse::<u16>().expect("a port")));
                    sent = true;
                } else if !sent {
                    seen.push(line);
                }
            }
            if !sent {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(port)) => port,
            Ok(Err(log)) => panic!("docker-registry exited before listening:\n{log}"),
            Err(_) => {
                let _ = child.kill();
                panic!("docker-registry did not say where it listens within 60 s")
            }
        };
        DockerRegistry {
            child: Some(child),
            _root: root,
            port,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops it (the registry goes down); its port then refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

const SERVICE: &str = "reddalert-test-registry";
const ISSUER: &str = "reddalert-test-issuer";

/// A loopback token server for the registry's Bearer flow: it checks Basic credentials and
/// answers a JWT (ES256, its certificate in `x5c`) granting the scope asked for, as Docker
/// Hub's and Harbor's token services do. Every request is recorded.
pub struct TokenServer {
    pub server: HttpServer,
    cert_pem: String,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> TokenServer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("token key");
        let cert = rcgen::CertificateParams::new(vec!["token-issuer".to_owned()])
            .expect("cert params")
            .self_signed(&key)
            .expect("self-signed token cert");
        let cert_der = base64::engine::general_purpose::STANDARD.encode(cert.der());
        let rng = ring::rand::SystemRandom::new();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .expect("ring reads rcgen's key");
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let server = HttpServer::start(move |request| {
            if request.header("authorization") != Some(expected.as_str()) {
                return Reply::json(401, &json!({"details": "bad credentials"}));
            }
            let query = request.path.split_once('?').map_or("", |(_, q)| q);
            let mut scope = String::new();
            for pair in query.split('&') {
                if let Some(value) = pair.strip_prefix("scope=") {
                    scope = percent_decode(value);
                }
            }
            // repository:<name>:<actions>
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = json!({"alg": "ES256", "typ": "JWT", "x5c": [cert_der]});
            let claims = json!({
                "iss": ISSUER, "sub": "reddalert", "aud": SERVICE,
                "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{name}"),
                "access": [{"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}],
            });
            let signing_input = format!(
                "{}.{}",
                b64.encode(header.to_string()),
                b64.encode(claims.to_string())
            );
            let signature = signer
                .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
                .expect("sign the token");
            let token = format!("{signing_input}.{}", b64.encode(signature.as_ref()));
            Reply::json(
                200,
                &json!({"token": token, "access_token": token, "expires_in": 300}),
            )
        });
        TokenServer {
            server,
            cert_pem: cert.pem(),
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `openssl`: a P-256 key pair in `dir` (`NAME.pem`, PKCS#8; `NAME.pub`, PKIX), as the
/// README tells authors to make one.
pub fn openssl_keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    run_openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        s(&private),
    ]);
    run_openssl(&["pkey", "-in", s(&private), "-pubout", "-out", s(&public)]);
    (private, public)
}

/// `openssl dgst -sha256 -sign`: the DER ECDSA signature of `data`.
pub fn openssl_sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    let output = dir.path().join("sig");
    std::fs::write(&input, data).unwrap();
    run_openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        s(key),
        "-out",
        s(&output),
        s(&input),
    ]);
    std::fs::read(output).unwrap()
}

/// `openssl dgst -sha256 -verify`: whether `signature` (DER) verifies over `data`, and what
/// openssl printed.
pub fn openssl_verify(public: &Path, data: &[u8], signature: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    let sig = dir.path().join("sig");
    std::fs::write(&input, data).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            s(public),
            "-signature",
            s(&sig),
            s(&input),
        ])
        .output()
        .expect("run openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn run_openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A cosign simple-signing payload for `digest` (as cosign writes it).
pub fn cosign_payload(repository: &str, digest: &str) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// `wasm` with a custom section of `size` bytes appended (still a valid component).
pub fn with_custom_section(wasm: &[u8], size: usize) -> Vec<u8> {
    let name = b"padding";
    let mut content = vec![name.len() as u8];
    content.extend_from_slice(name);
    content.resize(content.len() + size, 0);
    let mut out = wasm.to_vec();
    out.push(0);
    let mut len = content.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&content);
    out
}

/// PyPI's `oras` library, an independent OCI client, run by python3 against a plain-HTTP
/// registry on loopback.
pub mod oras {
    use super::*;

    const SCRIPT: &str = r#"
import json, os, sys
import oras.client
args = json.loads(sys.argv[1])
client = oras.client.OrasClient(hostname=args["host"], insecure=True)
if args["op"] == "push":
    os.chdir(args["dir"])
    annotation_file = None
    if args.get("annotations"):
        with open("annotations.json", "w") as f:
            json.dump(args["annotations"], f)
        annotation_file = "annotations.json"
    client.push(target=args["target"], files=args["files"], manifest_config=args["config"],
                annotation_file=annotation_file, disable_path_validation=True, quiet=True)
    print(json.dumps({}))
elif args["op"] == "manifest":
    print(json.dumps(client.get_manifest(args["target"])))
elif args["op"] == "pull":
    files = client.pull(target=args["target"], outdir=args["dir"],
                        allowed_media_type=["application/vnd.oci.image.manifest.v1+json"])
    print(json.dumps({"files": files}))
"#;

    /// Installs `oras` with pip unless it imports (once per process).
    pub fn ensure_installed() {
        static DONE: OnceLock<()> = OnceLock::new();
        DONE.get_or_init(|| {
            let present = || {
                Command::new("python3")
                    .args(["-c", "import oras.client"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if present() {
                return;
            }
            let out = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", ORAS])
                .output()
                .expect("run pip");
            assert!(
                out.status.success() && present(),
                "pip install {ORAS} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    }

    fn call(args: Value) -> Value {
        ensure_installed();
        let out = Command::new("python3")
            .args(["-c", SCRIPT, &args.to_string()])
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "oras {} failed: {}",
            args["op"],
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).expect("oras script's JSON")
    }

    /// Pushes the files of `dir` (`name:media type`) with the config file `config` of
    /// `config_type` to `target`; `annotations` per file name, as oras' annotation file.
    pub fn push(
        host: &str,
        target: &str,
        dir: &Path,
        files: &[(&str, &str)],
        config: (&str, &str),
        annotations: Option<Value>,
    ) {
        call(json!({
            "op": "push", "host": host, "target": target, "dir": dir,
            "files": files.iter().map(|(f, t)| format!("{f}:{t}")).collect::<Vec<_>>(),
            "config": format!("{}:{}", config.0, config.1),
            "annotations": annotations,
        }));
    }

    pub fn manifest(host: &str, target: &str) -> Value {
        call(json!({"op": "manifest", "host": host, "target": target}))
    }

    /// Pulls `target`'s layers into `dir`; returns the files written.
    pub fn pull(host: &str, target: &str, dir: &Path) -> Vec<PathBuf> {
        let out = call(json!({"op": "pull", "host": host, "target": target, "dir": dir}));
        out["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| PathBuf::from(f.as_str().expect("a path")))
            .collect()
    }
}
