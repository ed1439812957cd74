//! The synthetic account: a deterministic EDDA store of instances, security groups, ELBs, IAM
//! users and hosted records, shaped like the documents in `tests/fixtures/edda/basic` (each
//! one of those is the template, copied and varied), so a body is as large as a real one.
//!
//! Scale 1 is 20,000 instances, 5,000 security groups, 2,000 ELBs, 5,000 IAM users (every one
//! changed in the window) and 10,000 hosted records; scale 3 is three times each. The same
//! scale always makes the same bytes: the numbers come from a fixed-seed generator. About one
//! resource in ten changes inside the window, and a few of those changes are what the rules
//! report (a port range opened to the world, a new AMI, a new service tag, a user added to a
//! group), so every rule has work to do and alerts to compare.

use std::path::Path;

use anyhow::{Context as _, Result};
use reddalert_testkit::edda::{Revision, Store};
use serde_json::{Value, json};

/// 2018-01-01T00:00:00Z: the window is the six hours after it.
pub const SINCE_MS: u64 = 1_514_764_800_000;
pub const UNTIL_MS: u64 = SINCE_MS + 6 * HOUR;
const HOUR: u64 = 3_600_000;
/// When the resources that do not change were crawled: a day before the window.
const BEFORE: i64 = (SINCE_MS - 24 * HOUR) as i64;

/// How many resources of each kind an account of some scale holds.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub instances: usize,
    pub security_groups: usize,
    pub load_balancers: usize,
    pub iam_users: usize,
    pub hosted_records: usize,
}

impl Counts {
    pub fn at(scale: f64) -> Counts {
        let n = |base: f64| ((base * scale).round() as usize).max(1);
        Counts {
            instances: n(20_000.0),
            security_groups: n(5_000.0),
            load_balancers: n(2_000.0),
            iam_users: n(5_000.0),
            hosted_records: n(10_000.0),
        }
    }
}

/// splitmix64: small, fast and the same everywhere, which is all a generator of test data needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True about once in `n` draws.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The first document of each collection in the `basic` fixture: what the generated ones copy.
struct Templates {
    instance: Value,
    security_group: Value,
    load_balancer: Value,
    iam_user: Value,
}

impl Templates {
    fn load(dir: &Path) -> Result<Templates> {
        let first = |collection: &str| -> Result<Value> {
            let path = dir.join(format!("{collection}.json"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read the template {}", path.display()))?;
            let revisions: Vec<Revision> = serde_json::from_str(&text)
                .with_context(|| format!("failed to parse the template {}", path.display()))?;
            let first = revisions
                .into_iter()
                .next()
                .with_context(|| format!("the template {} holds no revision", path.display()))?;
            Ok(first.data)
        };
        Ok(Templates {
            instance: first("view.instances")?,
            security_group: first("aws.securityGroups")?,
            load_balancer: first("aws.loadBalancers")?,
            iam_user: first("aws.iamUsers")?,
        })
    }
}

/// The account of `counts`, built from the templates in `fixtures` (the `basic` scenario).
pub fn account(counts: Counts, fixtures: &Path) -> Result<Store> {
    let templates = Templates::load(fixtures)?;
    let mut rng = Rng(0x005e_ed0f_aced);
    let mut store = Store::new();
    let groups: Vec<String> = (0..counts.security_groups)
        .map(|i| format!("sg-{i:08x}"))
        .collect();
    security_groups(&mut store, &mut rng, &templates, &groups);
    instances(&mut store, &mut rng, &templates, counts.instances, &groups);
    load_balancers(&mut store, &mut rng, &templates, counts.load_balancers);
    iam_users(&mut store, &mut rng, &templates, counts.iam_users);
    hosted_records(&mut store, &mut rng, counts.hosted_records);
    Ok(store)
}

fn live(id: &str, stime: i64, data: Value) -> Revision {
    Revision {
        id: id.to_owned(),
        stime,
        ltime: None,
        ctime: Some(BEFORE - 30 * 24 * HOUR as i64),
        data,
    }
}

/// A resource's history: its old document until `at`, then the new one, live.
fn changed(store: &mut Store, collection: &str, id: &str, at: i64, old: Value, new: Value) {
    let mut first = live(id, BEFORE, old);
    first.ltime = Some(at);
    store.insert(collection, first);
    store.insert(collection, live(id, at, new));
}

/// A time inside the window, on a whole minute.
fn in_window(rng: &mut Rng) -> i64 {
    (SINCE_MS + 60_000 * (1 + rng.below(6 * 60 - 2))) as i64
}

fn permission(protocol: &str, from: i64, to: i64, cidr: &str) -> Value {
    json!({
        "class": "com.amazonaws.services.ec2.model.IpPermission",
        "fromPort": from, "toPort": to, "ipProtocol": protocol,
        "ipRanges": [cidr],
        "ipv4Ranges": [{"cidrIp": cidr, "class": "com.amazonaws.services.ec2.model.IpRange", "description": null}],
        "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []
    })
}

fn security_groups(store: &mut Store, rng: &mut Rng, t: &Templates, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        let mut doc = t.security_group.clone();
        doc["groupId"] = id.as_str().into();
        doc["groupName"] = format!("service-{i}").into();
        doc["ipPermissions"] = json!([
            permission("tcp", 443, 443, "0.0.0.0/0"),
            permission("tcp", 22, 22, "10.0.0.0/8"),
        ]);
        if !rng.one_in(10) {
            store.insert("aws.securityGroups", live(id, BEFORE, doc));
            continue;
        }
        let mut new = doc.clone();
        let opened = match rng.below(4) {
            // A strange range open to the world: what secgroups reports.
            0 => permission("tcp", 8000 + rng.below(1000) as i64, 9000, "0.0.0.0/0"),
            1 => permission("udp", 53, 53, "0.0.0.0/0"),
            _ => permission("tcp", 80, 80, "10.1.0.0/16"),
        };
        new["ipPermissions"].as_array_mut().unwrap().push(opened);
        changed(store, "aws.securityGroups", id, in_window(rng), doc, new);
    }
}

fn instances(store: &mut Store, rng: &mut Rng, t: &Templates, n: usize, groups: &[String]) {
    for i in 0..n {
        let id = format!("i-{i:017x}");
        let mut doc = t.instance.clone();
        doc["instanceId"] = id.as_str().into();
        let launched_now = rng.one_in(20);
        let launch = if launched_now {
            in_window(rng)
        } else {
            BEFORE - rng.below(90) as i64 * 24 * HOUR as i64
        };
        doc["launchTime"] = launch.into();
        // A handful of AMIs in use, and now and then a new one on a new instance.
        doc["imageId"] = if launched_now && rng.one_in(25) {
            format!("ami-new{i:08x}")
        } else {
            format!("ami-{:08x}", rng.below(40))
        }
        .into();
        let service = if launched_now && rng.one_in(30) {
            format!("newservice-{i}")
        } else {
            format!("service-{}", rng.below(300))
        };
        let mut tags = vec![
            json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": "Name", "value": format!("host-{i}")}),
        ];
        if !rng.one_in(200) {
            tags.push(json!({"class": "com.amazonaws.services.ec2.model.Tag", "key": "service_name", "value": service}));
        }
        doc["tags"] = tags.into();
        let group = &groups[rng.below(groups.len() as u64) as usize];
        doc["securityGroups"] = json!([{"class": "com.amazonaws.services.ec2.model.GroupIdentifier", "groupId": group, "groupName": group}]);
        doc["privateIpAddress"] =
            format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255).into();
        doc["publicIpAddress"] = if rng.one_in(4) {
            Value::from(format!("198.51.{}.{}", i >> 8 & 255, i & 255))
        } else {
            Value::Null
        };
        store.insert("view.instances", live(&id, launch.max(BEFORE), doc));
    }
}

