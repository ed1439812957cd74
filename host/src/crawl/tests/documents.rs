//! The documents: field by field against the EDDA-shaped fixtures the test kit serves (the
//! same keys and, where both have a value, the same JSON types), through the SDK's typed
//! models, unchanged when AWS reorders its lists, and EDDA's touches one by one.

use std::collections::BTreeMap;
use std::path::Path;

use reddalert_rule_sdk::models::{
    HostedRecord, IamUser, Instance, LoadBalancer, SecurityGroup, tag,
};
use serde_json::{Value, json};

use super::{Replay, at_mut, leaf, read_all, recorded_regions, to_xml};
use crate::crawl::Collection;
use crate::crawl::document::convert;
use crate::crawl::model::ec2::{INSTANCE, SECURITY_GROUP};
use crate::crawl::xml::{self, Element};
use crate::store::Document;

fn fixture(path: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The `data` of each revision of an EDDA fixture collection.
fn revisions(path: &str) -> Vec<Value> {
    fixture(path)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].clone())
        .collect()
}

/// EDDA's documents of each collection, from the test kit's fixtures.
fn edda() -> Vec<(Collection, Vec<Value>)> {
    let list = |path: &str| fixture(path).as_array().unwrap().clone();
    let mut instances = revisions("tests/fixtures/edda/basic/view.instances.json");
    instances.extend(list("rules/util/fixtures/instances.json"));
    instances.push(fixture("rules/util/fixtures/instance.json"));
    let mut groups = revisions("tests/fixtures/edda/basic/aws.securityGroups.json");
    groups.extend(list("rules/util/fixtures/security_groups.json"));
    let mut elbs = revisions("tests/fixtures/edda/basic/aws.loadBalancers.json");
    elbs.extend(list("rules/util/fixtures/load_balancers.json"));
    // No fixture holds a hosted zone: edda-api.md 4.10 lists its keys.
    let zone = json!({"callerReference": "r", "class": "com.amazonaws.services.route53.model.HostedZone",
        "config": {"class": "com.amazonaws.services.route53.model.HostedZoneConfig", "comment": "c",
                   "privateZone": false},
        "id": "/hostedzone/Z1", "linkedService": null, "name": "example.com.", "resourceRecordSetCount": 2});
    vec![
        (Collection::Instances, instances),
        (Collection::SecurityGroups, groups),
        (Collection::LoadBalancers, elbs),
        (
            Collection::IamUsers,
            revisions("tests/fixtures/edda/basic/aws.iamUsers.json"),
        ),
        (Collection::HostedZones, vec![zone]),
        (
            Collection::HostedRecords,
            list("rules/util/fixtures/hosted_records.json"),
        ),
    ]
}

/// One document with every key any of `docs` has, each with the first value that is not
/// `null` (objects merged, list items merged into one), so that a comparison reaches every
/// nested key the crawl wrote somewhere.
fn union(docs: &[&Value]) -> Value {
    let mut out: Option<Value> = None;
    for doc in docs {
        out = Some(match (out, doc) {
            (None | Some(Value::Null), doc) => merge(&Value::Null, doc),
            (Some(acc), doc) => merge(&acc, doc),
        });
    }
    out.unwrap_or(Value::Null)
}

fn merge(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = merge(a.get(k).unwrap_or(&Value::Null), v);
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(b)) => {
            let items: Vec<&Value> = a.iter().chain(b).collect();
            if items.is_empty() {
                json!([])
            } else {
                json!([union(&items)])
            }
        }
        (Value::Null, b) => match b {
            Value::Array(items) => merge(&json!([]), &Value::Array(items.clone())),
            Value::Object(_) => merge(&json!({}), b),
            b => b.clone(),
        },
        (a, _) => a.clone(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Where `ours` lacks a key `edda` has, or where both have a value of different types.
fn differences(edda: &Value, ours: &Value, path: &str, found: &mut Vec<String>) {
    match (edda, ours) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(e), Value::Object(o)) => {
            let tag = e
                .get("class")
                .and_then(Value::as_str)
                .is_some_and(|c| c.ends_with(".Tag"));
            for (key, value) in e {
                // A flattened tag's own key is the tag's name: data, not shape.
                if tag && !matches!(key.as_str(), "class" | "key" | "value") {
                    continue;
                }
                match o.get(key) {
                    None => found.push(format!("{path}.{key}: missing")),
                    Some(mine) => differences(value, mine, &format!("{path}.{key}"), found),
                }
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if let (Some(mine), false) = (o.first(), e.is_empty()) {
                for item in e {
                    differences(item, mine, &format!("{path}[]"), found);
                }
            }
        }
        (e, o) if kind(e) != kind(o) => {
            found.push(format!(
                "{path}: EDDA has a {}, the crawl a {}",
                kind(e),
                kind(o)
            ));
        }
        _ => {}
    }
}

