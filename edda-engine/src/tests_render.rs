//! The stored-text way of answering ([`crate::render::texts`]: documents copied as stored, key
//! lists applied to the raw text) must give the very bytes of the built-values way
//! ([`crate::render::values`]), on every fixture and for every query the stock rules make, with
//! and without their windows, plus the selector shapes EDDA clients use.

use crate::route::{answer_from_values, handle};
use crate::test_support::fixtures_dir;
use crate::{Source, Store};

/// The stock rules' queries (`rules/sdk/src/models/mod.rs` and the iam rule), before windows.
const STOCK: &[&str] = &[
    "view/instances;_expand",
    "view/instances;_expand:(instanceId,imageId,keyName,launchTime,state,tags,securityGroups,placement,iamInstanceProfile,publicIpAddress,privateIpAddress)",
    "aws/securityGroups;_expand",
    "aws/securityGroups;_expand:(groupId,groupName,ownerId,vpcId,ipPermissions,tags)",
    "aws/loadBalancers;_expand",
    "aws/loadBalancers;_expand:(loadBalancerName,DNSName,canonicalHostedZoneName,instances,listenerDescriptions)",
    "aws/iamUsers",
    "aws/hostedRecords;_expand",
];

/// Further shapes: nested lists over arrays, keys that are missing, single gets, `_all`.
const MORE: &[&str] = &[
    "view/instances;_expand:(tags:(key,value),state:(name),nothere)",
    "view/instances;_expand:(securityGroups:(groupId),placement:(availabilityZone:(x)))",
    "aws/securityGroups;_expand:(ipPermissions:(fromPort,ipRanges))",
    "aws/securityGroups;_all:(groupId,ipPermissions)",
    "aws/iamUsers/alice:(name,groups)",
    "aws/iamUsers/alice:(attributes:(nope))",
    "aws/iamUsers/alice",
    "aws/iamUsers/alice,bob;_expand:(name)",
    "view/instances;_since=0:(instanceId)",
    "aws/iamUsers;_all",
    "aws/loadBalancers;_expand:(listenerDescriptions:(listener:(loadBalancerPort)))",
];

fn windows(path: &str) -> Vec<String> {
    let (head, selector) = match path.find(":(") {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    let mut out = vec![path.to_owned()];
    for (since, until) in [
        (0_i64, i64::MAX / 2),
        (1_514_768_400_001, 1_514_775_600_000),
    ] {
        out.push(format!("{head};_since={since};_until={until}{selector}"));
        out.push(format!(
            "{head};_since={since};_until={until};_updated{selector}"
        ));
    }
    out
}

fn compare(source: &dyn Source, paths: &[String]) -> usize {
    let mut documents = 0;
    for path in paths {
        let fast = handle(source, "GET", &format!("/edda/api/v2/{path}"));
        let slow = answer_from_values(source, path);
        assert_eq!(
            (fast.status, String::from_utf8_lossy(&fast.body)),
            (slow.status, String::from_utf8_lossy(&slow.body)),
            "{path}"
        );
        documents += fast.body.iter().filter(|b| **b == b'{').count();
    }
    documents
}

#[test]
fn stored_text_and_built_values_give_the_same_bytes() {
    let mut scenarios = 0;
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures") {
        let dir = entry.expect("entry").path();
        let store = Store::from_dir(&dir).expect("fixture");
        let mut paths: Vec<String> = STOCK.iter().flat_map(|p| windows(p)).collect();
        paths.extend(MORE.iter().map(|p| p.to_string()));
        for user in ["alice", "bob", "carol", "dave"] {
            paths.push(format!("aws/iamUsers/{user}"));
            paths.extend(windows(&format!("aws/iamUsers/{user};_diff=200")));
        }
        let documents = compare(&store, &paths);
        assert!(
            documents > 100,
            "{}: the queries found documents",
            dir.display()
        );
        scenarios += 1;
    }
    assert!(scenarios > 0);
}
