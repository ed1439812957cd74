//! Pages and failures, on recorded answers: the calls moto answers in one page (security
//! groups, the IAM listings, a record set identifier in Route 53's marker) split into two
//! pages give the same documents; a page that fails, anywhere, fails its collection and no
//! other; a marker that comes back is a loop, not a crawl that never ends.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Replay, at_mut, leaf, read_all, recorded_regions, to_xml};
use crate::crawl::xml::{self, Element};
use crate::crawl::{Collection, read_account};
use crate::store::Document;

/// Splits the answer to `request` in two at the middle of the list at `list`: the first half
/// answers `request`, marked as truncated by `mark`, the second answers `next`.
fn split(
    replay: &mut Replay,
    request: &str,
    list: &[&str],
    next: &str,
    mark: impl Fn(&mut Element),
) {
    let mut first = xml::parse(replay.get(request)).unwrap();
    let mut second = first.clone();
    let items = at_mut(&mut first, list).children.len();
    assert!(items >= 2, "{request}: {items} items to split");
    at_mut(&mut first, list).children.truncate(items / 2);
    at_mut(&mut second, list).children.drain(..items / 2);
    mark(&mut first);
    replay.set(request, 200, to_xml(&first));
    replay.set(next, 200, to_xml(&second));
}

/// Fails naming the first few resources `a` and `b` differ in.
fn assert_same(a: &BTreeMap<(String, String), Value>, b: &BTreeMap<(String, String), Value>) {
    let differ: Vec<_> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .take(5)
        .collect();
    assert!(
        differ.is_empty(),
        "{} and {} resources; these differ: {differ:?}",
        a.len(),
        b.len()
    );
}

fn by_id(read: &BTreeMap<Collection, Vec<Document>>) -> BTreeMap<(String, String), Value> {
    read.values()
        .flatten()
        .map(|d| ((d.collection.clone(), d.id.clone()), d.data.clone()))
        .collect()
}

/// Appends `<name>text</name>` to the element at `path`.
fn add(root: &mut Element, path: &[&str], name: &str, text: &str) {
    at_mut(root, path).children.push(leaf(name, text));
}

#[test]
fn answers_in_one_page_split_in_two_give_the_same_documents() {
    let regions = recorded_regions();
    let whole = by_id(&read_all(&Replay::recorded(), &regions));
    let mut replay = Replay::recorded();

    let groups = "query ec2 us-east-1 DescribeSecurityGroups ";
    split(
        &mut replay,
        groups,
        &["securityGroupInfo"],
        &format!("{groups}NextToken=t1"),
        |page| add(page, &[], "nextToken", "t1"),
    );
    let iam = |action: &str, list: &[&str], params: &str, replay: &mut Replay| {
        let request = format!("query iam us-east-1 {action} {params}MaxItems=1000");
        let result = format!("{action}Result");
        let mut path = vec![result.as_str()];
        path.extend(list);
        split(
            replay,
            &request,
            &path,
            &format!("{request}&Marker=m1"),
            |page| {
                let result = at_mut(page, &[&result]);
                result.children.retain(|c| c.name != "IsTruncated");
                result.children.push(leaf("IsTruncated", "true"));
                result.children.push(leaf("Marker", "m1"));
            },
        );
    };
    iam("ListUsers", &["Users"], "", &mut replay);
    iam(
        "GetAccountAuthorizationDetails",
        &["UserDetailList"],
        "Filter.member.1=User&",
        &mut replay,
    );
    iam(
        "ListAccessKeys",
        &["AccessKeyMetadata"],
        "UserName=user-02&",
        &mut replay,
    );

    // Route 53's marker is a triple: the recorded second page of the first zone is asked for
    // again with an identifier.
    let rrset = replay.requests("get route53 us-east-1 /2013-04-01/hostedzone/");
    let second = rrset
        .iter()
        .find(|k| k.contains("name="))
        .expect("a second page of records")
        .clone();
    let first = second[..=second.rfind(' ').unwrap()].to_owned();
    let mut page = xml::parse(replay.get(&first)).unwrap();
    add(&mut page, &[], "NextRecordIdentifier", "blue");
    let answer = replay.get(&second).to_owned();
    replay.set(&first, 200, to_xml(&page));
    replay.set(&format!("{second}&identifier=blue"), 200, answer);
    replay.set(&second, 500, "the identifier was not sent".to_owned());

    let paged = by_id(&read_all(&replay, &regions));
    assert_same(&paged, &whole);
    let asked = replay.asked.lock().unwrap();
    for page in [
        format!("{groups}NextToken=t1"),
        "query iam us-east-1 ListUsers MaxItems=1000&Marker=m1".to_owned(),
        "query iam us-east-1 GetAccountAuthorizationDetails Filter.member.1=User&MaxItems=1000&Marker=m1".to_owned(),
        "query iam us-east-1 ListAccessKeys UserName=user-02&MaxItems=1000&Marker=m1".to_owned(),
        format!("{second}&identifier=blue"),
    ] {
        assert!(asked.contains(&page), "{page} was not asked for");
    }
}

/// What reading every collection gives with `request` failing: the roots that failed, with
/// their errors.
fn failing(request: &str) -> BTreeMap<&'static str, String> {
    let mut replay = Replay::recorded();
    replay.get(request);
    replay.set(
        request,
        503,
        "<Error><Code>ServiceUnavailable</Code></Error>".to_owned(),
    );
    read_account(&replay, &recorded_regions(), &Collection::ALL)
        .into_iter()
        .filter_map(|(c, read)| read.err().map(|e| (c.root(), format!("{e:#}"))))
        .collect()
}