fn crawled() -> BTreeMap<Collection, Vec<Document>> {
    read_all(&Replay::recorded(), &recorded_regions())
}

#[test]
fn documents_have_every_key_edda_wrote_with_its_type() {
    let crawled = crawled();
    let mut found = Vec::new();
    for (collection, docs) in edda() {
        let ours: Vec<&Value> = crawled[&collection].iter().map(|d| &d.data).collect();
        assert!(!ours.is_empty(), "{} is empty", collection.root());
        let ours = union(&ours);
        for doc in &docs {
            differences(doc, &ours, collection.root(), &mut found);
        }
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "differences from EDDA's documents:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_member_of_a_shape_is_present_null_or_empty_when_aws_left_it_out() {
    let element = xml::parse("<item><instanceId>i-1</instanceId></item>").unwrap();
    let doc = convert(&element, &INSTANCE).unwrap();
    let doc = doc.as_object().unwrap();
    assert_eq!(
        doc.len(),
        INSTANCE.members.len() + 1,
        "every member and the class"
    );
    assert_eq!(doc["instanceId"], "i-1");
    assert_eq!(doc["class"], "com.amazonaws.services.ec2.model.Instance");
    for key in [
        "publicIpAddress",
        "kernelId",
        "launchTime",
        "state",
        "placement",
    ] {
        assert_eq!(doc[key], Value::Null, "{key}");
    }
    for key in [
        "securityGroups",
        "tags",
        "productCodes",
        "blockDeviceMappings",
    ] {
        assert_eq!(doc[key], json!([]), "{key}");
    }
}

#[test]
fn documents_parse_with_the_sdks_models() {
    let crawled = crawled();
    let data = |c: Collection| Value::Array(crawled[&c].iter().map(|d| d.data.clone()).collect());
    let instances: Vec<Instance> = serde_json::from_value(data(Collection::Instances)).unwrap();
    assert!(
        instances
            .iter()
            .all(|i| i.instance_id.starts_with("i-") && i.launch_time.is_some())
    );
    assert!(
        instances
            .iter()
            .all(|i| i.state.as_ref().is_some_and(|s| s.name == "running"))
    );
    assert!(instances.iter().all(|i| !i.security_groups.is_empty()));
    assert!(
        instances
            .iter()
            .all(|i| tag(&i.tags, "service_name") == Some("web"))
    );
    let groups: Vec<SecurityGroup> =
        serde_json::from_value(data(Collection::SecurityGroups)).unwrap();
    let web = groups.iter().find(|g| g.group_name == "web").unwrap();
    let https = web
        .ip_permissions
        .iter()
        .find(|p| p.from_port == Some(443))
        .unwrap();
    assert_eq!(https.cidrs(), ["0.0.0.0/0", "10.0.0.0/8"]);
    assert_eq!(tag(&web.tags, "Name"), Some("web"));
    let elbs: Vec<LoadBalancer> = serde_json::from_value(data(Collection::LoadBalancers)).unwrap();
    let first = elbs
        .iter()
        .find(|e| e.load_balancer_name == "elb-000")
        .unwrap();
    assert_eq!(first.instances.len(), 1);
    assert_eq!(first.listener_descriptions.len(), 2);
    assert!(first.dns_name.is_some());
    let users: Vec<IamUser> = serde_json::from_value(data(Collection::IamUsers)).unwrap();
    let user = users.iter().find(|u| u.name == "user-03").unwrap();
    assert_eq!(user.groups, ["admins", "developers", "devops"]);
    assert_eq!(user.user_policies, ["user-03-scratch"]);
    let records: Vec<HostedRecord> =
        serde_json::from_value(data(Collection::HostedRecords)).unwrap();
    let www: Vec<&HostedRecord> = records
        .iter()
        .filter(|r| r.name == "www.example.com.")
        .collect();
    assert_eq!(www.len(), 2, "the A and the TXT record of one name");
    let alias = records
        .iter()
        .find(|r| r.name == "lb.example.com.")
        .unwrap();
    assert!(
        alias
            .alias_target
            .as_ref()
            .is_some_and(|a| a.dns_name.is_some())
    );
    assert!(
        records
            .iter()
            .all(|r| r.zone.as_ref().is_some_and(|z| z.name.is_some()))
    );
}

/// Each list of `element` (an element whose two or more children share a name) reversed,
/// but for those named in `keep`.
fn reverse_lists(element: &mut Element, keep: &[&str]) {
    let list = element.children.len() > 1
        && element
            .children
            .iter()
            .all(|c| c.name == element.children[0].name);
    if list && !keep.contains(&element.name.as_str()) {
        element.children.reverse();
    }
    for child in &mut element.children {
        reverse_lists(child, keep);
    }
}

#[test]
fn aws_reordering_its_lists_changes_no_document() {
    let mut replay = Replay::recorded();
    let before = crawled();
    let mut reversed = 0;
    for request in replay.requests("") {
        let mut root = xml::parse(replay.get(&request)).unwrap();
        let original = root.clone();
        // The load balancers' order decides which names go into which DescribeTags call.
        reverse_lists(&mut root, &["LoadBalancerDescriptions"]);
        if root != original {
            reversed += 1;
        }
        replay.set(&request, 200, to_xml(&root));
    }
    assert!(reversed > 10, "only {reversed} answers had lists");
    let after = read_all(&replay, &recorded_regions());
    for (collection, docs) in &before {
        let by_id = |docs: &[Document]| -> BTreeMap<(String, String), Value> {
            docs.iter()
                .map(|d| ((d.collection.clone(), d.id.clone()), d.data.clone()))
                .collect()
        };
        assert_eq!(
            by_id(docs),
            by_id(&after[collection]),
            "{}",
            collection.root()
        );
    }
}

#[test]
fn edda_touches_tags_states_and_permissions() {
    let mut element = xml::parse(
        "<item><instanceId>i-1</instanceId><instanceState><code>272</code><name>running</name>\
         </instanceState><tagSet><item><key>Name</key><value>web</value></item>\
         <item><key>key</key><value>sneaky</value></item></tagSet></item>",
    )
    .unwrap();
    let doc = convert(&element, &INSTANCE).unwrap();
    assert_eq!(doc["state"]["code"], 16, "272 & 0xFF");
    assert_eq!(
        doc["tags"],
        json!([
            {"class": "com.amazonaws.services.ec2.model.Tag", "key": "key", "value": "sneaky"},
            {"Name": "web", "class": "com.amazonaws.services.ec2.model.Tag", "key": "Name", "value": "web"},
        ])
    );
    at_mut(&mut element, &["instanceState", "code"]).text = "many".to_owned();
    let err = convert(&element, &INSTANCE).unwrap_err();
    assert!(
        format!("{err:#}").contains("InstanceState.code: \"many\" is not an integer"),
        "{err:#}"
    );

    let group = xml::parse(
        "<item><groupId>sg-1</groupId><ipPermissions><item><ipProtocol>-1</ipProtocol>\
         <ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item><item><cidrIp>0.0.0.0/0</cidrIp>\
         <description>all</description></item></ipRanges></item></ipPermissions></item>",
    )
    .unwrap();
    let doc = convert(&group, &SECURITY_GROUP).unwrap();
    let permission = &doc["ipPermissions"][0];
    assert_eq!(permission["ipRanges"], json!(["0.0.0.0/0", "10.0.0.0/8"]));
    assert_eq!(permission["ipv4Ranges"][0]["description"], "all");
    assert_eq!(permission["ipv4Ranges"][1]["description"], Value::Null);
    assert_eq!(
        (permission["fromPort"].clone(), permission["toPort"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(doc["tags"], json!([]));
}

#[test]
fn elements_the_tables_do_not_know_are_kept() {
    let mut element = xml::parse("<item><instanceId>i-1</instanceId></item>").unwrap();
    element.children.push(leaf("futureFlag", "on"));
    let mut list = leaf("futureSet", "");
    list.children = vec![leaf("item", "b"), leaf("item", "a")];
    element.children.push(list);
    let doc = convert(&element, &INSTANCE).unwrap();
    assert_eq!(doc["futureFlag"], "on");
    assert_eq!(doc["futureSet"], json!(["a", "b"]));
}

#[test]
fn iam_users_are_eddas_documents_with_their_attachments() {
    let crawled = crawled();
    let users: BTreeMap<&str, &Value> = crawled[&Collection::IamUsers]
        .iter()
        .map(|d| (d.id.as_str(), &d.data))
        .collect();
    let user = users["user-02"];
    let keys: Vec<&str> = user
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "accessKeys",
            "attachedManagedPolicies",
            "attributes",
            "groups",
            "name",
            "userPolicies"
        ]
    );
    assert_eq!(user["groups"], json!(["admins", "developers"]));
    assert_eq!(user["accessKeys"].as_array().unwrap().len(), 2);
    assert_eq!(user["accessKeys"][0]["status"], "Active");
    assert!(user["accessKeys"][0]["createDate"].is_i64());
    assert_eq!(
        user["attachedManagedPolicies"][0]["policyName"],
        "read-only-s3"
    );
    let attributes = user["attributes"].as_object().unwrap();
    assert_eq!(attributes["userName"], "user-02");
    assert_eq!(attributes["passwordLastUsed"], Value::Null);
    assert_eq!(
        attributes["class"],
        "com.amazonaws.services.identitymanagement.model.User"
    );
    // Tags come from the authorization details (ListUsers leaves them out); IAM's are not
    // flattened, as EDDA never flattened them.
    let tagged = users["user-01"]["attributes"]["tags"].clone();
    assert_eq!(
        tagged,
        json!([{"class": "com.amazonaws.services.identitymanagement.model.Tag", "key": "team", "value": "core"}])
    );
    assert_eq!(users["user-00"]["userPolicies"], json!(["user-00-scratch"]));
    let ctime = crawled[&Collection::IamUsers]
        .iter()
        .find(|d| d.id == "user-02")
        .unwrap()
        .ctime;
    assert_eq!(ctime, attributes["createDate"].as_i64());
}

#[test]
fn records_of_one_name_keep_one_id_each() {
    let crawled = crawled();
    let zone = crawled[&Collection::HostedZones]
        .iter()
        .find(|z| z.data["name"] == "example.com.")
        .unwrap();
    let zone_id = zone.data["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("/hostedzone/");
    assert_eq!(zone.id, format!("example.com.|{zone_id}"));
    let ids: Vec<&str> = crawled[&Collection::HostedRecords]
        .iter()
        .filter(|r| r.data["name"] == "app.example.com." || r.data["name"] == "www.example.com.")
        .map(|r| r.id.as_str())
        .collect();
    let mut expected = vec![
        format!("app.example.com.|A|{zone_id}|blue"),
        format!("app.example.com.|A|{zone_id}|green"),
        format!("www.example.com.|A|{zone_id}"),
        format!("www.example.com.|TXT|{zone_id}"),
    ];
    let mut ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    for record in crawled[&Collection::HostedRecords]
        .iter()
        .filter(|r| r.id.contains(zone_id))
    {
        assert_eq!(
            record.data["zone"],
            json!({"id": zone.data["id"], "name": "example.com."})
        );
    }
}
