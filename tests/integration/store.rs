//! Runs over a SQLite store (`edda = "store:PATH"`): a store loaded from the EDDA fixtures
//! gives the stock rules the alerts the fake EDDA gives them, answers every query they make
//! byte for byte as the fake does, and serves them again over `serve-edda` to the HTTP client;
//! stale and never-crawled collections fail the rules that read them, which keep their
//! windows, and a run's `until` stops at the store's last commit.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edda_engine::sqlite::{AsOf, import};
use edda_engine::{ROOT_COLLECTIONS, Revision};
use reddalert_testkit::edda::{Store, fixtures_dir};
use reddalert_testkit::guests;
use serde_json::json;

use crate::support::*;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

fn basic() -> Store {
    Store::from_dir(&fixtures_dir().join("basic")).expect("basic fixtures")
}

/// The `basic` fixtures in a store file, every collection crawled just now.
fn basic_store(dir: &Path) -> PathBuf {
    let path = dir.join("account.sqlite");
    import(&path, &basic(), now_ms(), ROOT_COLLECTIONS).expect("import");
    path
}

/// A wide window over the fixtures' history: every stock rule has something to say.
fn everything() -> Vec<String> {
    window(T0 - 1_000, T4 + 1_000)
}

/// (status, body) of a raw GET, the target sent byte for byte.
fn raw_get(base_url: &str, target: &str) -> (u16, Vec<u8>) {
    let addr = base_url
        .trim_start_matches("http://")
        .trim_end_matches("/edda");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let status = String::from_utf8_lossy(&raw[..split])
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, raw[split + 4..].to_vec())
}

#[test]
fn the_store_gives_the_stock_rules_what_the_fake_edda_gives_them_byte_for_byte() {
    let fake = basic_edda();
    let over_http = Env::new(&fake.base_url(), guests::STOCK, "");
    let http = over_http.run(&strs(&everything()));
    assert_eq!(http.code, 0, "{}", http.stderr);
    assert!(http.alerts().len() >= 5, "{}", http.stdout);

    let path = basic_store(over_http.dir.path());
    let from_store = Env::new(&format!("store:{}", path.display()), guests::STOCK, "");
    let store = from_store.run(&strs(&everything()));
    assert_eq!(store.code, 0, "{}", store.stderr);
    assert_eq!(store.alerts(), http.alerts());

    // Every request the rules made of the fake, answered by the store as of its clock.
    let reader = AsOf::open(&path, now_ms(), None).expect("open the store");
    let targets = fake.requests();
    let mut statuses = std::collections::BTreeSet::new();
    for target in &targets {
        let (status, body) = raw_get(&fake.base_url(), target);
        let path = target
            .strip_prefix("/edda/api/v2/")
            .expect("an API request");
        let reply = edda_engine::answer(&reader, path).expect("the store reads");
        assert_eq!(
            (reply.status, String::from_utf8_lossy(&reply.body)),
            (status, String::from_utf8_lossy(&body)),
            "{target}"
        );
        statuses.insert(status);
    }
    assert!(
        targets.iter().any(|t| t.contains(";_diff=")),
        "iam's _diff queries were compared: {targets:?}"
    );
    assert!(
        statuses.contains(&200) && statuses.iter().any(|s| [400, 404, 410].contains(s)),
        "answers and EDDA's errors were compared: {statuses:?}"
    );
}

/// `reddalert serve-edda` on an ephemeral loopback port, killed when dropped.
struct Served {
    child: Child,
    base_url: String,
}

