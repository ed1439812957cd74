//! An AWS account in moto for the crawl's tests: moto's server started by [`Moto`] (request
//! signatures checked), seeded with boto3 by a second Python process from a [`Seed`]: in each
//! region security groups with ingress rules, instances over many reservations, classic load
//! balancers with tags and listeners; once for the account IAM users with groups, inline and
//! attached policies and access keys, and hosted zones with records. The process then stays,
//! taking one JSON command a line on its stdin and answering one line: any boto3 call
//! ([`AwsAccount::boto`]), which the changes a test makes go through. Both processes stop when
//! the test drops the account, and when the test process dies (they wait for their stdin to
//! close). A [`Recording`] keeps what AWS answered to a crawl, for tests that replay it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::moto::{Fixture, Moto};

const DRIVER: &str = include_str!("aws_account.py");

/// What the account holds when it starts.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// The regions; the first holds the reservations and load balancers below, the others one
    /// of each (the load balancer named as one of the first region's).
    pub regions: Vec<String>,
    /// Instances per reservation, in the first region.
    pub reservations: Vec<u32>,
    /// Classic load balancers in the first region (`elb-000`, ...), each tagged.
    pub load_balancers: u32,
    /// IAM users (`user-00`, ...), besides moto's own `reddalert`.
    pub users: u32,
    /// Hosted zones; the first, `example.com.`, holds the records.
    pub zones: u32,
    /// Plain `A` records in the first zone, besides a few of every kind.
    pub records: u32,
}

impl Seed {
    /// Enough of everything that every paged call moto pages is read over several pages:
    /// 103 reservations (moto pages at 100) of 112 instances, 55 load balancers (moto pages
    /// at 50; DescribeTags takes 20 names), 12 users, 101 zones (100 a page) and 317
    /// records in the first (300 a page), in two regions.
    pub fn full() -> Seed {
        let mut reservations = vec![4, 4, 4];
        reservations.extend([1; 100]);
        Seed {
            regions: vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
            reservations,
            load_balancers: 55,
            users: 12,
            zones: 101,
            records: 310,
        }
    }

    /// A little of everything, in two regions, for tests that crawl many times.
    pub fn small() -> Seed {
        Seed {
            regions: vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
            reservations: vec![2, 1],
            load_balancers: 3,
            users: 4,
            zones: 2,
            records: 3,
        }
    }
}

/// A running, seeded account; commands may come from several threads (one at a time).
pub struct AwsAccount {
    driver: Child,
    /// The driver's stdin and stdout, `None` once closed.
    pipes: Mutex<Option<(ChildStdin, BufReader<ChildStdout>)>>,
    /// What was created, by kind: `instances` (ids, first region), `groups` (per region: the
    /// ids of `web`, `db` and the VPC), `load_balancers` ([region, name]), `users`, `zones`
    /// ([name, id]), `ami` (per region, the AMI the instances run).
    pub seeded: Value,
    /// Dropped last: the server the driver talks to.
    pub moto: Moto,
}

impl AwsAccount {
    /// Starts moto with signature checks on and seeds it.
    pub fn start(seed: &Seed) -> AwsAccount {
        let moto = Moto::start(&Fixture::default());
        let mut driver = Command::new("python3")
            .args(["-c", DRIVER])
            .arg(moto.endpoint())
            .arg(&moto.access_key_id)
            .arg(&moto.secret_access_key)
            .arg(serde_json::to_string(seed).expect("a seed serialises"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .env_remove("AWS_PROFILE")
            .spawn()
            .expect("start python3 for the account's driver");
        let stdin = driver.stdin.take().expect("the driver's stdin");
        let mut stdout = BufReader::new(driver.stdout.take().expect("the driver's stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the driver's first line");
        let seeded: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("the account was not seeded (the driver printed {line:?}): {e}")
        });
        AwsAccount {
            driver,
            pipes: Mutex::new(Some((stdin, stdout))),
            seeded,
            moto,
        }
    }

    /// `http://127.0.0.1:PORT`: every service answers there.
    pub fn endpoint(&self) -> String {
        self.moto.endpoint()
    }

    /// Sends one command and returns its answer; a command that failed panics with the
    /// driver's error.
    pub fn command(&self, command: Value) -> Value {
        let mut pipes = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
        let (stdin, stdout) = pipes.as_mut().expect("the driver is running");
        writeln!(stdin, "{command}").expect("write to the driver");
        stdin.flush().expect("flush the driver's stdin");
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the driver's answer");
        drop(pipes);
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the driver answered {line:?} to {command}: {e}"));
        if let Some(error) = answer.get("error") {
            panic!("{command} failed in the driver: {error}");
        }
        answer
    }

    /// Calls a boto3 client method (`ec2`, `authorize_security_group_ingress`, {...}) and
    /// returns its answer as JSON (times as ISO text).
    pub fn boto(&self, service: &str, region: &str, method: &str, args: Value) -> Value {
        self.command(json!({"op": "boto", "service": service, "region": region,
                            "method": method, "args": args}))["result"]
            .take()
    }
}

impl Drop for AwsAccount {
    fn drop(&mut self) {
        drop(self.pipes.lock().unwrap_or_else(|e| e.into_inner()).take());
        let _ = self.driver.wait();
    }
}

/// The key of one request in a [`Recording`]: `query <service> <region> <action> k=v&...` or
/// `get <service> <region> <path> k=v&...`, parameters in the order sent.
pub fn request_key(
    kind: &str,
    service: &str,
    region: &str,
    target: &str,
    params: &[(&str, String)],
) -> String {
    let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{kind} {service} {region} {target} {}", params.join("&"))
}

/// AWS's answers to a crawl, as recorded from moto: one per request, in the order made.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Recording {
    pub exchanges: Vec<Exchange>,
}

/// One request ([`request_key`]) and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub request: String,
    pub status: u16,
    pub body: String,
}

impl Recording {
    /// Reads a gzipped recording.
    pub fn load(path: &Path) -> Recording {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("open the recording {}: {e}", path.display()));
        serde_json::from_reader(flate2::read::GzDecoder::new(file))
            .unwrap_or_else(|e| panic!("read the recording {}: {e}", path.display()))
    }

    /// Writes it gzipped.
    pub fn save(&self, path: &Path) {
        let file = std::fs::File::create(path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let mut zip = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        serde_json::to_writer(&mut zip, self).expect("write the recording");
        zip.finish().expect("finish the recording");
    }

    /// The answer recorded for `request`.
    pub fn answer(&self, request: &str) -> Option<&Exchange> {
        self.exchanges.iter().find(|e| e.request == request)
    }
}

/// `tests/fixtures/aws`: recorded AWS answers.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/aws")
}