#[test]
fn a_page_that_fails_fails_its_collection_and_no_other() {
    let replay = Replay::recorded();
    let page_two = replay.requests("query ec2 us-east-1 DescribeInstances NextToken=");
    let failed = failing(&page_two[0]);
    assert_eq!(
        failed.keys().copied().collect::<Vec<_>>(),
        ["view.instances"]
    );
    assert!(
        failed["view.instances"].contains("page 2 of DescribeInstances in us-east-1"),
        "{failed:?}"
    );

    // The second region alone.
    let failed = failing("query elb eu-west-1 DescribeLoadBalancers ");
    assert_eq!(
        failed.keys().copied().collect::<Vec<_>>(),
        ["aws.loadBalancers"]
    );
    let tags = replay.requests("query elb us-east-1 DescribeTags ");
    assert_eq!(
        failing(&tags[1]).keys().copied().collect::<Vec<_>>(),
        ["aws.loadBalancers"]
    );
    let keys = "query iam us-east-1 ListAccessKeys UserName=user-05&MaxItems=1000";
    assert_eq!(
        failing(keys).keys().copied().collect::<Vec<_>>(),
        ["aws.iamUsers"]
    );

    // One zone's records fail the records, not the zones; the zones listing fails both.
    let records = replay.requests("get route53 us-east-1 /2013-04-01/hostedzone/");
    let failed = failing(records.last().unwrap());
    assert_eq!(
        failed.keys().copied().collect::<Vec<_>>(),
        ["aws.hostedRecords"]
    );
    let zones = replay.requests("get route53 us-east-1 /2013-04-01/hostedzone marker=");
    let failed = failing(&zones[0]);
    assert_eq!(
        failed.keys().copied().collect::<Vec<_>>(),
        ["aws.hostedRecords", "aws.hostedZones"]
    );
    assert!(
        failed["aws.hostedZones"].contains("ServiceUnavailable"),
        "{failed:?}"
    );
}

#[test]
fn a_marker_that_comes_back_is_a_loop() {
    let mut replay = Replay::recorded();
    let first = "query ec2 us-east-1 DescribeInstances ";
    let second = replay.requests("query ec2 us-east-1 DescribeInstances NextToken=")[0].clone();
    let token = second.rsplit('=').next().unwrap().to_owned();
    let mut page = xml::parse(replay.get(&second)).unwrap();
    add(&mut page, &[], "nextToken", &token);
    replay.set(&second, 200, to_xml(&page));
    let read = read_account(&replay, &recorded_regions(), &[Collection::Instances]);
    let err = format!("{:#}", read[0].1.as_ref().unwrap_err());
    assert!(err.contains("twice"), "{err}");
    assert_eq!(
        replay
            .asked
            .lock()
            .unwrap()
            .iter()
            .filter(|k| k.starts_with(first))
            .count(),
        2
    );
}

#[test]
fn no_region_reads_no_regional_collection() {
    let replay = Replay::recorded();
    let read = read_account(&replay, &[], &[Collection::SecurityGroups]);
    let err = format!("{:#}", read[0].1.as_ref().unwrap_err());
    assert!(err.contains("no region"), "{err}");
}

/// `etc/iam-policy.json` allows exactly the actions a crawl calls: every request a whole
/// crawl of the recorded account made, as IAM names its action.
#[test]
fn the_shipped_iam_policy_allows_exactly_the_calls_the_crawl_makes() {
    let replay = Replay::recorded();
    read_all(&replay, &recorded_regions());
    let called: std::collections::BTreeSet<String> = replay
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|request| {
            let words: Vec<&str> = request.split(' ').collect();
            match (words[0], words[1], words[3]) {
                ("get", "route53", path) if path.ends_with("/rrset") => {
                    "route53:ListResourceRecordSets".to_owned()
                }
                ("get", "route53", path) if path.ends_with("/hostedzone") => {
                    "route53:ListHostedZones".to_owned()
                }
                ("query", "elb", action) => format!("elasticloadbalancing:{action}"),
                ("query", service, action) => format!("{service}:{action}"),
                _ => panic!("a request the policy cannot name: {request}"),
            }
        })
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/iam-policy.json");
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        (&statements[0]["Effect"], &statements[0]["Resource"]),
        (&json!("Allow"), &json!("*"))
    );
    let allowed: std::collections::BTreeSet<String> = statements[0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(allowed, called);
}

/// An answer cut short (a connection dropped mid-body) is an error for its collection, never
/// a shorter list of resources, wherever it is cut.
#[test]
fn an_answer_cut_short_is_an_error_never_fewer_resources() {
    let recorded = Replay::recorded();
    let cases = [
        (
            "query ec2 us-east-1 DescribeSecurityGroups ",
            Collection::SecurityGroups,
        ),
        (
            "query elb eu-west-1 DescribeLoadBalancers ",
            Collection::LoadBalancers,
        ),
        (
            "query iam us-east-1 GetAccountAuthorizationDetails Filter.member.1=User&MaxItems=1000",
            Collection::IamUsers,
        ),
        (
            "query iam us-east-1 ListUsers MaxItems=1000",
            Collection::IamUsers,
        ),
    ];
    for (request, collection) in cases {
        let body = recorded.get(request).to_owned();
        for fraction in [0.1, 0.35, 0.5, 0.8, 0.99] {
            let mut at = (body.len() as f64 * fraction) as usize;
            while !body.is_char_boundary(at) {
                at -= 1;
            }
            let mut replay = Replay::recorded();
            replay.set(request, 200, body[..at].to_owned());
            let read = read_account(&replay, &recorded_regions(), &[collection]);
            assert!(
                read[0].1.is_err(),
                "{request} cut at {at} of {} read as {} resources",
                body.len(),
                read[0].1.as_ref().map_or(0, Vec::len)
            );
        }
    }
}
