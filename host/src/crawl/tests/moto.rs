//! The crawl against moto's server (signatures checked) through the AWS client, moto seeded
//! with boto3 with enough of everything that every call moto pages is read over several
//! pages. With `REDDALERT_RECORD_AWS=1` the test also writes what moto answered to
//! `tests/fixtures/aws/moto-account.json.gz`, the recording the other tests replay: rerun it
//! that way after changing the calls the crawl makes.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use anyhow::Result;
use reddalert_testkit::aws_account::{
    AwsAccount, Exchange, Recording, Seed, fixtures_dir, request_key,
};
use serde_json::Value;

use super::{RECORDED, read_all, service_name};
use crate::aws::{Client, Env};
use crate::config::CrawlSettings;
use crate::crawl::{Api, Collection, Service};

/// The AWS client calling moto, every answer recorded.
struct Live {
    client: Client,
    recording: Mutex<Recording>,
}

impl Live {
    fn new(account: &AwsAccount, regions: &[String]) -> Live {
        let settings = CrawlSettings {
            regions: regions.to_vec(),
            endpoint_url: Some(account.endpoint()),
            ..CrawlSettings::default()
        };
        let env = Env::fixed([
            ("AWS_ACCESS_KEY_ID", account.moto.access_key_id.as_str()),
            (
                "AWS_SECRET_ACCESS_KEY",
                account.moto.secret_access_key.as_str(),
            ),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]);
        Live {
            client: Client::with_env(&settings, env).unwrap(),
            recording: Mutex::new(Recording::default()),
        }
    }

    fn record(
        &self,
        request: String,
        answer: Result<String, crate::aws::AwsError>,
    ) -> Result<String> {
        let body = answer?;
        let exchange = Exchange {
            request,
            status: 200,
            body: body.clone(),
        };
        self.recording.lock().unwrap().exchanges.push(exchange);
        Ok(body)
    }
}

impl Api for Live {
    fn query(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<String> {
        let key = request_key("query", service_name(service), region, action, params);
        self.record(key, self.client.query(service, region, action, params))
    }

    fn rest_get(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String> {
        let key = request_key("get", service_name(service), region, path, query);
        self.record(key, self.client.rest_get(service, region, path, query))
    }
}

#[test]
fn every_page_of_every_call_is_read_from_moto() {
    let seed = Seed::full();
    let account = AwsAccount::start(&seed);
    let seeded = account.seeded.clone();
    let live = Live::new(&account, &seed.regions);
    let read = read_all(&live, &seed.regions);

    let in_region = |c: Collection, region: &str| -> Vec<&Value> {
        let name = format!("{region}.{}", c.root());
        read[&c]
            .iter()
            .filter(|d| d.collection == name)
            .map(|d| &d.data)
            .collect()
    };
    assert_eq!(in_region(Collection::Instances, "us-east-1").len(), 112);
    assert_eq!(in_region(Collection::Instances, "eu-west-1").len(), 1);
    let east = in_region(Collection::LoadBalancers, "us-east-1");
    assert_eq!(east.len(), 55);
    assert_eq!(in_region(Collection::LoadBalancers, "eu-west-1").len(), 1);
    assert!(
        east.iter()
            .all(|lb| lb["tags"].as_array().is_some_and(|t| t.len() == 2))
    );
    for region in &seed.regions {
        let groups: HashSet<&str> = in_region(Collection::SecurityGroups, region)
            .iter()
            .filter_map(|g| g["groupId"].as_str())
            .collect();
        for name in ["web", "db"] {
            let id = seeded["groups"][region][name].as_str().unwrap();
            assert!(groups.contains(id), "{region}: {name} ({id}) not read");
        }
    }
    // moto's own user besides the seeded ones.
    assert_eq!(read[&Collection::IamUsers].len(), 13);
    assert_eq!(read[&Collection::HostedZones].len(), 101);
    // 310 + 7 records, NS and SOA in the first zone; NS and SOA in each of the 100 others.
    assert_eq!(read[&Collection::HostedRecords].len(), 319 + 200);

    // Every resource once: ids are unique in the collection each is kept in.
    for (collection, documents) in &read {
        let mut seen = HashSet::new();
        for d in documents {
            assert!(
                seen.insert((&d.collection, &d.id)),
                "{}: {} twice",
                collection.root(),
                d.id
            );
        }
    }

    // Several pages of what moto pages; DescribeTags 20 names at most.
    let recording = live.recording.into_inner().unwrap();
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for e in &recording.exchanges {
        let mut words = e.request.split(' ');
        let (_, _, region, target) = (
            words.next(),
            words.next(),
            words.next().unwrap(),
            words.next().unwrap(),
        );
        let target = if target.ends_with("/rrset") {
            "rrset"
        } else {
            target
        };
        *calls.entry(format!("{region} {target}")).or_default() += 1;
        assert_eq!(e.status, 200, "{}: {}", e.request, e.body);
        if e.request.contains(" DescribeTags ") {
            assert!(e.request.matches("LoadBalancerNames.member.").count() <= 20);
        }
    }
    let count = |key: &str| calls.get(key).copied().unwrap_or_default();
    assert_eq!(count("us-east-1 DescribeInstances"), 2, "{calls:?}");
    assert_eq!(count("us-east-1 DescribeLoadBalancers"), 2, "{calls:?}");
    assert_eq!(count("us-east-1 DescribeTags"), 4, "{calls:?}");
    assert_eq!(count("us-east-1 /2013-04-01/hostedzone"), 2, "{calls:?}");
    // One page for each of the 100 small zones, two for the first.
    assert_eq!(count("us-east-1 rrset"), 102, "{calls:?}");
    // N + 2 IAM calls: ListUsers, the authorization details, one ListAccessKeys per user.
    let iam: usize = [
        "ListUsers",
        "GetAccountAuthorizationDetails",
        "ListAccessKeys",
    ]
    .iter()
    .map(|a| count(&format!("us-east-1 {a}")))
    .sum();
    assert_eq!(iam, 13 + 2, "{calls:?}");

    if std::env::var_os("REDDALERT_RECORD_AWS").is_some() {
        let path = fixtures_dir().join(RECORDED);
        std::fs::create_dir_all(fixtures_dir()).unwrap();
        recording.save(&path);
        eprintln!(
            "recorded {} answers to {}",
            recording.exchanges.len(),
            path.display()
        );
    }
}