impl Served {
    fn start(store: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reddalert"))
            .args([
                "serve-edda",
                "--store",
                path_str(store),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve-edda");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let base_url = loop {
            let line = lines
                .next()
                .expect("serve-edda logged where it listens")
                .expect("stderr line");
            if let Some(at) = line.find("serving EDDA on http://") {
                let rest = &line[at + "serving EDDA on ".len()..];
                let url = rest.split_whitespace().next().expect("url");
                break url.trim_end_matches("/api/v2/").to_owned();
            }
        };
        // Keep reading its log so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Served { child, base_url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_edda_serves_the_store_to_the_http_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = basic_store(dir.path());
    let served = Served::start(&path, &[]);
    let over_http = Env::new(&served.base_url, guests::STOCK, "");
    let http = over_http.run(&strs(&everything()));
    assert_eq!(http.code, 0, "{}", http.stderr);
    let direct = Env::new(&format!("store:{}", path.display()), guests::STOCK, "");
    let store = direct.run(&strs(&everything()));
    assert_eq!(http.alerts(), store.alerts());
    assert!(!http.alerts().is_empty());

    // EDDA's own paths and errors, and the root-context form of the API.
    let (status, body) = raw_get(&served.base_url, "/edda/api/v2/aws/iamUsers/carol");
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    let (status, body) = raw_get(&served.base_url, "/api/v2/aws/iamUsers");
    assert_eq!((status, body.as_slice()), (200, &br#"["alice","bob"]"#[..]));
    let (status, _) = raw_get(&served.base_url, "/edda/api/v2/aws/nope");
    assert_eq!(status, 400);
}

#[test]
fn stale_and_never_crawled_collections_fail_their_rules_which_keep_their_windows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = basic_store(dir.path());
    let env = Env::new(
        &format!("store:{}", path.display()),
        guests::STOCK,
        "store-until = true\n[crawl]\nmax_staleness_minutes = 60\n",
    );
    let first = env.run(&strs(&everything()));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let started = T4 + 1_000 + 1;
    assert_eq!(env.status_json()["rules"]["secgroups"]["since"], started);

    // The security groups were last crawled two hours ago; the users never were.
    let two_hours_ago = now_ms() - 2 * 3_600_000;
    import(&path, &Store::new(), two_hours_ago, ["aws.securityGroups"]).expect("mark stale");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute("DELETE FROM crawls WHERE root = 'aws.iamUsers'", [])
        .expect("forget the users' crawl");

    let second = env.run(&["--until", &(T4 + 5_000).to_string()]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("collection aws.securityGroups of store")
            && second
                .stderr
                .contains("minutes ago), longer ago than max_staleness (60 minutes)"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("collection aws.iamUsers has never been crawled into store"),
        "{}",
        second.stderr
    );
    let status = env.status_json();
    // secgroups reads the groups, iam the users; the instance rules read the groups too.
    for failed in ["secgroups", "iam", "ami", "newtag", "missingtag"] {
        assert_eq!(
            status["rules"][failed]["since"], started,
            "{failed} kept its window"
        );
        assert!(status["rules"][failed]["consecutive_failures"].as_u64() >= Some(1));
    }
    assert_eq!(status["rules"]["elbs"]["since"], T4 + 5_000 + 1, "elbs ran");

    // The operator allows three hours: the groups' rules run, the users' still fail.
    env.edit_config("max_staleness_minutes = 60", "max_staleness_minutes = 180");
    let third = env.run(&["--until", &(T4 + 5_000).to_string()]);
    assert_eq!(third.code, 1, "{}", third.stderr);
    assert!(
        !third.stderr.contains("aws.securityGroups"),
        "{}",
        third.stderr
    );
    let status = env.status_json();
    for ran in ["secgroups", "ami", "newtag", "missingtag", "elbs"] {
        assert_eq!(status["rules"][ran]["since"], T4 + 5_000 + 1, "{ran} ran");
    }
    assert_eq!(
        status["rules"]["iam"]["since"], started,
        "iam kept its window"
    );
}

#[test]
fn a_run_reads_up_to_the_stores_last_commit_and_continues_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("account.sqlite");
    // Before now minus the run's lag (5 minutes): the clamp, not the lag, ends the window.
    let commit = now_ms() - 600_000;
    let mut store = Store::new();
    let mut group = basic().revisions("aws.securityGroups")[0].data.clone();
    group["ipPermissions"] = json!([{"fromPort": 22, "toPort": 22, "ipProtocol": "tcp",
        "ipRanges": ["0.0.0.0/0"], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}]);
    store.insert(
        "aws.securityGroups",
        Revision {
            id: group["groupId"].as_str().expect("id").to_owned(),
            stime: commit,
            ltime: None,
            ctime: None,
            data: group,
        },
    );
    for root in ["view.instances", "aws.loadBalancers"] {
        for rev in basic().revisions(root) {
            store.insert(root, rev);
        }
    }
    import(&path, &store, commit, ROOT_COLLECTIONS).expect("import");
    let env = Env::new(
        &format!("store:{}", path.display()),
        &[guests::SECGROUPS],
        "store-until = true\n",
    );
    // Asked for a window up to now, the run stops at the commit, which it reads.
    let run = env.run(&["--since", &(commit - 600_000).to_string()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.alerts_of("secgroups").len(), 1, "{}", run.stdout);
    assert_eq!(env.status_json()["rules"]["secgroups"]["since"], commit + 1);
    // The next run starts after it: the change is not raised twice.
    let again = env.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.alerts().is_empty(), "{}", again.stdout);
}

#[test]
fn a_store_that_cannot_be_opened_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.sqlite");
    let env = Env::new(&format!("store:{}", missing.display()), &[guests::ELBS], "");
    let run = env.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("does not exist; `reddalert crawl` creates it"),
        "{}",
        run.stderr
    );
    assert!(!missing.exists(), "a run never creates a store");
}

#[test]
fn rules_names_the_store_and_each_collections_last_crawl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = basic_store(dir.path());
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute(
            "UPDATE crawls SET last_attempt_ms = last_attempt_ms + 1, last_error = 'throttled'
             WHERE root = 'aws.iamUsers'",
            [],
        )
        .expect("a failed attempt");
    let env = Env::new(&format!("store:{}", path.display()), &[guests::ELBS], "");
    let run = env.run(&["rules", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let store = &doc["stores"][0];
    assert_eq!(store["path"], path_str(&path));
    assert!(store["last_commit_ms"].as_i64() > Some(0), "{store}");
    let collections = store["collections"].as_array().expect("collections");
    assert_eq!(collections.len(), ROOT_COLLECTIONS.len());
    let users = collections
        .iter()
        .find(|c| c["root"] == "aws.iamUsers")
        .expect("the users");
    assert_eq!(users["last_error"], "throttled");
    assert!(
        users["last_success"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let text = env.run(&["rules"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(&format!("store {}", path.display()))
            && text.stdout.lines().any(|l| l.contains("aws.iamUsers")
                && l.contains("last crawled")
                && l.contains(": throttled")),
        "{}",
        text.stdout
    );
}
