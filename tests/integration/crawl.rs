//! `reddalert crawl` end to end, the real parts: moto's server with signature checks on,
//! seeded with boto3 and changed between crawls, behind the test kit's proxy (which fails or
//! throttles requests on command); the real binary crawling it into a SQLite store; the stock
//! rules run over that store. What changed in AWS is alerted, a crawl that saw no change
//! records nothing, a page that fails records nothing of its collection, a throttled call is
//! retried, no credentials or a locked store stop the crawl before it reads anything, and each
//! account of a config gets its own store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use reddalert_testkit::aws_account::{AwsAccount, Seed};
use reddalert_testkit::aws_proxy::FailingProxy;
use reddalert_testkit::guests;
use serde_json::{Value, json};

use crate::support::*;

/// The variables of the AWS credential chain and endpoints, cleared so that only what a test
/// gives the binary counts.
const AWS_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
];

/// An account in moto behind a proxy, and an installation whose store the crawl fills.
pub(crate) struct Crawled {
    pub(crate) aws: AwsAccount,
    pub(crate) proxy: FailingProxy,
    pub(crate) env: Env,
}

impl Crawled {
    /// moto seeded with `seed`, the proxy before it, and a config reading
    /// `store:account.sqlite` with `modules` and `extra` (after the `[crawl]` section, so
    /// `extra` may open sections of its own).
    pub(crate) fn start(seed: &Seed, modules: &[&str], extra: &str) -> Crawled {
        let aws = AwsAccount::start(seed);
        let proxy = FailingProxy::start(&aws.endpoint());
        let regions: Vec<String> = seed.regions.iter().map(|r| format!("{r:?}")).collect();
        let env = Env::new(
            "store:account.sqlite",
            modules,
            &format!(
                "until_lag_seconds = 0\n[crawl]\nregions = [{}]\nendpoint_url = {:?}\nretries = 2\n{extra}",
                regions.join(", "),
                proxy.url()
            ),
        );
        Crawled { aws, proxy, env }
    }