fn load_balancers(store: &mut Store, rng: &mut Rng, t: &Templates, n: usize) {
    let listener = |port: i64, protocol: &str| {
        json!({
            "class": "com.amazonaws.services.elasticloadbalancing.model.ListenerDescription",
            "listener": {"SSLCertificateId": null, "class": "com.amazonaws.services.elasticloadbalancing.model.Listener",
                         "instancePort": 7001, "instanceProtocol": "HTTP", "loadBalancerPort": port, "protocol": protocol},
            "policyNames": []
        })
    };
    for i in 0..n {
        let name = format!("elb-{i}");
        let mut doc = t.load_balancer.clone();
        doc["loadBalancerName"] = name.as_str().into();
        doc["DNSName"] = format!("{name}-1234567890.us-east-1.elb.amazonaws.com").into();
        doc["listenerDescriptions"] = json!([listener(443, "HTTPS")]);
        if !rng.one_in(10) {
            store.insert("aws.loadBalancers", live(&name, BEFORE, doc));
            continue;
        }
        let mut new = doc.clone();
        let port = if rng.one_in(3) { 8080 } else { 80 };
        new["listenerDescriptions"]
            .as_array_mut()
            .unwrap()
            .push(listener(port, "HTTP"));
        changed(store, "aws.loadBalancers", &name, in_window(rng), doc, new);
    }
}

/// Every user changes in the window (the iam rule's worst case: one `_diff` each); one in five
/// joins a group, one in fifty is new.
fn iam_users(store: &mut Store, rng: &mut Rng, t: &Templates, n: usize) {
    for i in 0..n {
        let name = format!("user-{i:05}");
        let mut doc = t.iam_user.clone();
        doc["name"] = name.as_str().into();
        doc["attributes"]["userName"] = name.as_str().into();
        doc["attributes"]["arn"] = format!("arn:aws:iam::123456789012:user/{name}").into();
        doc["groups"] = json!([format!("team-{}", rng.below(50))]);
        if rng.one_in(50) {
            store.insert("aws.iamUsers", live(&name, in_window(rng), doc));
            continue;
        }
        let mut new = doc.clone();
        if rng.one_in(5) {
            let group = format!("admins-{}", rng.below(5));
            new["groups"].as_array_mut().unwrap().push(group.into());
        } else {
            new["attributes"]["passwordLastUsed"] = in_window(rng).into();
        }
        changed(store, "aws.iamUsers", &name, in_window(rng), doc, new);
    }
}

fn hosted_records(store: &mut Store, rng: &mut Rng, n: usize) {
    for i in 0..n {
        let name = format!("host-{i}.example.com.");
        let doc = if rng.one_in(3) {
            json!({"name": name, "type": "CNAME", "TTL": 300, "zone": {"id": "Z1EXAMPLE", "name": "example.com."},
                   "resourceRecords": [{"class": "com.amazonaws.services.route53.model.ResourceRecord",
                                        "value": format!("elb-{}-1234567890.us-east-1.elb.amazonaws.com", i % 2000)}]})
        } else {
            json!({"name": name, "type": "A", "TTL": 300, "zone": {"id": "Z1EXAMPLE", "name": "example.com."},
                   "resourceRecords": [{"class": "com.amazonaws.services.route53.model.ResourceRecord",
                                        "value": format!("198.51.{}.{}", i >> 8 & 255, i & 255)}]})
        };
        store.insert("aws.hostedRecords", live(&format!("{name}A"), BEFORE, doc));
    }
}
