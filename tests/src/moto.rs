//! moto's server on `127.0.0.1`, for the S3 capability and the crawl: a Python process (moto's
//! `ThreadedMotoServer`) started per test, which creates the buckets and objects of a
//! [`Fixture`] with boto3, makes an IAM user whose access key it reports, then (unless told
//! not to) turns moto's request authentication on, so every later request must carry a valid
//! SigV4 signature by that key. The process stops when the test drops [`Moto`], and also when the test process
//! dies, because it waits for its stdin to close. `moto[server]` is installed with pip when
//! it is missing.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

/// What moto is installed as when missing.
pub const MOTO: &str = "moto[server]";

const SERVER: &str = r#"
import json, sys
import boto3
import moto.settings
import moto.iam.access_control as access_control
from moto.server import ThreadedMotoServer

# moto 5 checks the signature of a bodiless request (a Route 53 GET) against a payload made of
# its query parameters, or of its headers when it has none; AWS signs the empty body. Checked
# here as AWS checks it, for every service but S3 (whose checks are moto's own).
_create_aws_request = access_control.IAMRequestBase._create_aws_request
def _signed_as_aws_does(self):
    if self._method not in ("GET", "HEAD", "DELETE") or self._body:
        return _create_aws_request(self)
    data, self._data = self._data, None
    try:
        return _create_aws_request(self)
    finally:
        self._data = data
access_control.IAMRequest._create_aws_request = _signed_as_aws_does

fixture = json.loads(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
url = f"http://{host}:{port}"
common = dict(endpoint_url=url, region_name="us-east-1")
iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **common)
iam.create_user(UserName="reddalert")
iam.put_user_policy(UserName="reddalert", PolicyName="read", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="reddalert")["AccessKey"]
# From here on moto checks every request's signature against the IAM user's key.
if fixture["check_signatures"]:
    moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
s3 = boto3.client("s3", aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"], **common)
for b in fixture["buckets"]:
    args = {"Bucket": b["name"], "ACL": b.get("acl", "private")}
    if b.get("region", "us-east-1") != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": b["region"]}
    s3.create_bucket(**args)
for o in fixture["objects"]:
    s3.put_object(Bucket=o["bucket"], Key=o["key"], Body=b"x", ACL=o.get("acl", "private"))
print(json.dumps({"port": port, "access_key_id": key["AccessKeyId"],
                  "secret_access_key": key["SecretAccessKey"]}), flush=True)
sys.stdin.read()
server.stop()
"#;

/// Buckets and objects to create; ACLs are canned ACL names (`public-read`, ...).
#[derive(Debug, Default, Clone)]
pub struct Fixture {
    /// (name, canned ACL, region)
    pub buckets: Vec<(String, String, String)>,
    /// (bucket, key, canned ACL)
    pub objects: Vec<(String, String, String)>,
    /// Leave moto's signature checks off. Needed for requests with `/` in a query value
    /// (`prefix=logs/`): moto 5 recomputes their signature wrongly, for boto3's requests too.
    pub skip_signature_check: bool,
}

/// A running moto server.
pub struct Moto {
    child: Child,
    /// moto's log (werkzeug writes a line per request), shown when it fails to start.
    _log: tempfile::NamedTempFile,
    stdin: Option<ChildStdin>,
    pub port: u16,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Moto {
    pub fn start(fixture: &Fixture) -> Moto {
        ensure_installed();
        let spec = json!({
            "buckets": fixture.buckets.iter().map(|(n, a, r)| json!({"name": n, "acl": a, "region": r})).collect::<Vec<_>>(),
            "objects": fixture.objects.iter().map(|(b, k, a)| json!({"bucket": b, "key": k, "acl": a})).collect::<Vec<_>>(),
            "check_signatures": !fixture.skip_signature_check,
        });
        let log = tempfile::NamedTempFile::new().expect("create moto's log file");
        let mut child = Command::new("python3")
            .args(["-c", SERVER, &spec.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().expect("reopen moto's log file"))
            .env_remove("AWS_PROFILE")
            .spawn()
            .expect("start python3 for moto");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("moto's stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read moto's first line");
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("moto did not start (it printed {line:?}): {e}\n{log}")
        });
        Moto {
            child,
            _log: log,
            stdin,
            port: info["port"].as_u64().expect("port") as u16,
            access_key_id: info["access_key_id"].as_str().expect("key id").to_owned(),
            secret_access_key: info["secret_access_key"]
                .as_str()
                .expect("secret")
                .to_owned(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs moto with pip unless `import moto.server, boto3` already works (once per process).
pub fn ensure_installed() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let present = || {
            Command::new("python3")
                .args(["-c", "import moto.server, boto3, flask"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if present() {
            return;
        }
        eprintln!("moto not found; installing {MOTO} with pip");
        let install = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", MOTO])
            .output()
            .expect("run python3 -m pip (the S3 tests need Python 3 with pip)");
        assert!(
            install.status.success() && present(),
            "pip install {MOTO} failed:\n{}",
            String::from_utf8_lossy(&install.stderr)
        );
    });
}