    /// The binary with the moto user's keys (when `keys`) and nothing else of AWS's chain.
    pub(crate) fn command(&self, args: &[&str], keys: bool) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_reddalert"));
        command.args(self.env.args(args));
        for var in AWS_VARS.iter().chain(&["RUST_LOG", "SENTRY_DSN"]) {
            command.env_remove(var);
        }
        command
            .env("HOME", self.env.path("home"))
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if keys {
            command
                .env("AWS_ACCESS_KEY_ID", &self.aws.moto.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &self.aws.moto.secret_access_key);
        }
        command
    }

    pub(crate) fn output(&self, args: &[&str], keys: bool) -> Run {
        let output = self.command(args, keys).output().expect("run reddalert");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `reddalert crawl`.
    pub(crate) fn crawl(&self) -> Run {
        self.output(&["crawl"], true)
    }

    /// A run of the rules over the store, `--since since --until` now.
    pub(crate) fn run(&self, since: u64) -> Run {
        let until = now_ms().to_string();
        self.output(&["--since", &since.to_string(), "--until", &until], true)
    }

    pub(crate) fn store(&self) -> PathBuf {
        self.env.path("account.sqlite")
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.store()).expect("open the store")
    }

    /// Revisions by root collection.
    pub(crate) fn revisions(&self) -> BTreeMap<String, u64> {
        let db = self.db();
        let mut query = db
            .prepare(
                "SELECT c.root, count(*) FROM revisions r JOIN collections c ON c.cid = r.cid \
                 GROUP BY c.root",
            )
            .unwrap();
        query
            .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Live resources of one collection (`us-east-1.view.instances`), by id.
    pub(crate) fn live(&self, collection: &str) -> BTreeMap<String, Value> {
        let db = self.db();
        let mut query = db
            .prepare(
                "SELECT r.id, r.data FROM revisions r JOIN collections c ON c.cid = r.cid \
                 WHERE c.name = ?1 AND r.ltime IS NULL",
            )
            .unwrap();
        query
            .query_map([collection], |row| {
                Ok((row.get(0)?, row.get::<_, String>(1)?))
            })
            .unwrap()
            .map(|r| {
                let (id, data) = r.unwrap();
                (id, serde_json::from_str(&data).unwrap())
            })
            .collect()
    }

    /// The store's clock: its last commit.
    pub(crate) fn clock(&self) -> u64 {
        self.db()
            .query_row("SELECT ms FROM store_clock", [], |row| row.get::<_, i64>(0))
            .unwrap() as u64
    }

    /// (last success, last error) of a root collection's crawls.
    fn crawl_status(&self, root: &str) -> (Option<i64>, Option<String>) {
        self.db()
            .query_row(
                "SELECT last_success_ms, last_error FROM crawls WHERE root = ?1",
                [root],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    }

    /// The crawl's metrics textfile.
    fn metrics(&self) -> String {
        std::fs::read_to_string(self.env.path("metrics/reddalert-crawl.prom"))
            .expect("the crawl wrote its metrics")
    }

    fn web_group(&self) -> String {
        self.aws.seeded["groups"]["us-east-1"]["web"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The value of a metric series whose line starts with `series`.
fn metric(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The changes the issue names: port 22 opened to the world, a listener on 8080, a user
/// added to a group, a new user, and an instance from a new AMI without tags (whose id is
/// returned). moto reports launch times to the second, so the launch waits for the next one.
fn change(account: &Crawled) -> String {
    let web = account.web_group();
    let aws = &account.aws;
    aws.boto(
        "ec2",
        "us-east-1",
        "authorize_security_group_ingress",
        json!({"GroupId": web,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
    );
    aws.boto(
        "elb",
        "us-east-1",
        "create_load_balancer_listeners",
        json!({"LoadBalancerName": "elb-000",
        "Listeners": [{"Protocol": "TCP", "LoadBalancerPort": 8080, "InstanceProtocol": "TCP",
                       "InstancePort": 8080}]}),
    );
    aws.boto(
        "iam",
        "us-east-1",
        "add_user_to_group",
        json!({"UserName": "user-00", "GroupName": "admins"}),
    );
    aws.boto(
        "iam",
        "us-east-1",
        "create_user",
        json!({"UserName": "mallory"}),
    );
    let source = aws.seeded["instances"][0].as_str().unwrap().to_owned();
    let image = aws.boto(
        "ec2",
        "us-east-1",
        "create_image",
        json!({"InstanceId": source, "Name": "unknown-base"}),
    );
    let image = image["ImageId"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    aws.boto(
        "ec2",
        "us-east-1",
        "run_instances",
        json!({"ImageId": image, "MinCount": 1, "MaxCount": 1,
        "InstanceType": "t3.micro"}),
    );
    image
}

#[test]
fn a_crawl_then_a_run_reports_what_changed_in_aws() {
    let account = Crawled::start(
        &Seed::small(),
        guests::STOCK,
        "[plugin.secgroups]\nallowed_ports = [80, 443]\n[metrics]\ntextfile = \"metrics/reddalert.prom\"\n",
    );
    std::fs::create_dir_all(account.env.path("metrics")).unwrap();
    let first = account.crawl();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.is_empty(),
        "the crawl printed {:?}",
        first.stdout
    );
    let recorded = account.revisions();
    // 3 + 1 instances, 3 + 1 load balancers, 4 users and moto's own, 2 zones, 12 + 2 records.
    assert_eq!(recorded["view.instances"], 4, "{recorded:?}");
    assert_eq!(recorded["aws.loadBalancers"], 4);
    assert_eq!(recorded["aws.iamUsers"], 5);
    assert_eq!(recorded["aws.hostedZones"], 2);
    assert_eq!(recorded["aws.hostedRecords"], 14);
    assert!(recorded["aws.securityGroups"] >= 6, "{recorded:?}");
    let elbs = account.live("eu-west-1.aws.loadBalancers");
    assert_eq!(
        elbs.keys().collect::<Vec<_>>(),
        ["elb-000"],
        "the other region's elb-000"
    );
    let metrics = account.metrics();
    assert_eq!(metric(&metrics, "reddalert_crawl_last_exit_code"), 0.0);
    assert_eq!(
        metric(
            &metrics,
            "reddalert_crawl_resources{collection=\"view.instances\"}"
        ),
        4.0
    );
    assert_eq!(
        metric(
            &metrics,
            "reddalert_crawl_revisions_recorded{collection=\"aws.iamUsers\"}"
        ),
        5.0
    );

    // Nothing changed: nothing recorded, but the clock moves on.
    let crawled = account.clock();
    let again = account.crawl();
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(account.revisions(), recorded);
    assert!(account.clock() > crawled);
    let metrics = account.metrics();
    for root in [
        "view.instances",
        "aws.securityGroups",
        "aws.loadBalancers",
        "aws.iamUsers",
        "aws.hostedRecords",
    ] {
        let series = format!("reddalert_crawl_revisions_recorded{{collection=\"{root}\"}}");
        assert_eq!(metric(&metrics, &series), 0.0, "{root}");
        let failed = format!("reddalert_crawl_collection_failed{{collection=\"{root}\"}}");
        assert_eq!(metric(&metrics, &failed), 0.0, "{root}");
    }

    // The unchanged crawl's window is quiet.
    let quiet = account.run(crawled + 1);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.alerts(), Vec::<Value>::new());

    let unchanged = account.clock();
    let image = change(&account);
    let third = account.crawl();
    assert_eq!(third.code, 0, "{}", third.stderr);
    let changed = account.revisions();
    assert_eq!(
        changed["aws.securityGroups"],
        recorded["aws.securityGroups"] + 1
    );
    assert_eq!(
        changed["aws.loadBalancers"],
        recorded["aws.loadBalancers"] + 1
    );
    assert_eq!(changed["aws.iamUsers"], recorded["aws.iamUsers"] + 2);
    assert_eq!(changed["view.instances"], recorded["view.instances"] + 1);

    let run = account.run(unchanged + 1);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let web = account.web_group();
    let secgroups = run.alerts_of("secgroups");
    assert_eq!(secgroups.len(), 1, "{secgroups:?}");
    assert_eq!(secgroups[0]["id"], format!("{web} (web)"));
    assert_eq!(
        (
            secgroups[0]["details"]["fromPort"].clone(),
            secgroups[0]["details"]["ipRanges"].clone()
        ),
        (json!(22), json!(["0.0.0.0/0"]))
    );
    let elbs = run.alerts_of("elbs");
    assert_eq!(elbs.len(), 1, "{elbs:?}");
    assert_eq!(elbs[0]["id"], "elb-000");
    assert!(elbs[0]["details"].to_string().contains("8080"), "{elbs:?}");
    let iam: BTreeMap<String, String> = run
        .alerts_of("iam")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["details"]["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        iam,
        BTreeMap::from([
            ("mallory".to_owned(), "New user has been added".to_owned()),
            (
                "user-00".to_owned(),
                "Groups the user has been added to: admins".to_owned()
            ),
        ])
    );
    let ami = run.alerts_of("ami");
    assert_eq!(
        ami.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(),
        [json!(image)]
    );
    assert_eq!(run.alerts_of("missingtag").len(), 1, "{}", run.stdout);
    assert_eq!(run.alerts_of("newtag"), Vec::<Value>::new());
}

#[test]
fn a_page_that_fails_records_nothing_of_its_collection() {
    let account = Crawled::start(
        &Seed::small(),
        &[],
        "[metrics]\ntextfile = \"reddalert.prom\"\n",
    );
    let first = account.crawl();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = account.revisions();
    let instances = account.live("us-east-1.view.instances");
    let (succeeded, _) = account.crawl_status("view.instances");
    account.aws.boto(
        "ec2",
        "us-east-1",
        "run_instances",
        json!({"ImageId": account.aws.seeded["ami"]["us-east-1"],
        "MinCount": 1, "MaxCount": 1}),
    );
    account.aws.boto(
        "iam",
        "us-east-1",
        "create_user",
        json!({"UserName": "mallory"}),
    );

    // The second region's instances, and the second zone's records, fail; each is one page of
    // a collection whose other pages were read.
    account.proxy.reset();
    account
        .proxy
        .fail("DescribeInstances", &[2], 400, "InvalidParameterValue");
    account
        .proxy
        .fail("ListResourceRecordSets", &[2], 400, "InvalidInput");
    let failed = account.crawl();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("view.instances"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("aws.hostedRecords"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("InvalidParameterValue"),
        "{}",
        failed.stderr
    );
    let after = account.revisions();
    assert_eq!(
        after["view.instances"], before["view.instances"],
        "nothing recorded of the instances"
    );
    assert_eq!(
        account.live("us-east-1.view.instances"),
        instances,
        "none new, none gone"
    );
    assert_eq!(after["aws.hostedRecords"], before["aws.hostedRecords"]);
    assert_eq!(
        after["aws.iamUsers"],
        before["aws.iamUsers"] + 1,
        "the other collections are recorded"
    );
    let (still, error) = account.crawl_status("view.instances");
    assert_eq!(still, succeeded, "the last success stays");
    assert!(error.is_some_and(|e| e.contains("DescribeInstances")));
    let metrics = std::fs::read_to_string(account.env.path("reddalert-crawl.prom")).unwrap();
    assert_eq!(metric(&metrics, "reddalert_crawl_last_exit_code"), 1.0);
    assert_eq!(
        metric(
            &metrics,
            "reddalert_crawl_collection_failed{collection=\"view.instances\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &metrics,
            "reddalert_crawl_collection_failed{collection=\"aws.iamUsers\"}"
        ),
        0.0
    );

    account.proxy.reset();
    let next = account.crawl();
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(
        account.revisions()["view.instances"],
        before["view.instances"] + 1
    );
    assert_eq!(
        account.crawl_status("view.instances").1,
        None,
        "a success clears the error"
    );
}

#[test]
fn a_throttled_call_is_retried() {
    let account = Crawled::start(&Seed::small(), &[], "");
    account
        .proxy
        .fail("DescribeSecurityGroups", &[1, 2], 400, "Throttling");
    account
        .proxy
        .fail("ListUsers", &[1], 503, "ServiceUnavailable");
    let crawl = account.crawl();
    assert_eq!(crawl.code, 0, "{}", crawl.stderr);
    // Two regions, and the first request of the first answered twice with throttling.
    assert_eq!(account.proxy.seen("DescribeSecurityGroups"), 4);
    assert_eq!(account.proxy.seen("ListUsers"), 2);
    assert!(account.revisions()["aws.securityGroups"] >= 6);
}

#[test]
fn no_credentials_a_locked_store_or_no_store_read_nothing() {
    let account = Crawled::start(&Seed::small(), &[], "");
    let run = account.output(&["crawl"], false);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no usable AWS credentials"),
        "{}",
        run.stderr
    );
    assert_eq!(account.proxy.seen_total(), 0, "nothing was asked of AWS");

    let lock = std::fs::File::create(account.env.path("account.sqlite.lock")).unwrap();
    lock.try_lock().unwrap();
    let locked = account.crawl();
    assert_eq!(locked.code, 2, "{}", locked.stderr);
    assert!(
        locked.stderr.contains("locked by another crawl"),
        "{}",
        locked.stderr
    );
    assert_eq!(account.proxy.seen_total(), 0);
    drop(lock);

    account.env.edit_config(
        "edda = \"store:account.sqlite\"",
        "edda = \"http://127.0.0.1:1/edda\"",
    );
    let no_store = account.crawl();
    assert_eq!(no_store.code, 2, "{}", no_store.stderr);
    assert!(
        no_store.stderr.contains("store:<path>"),
        "{}",
        no_store.stderr
    );
    assert_eq!(account.proxy.seen_total(), 0);
}

#[test]
fn each_account_is_crawled_into_its_own_store_and_fails_alone() {
    let account = Crawled::start(&Seed::small(), &[], "");
    let accounts = "[[account]]\nname = \"prod\"\nedda = \"store:prod.sqlite\"\n\
                    [[account]]\nname = \"dev\"\nedda = \"store:dev.sqlite\"\n\
                    [[account]]\nname = \"legacy\"\nedda = \"http://127.0.0.1:1/edda\"\n";
    account
        .env
        .edit_config("edda = \"store:account.sqlite\"\n", "");
    let config = std::fs::read_to_string(&account.env.config).unwrap();
    std::fs::write(&account.env.config, format!("{config}\n{accounts}")).unwrap();
    let shard = |n: &str| -> Vec<bool> {
        let run = account.output(&["crawl", "--shard", n], true);
        assert_eq!(run.code, 0, "{}", run.stderr);
        ["prod", "dev"]
            .map(|a| account.env.path(&format!("{a}.sqlite")).exists())
            .to_vec()
    };
    // The names hash to shards 0 and 1 (sha256, first 8 bytes, modulo 2).
    assert_eq!(shard("0/2"), [true, false]);
    assert_eq!(shard("1/2"), [true, true]);
    for store in ["prod.sqlite", "dev.sqlite"] {
        let db = rusqlite::Connection::open(account.env.path(store)).unwrap();
        let users: i64 = db
            .query_row(
                "SELECT count(*) FROM revisions r JOIN collections c ON c.cid = r.cid \
                        WHERE c.root = 'aws.iamUsers'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(users, 5, "{store}");
    }

    // A locked store fails its account alone.
    let lock = std::fs::File::create(account.env.path("dev.sqlite.lock")).unwrap();
    lock.try_lock().unwrap();
    let run = account.crawl();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("dev") && run.stderr.contains("locked"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("recorded"),
        "prod was crawled: {}",
        run.stderr
    );
}
