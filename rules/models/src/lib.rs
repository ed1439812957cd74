//! Typed serde models of the EDDA documents the stock rules read, and the archive form of the
//! collections that have one ([`archive`]). The rule SDK offers them as `models`; the host
//! reads them to archive a collection once per run for every rule that asks (interface 0.2.0),
//! which makes these models, and their archived layout, part of the versioned contract.
//!
//! EDDA serves AWS SDK for Java v1 beans: camelCase keys, a `class` key on every object, every
//! property present and `null` when unset, dates as epoch milliseconds and tags flattened
//! (`{"key": "Name", "value": "x", "Name": "x"}`). The models keep only the fields rules use,
//! accept `null` anywhere, and ignore the rest, which makes parsing several times faster than
//! going through `serde_json::Value`.

pub mod archive;
mod ec2;
mod elb;
mod iam;
mod route53;

pub use ec2::*;
pub use elb::*;
pub use iam::*;
pub use route53::*;

use serde::{Deserialize, Deserializer};

/// Collection paths of the stock rules' queries.
pub const INSTANCES: &str = "view/instances;_expand";
/// Current instances with only the fields [`Instance`] reads: EDDA's field selector keeps each
/// document to a tenth of its size, so it travels, and is parsed in the sandbox, ten times
/// faster. Parse it into [`Instance`] (a test checks that it gives the same values as the
/// whole documents); read [`INSTANCES`] for any other field. Only top-level keys are listed:
/// EDDA leaves out a record where a nested list meets `null`.
pub const INSTANCES_SELECTED: &str = "view/instances;_expand:(instanceId,imageId,keyName,launchTime,state,tags,securityGroups,placement,iamInstanceProfile,publicIpAddress,privateIpAddress)";
/// Security groups, expanded.
pub const SECURITY_GROUPS: &str = "aws/securityGroups;_expand";
/// Current security groups with only the fields [`SecurityGroup`] reads (no egress rules, no
/// descriptions), as [`INSTANCES_SELECTED`] is to [`INSTANCES`]: about two thirds of the bytes.
pub const SECURITY_GROUPS_SELECTED: &str =
    "aws/securityGroups;_expand:(groupId,groupName,ownerId,vpcId,ipPermissions,tags)";
/// Classic load balancers, expanded.
pub const LOAD_BALANCERS: &str = "aws/loadBalancers;_expand";
/// Current classic load balancers with only the fields [`LoadBalancer`] reads (no policies,
/// health checks or subnets), as [`INSTANCES_SELECTED`] is to [`INSTANCES`]: under half the bytes.
pub const LOAD_BALANCERS_SELECTED: &str = "aws/loadBalancers;_expand:(loadBalancerName,DNSName,canonicalHostedZoneName,instances,listenerDescriptions)";
/// IAM user names (ids only).
pub const IAM_USERS: &str = "aws/iamUsers";
/// Route 53 record sets, expanded.
pub const HOSTED_RECORDS: &str = "aws/hostedRecords;_expand";

/// Deserialises `null` as the type's default (EDDA writes unset lists and maps as `null` in
/// places, and a rule should not care).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The fuzz target `edda_models` (`fuzz/`) and the replay of its corpus: an EDDA body read
/// into each typed model must fail cleanly or succeed, never panic. Not an API.
#[doc(hidden)]
pub fn fuzz_models(data: &[u8]) {
    let _ = serde_json::from_slice::<Vec<Instance>>(data);
    let _ = serde_json::from_slice::<Vec<SecurityGroup>>(data);
    let _ = serde_json::from_slice::<Vec<LoadBalancer>>(data);
    let _ = serde_json::from_slice::<IamUser>(data);
    let _ = serde_json::from_slice::<Vec<HostedRecord>>(data);
}

#[cfg(test)]
mod fuzz_corpus {
    /// Replays `fuzz/corpus/edda_models/` on stable, so a regression fails `cargo test`.
    #[test]
    fn the_fuzz_corpus_of_the_models_replays() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/edda_models");
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus is committed") {
            super::fuzz_models(&std::fs::read(entry.unwrap().path()).unwrap());
            inputs += 1;
        }
        assert!(inputs > 0, "the corpus is empty");
    }
}

#[cfg(test)]
mod selected {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value};

    use super::{
        INSTANCES_SELECTED, Instance, LOAD_BALANCERS_SELECTED, LoadBalancer,
        SECURITY_GROUPS_SELECTED, SecurityGroup,
    };

    fn selected_keys(path: &str) -> Vec<&str> {
        let list = path
            .split_once(":(")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .expect("a key list");
        list.split(',').collect()
    }

    /// Every field the model has is selected, so the selected documents parse as the whole do;
    /// returns the models read from the whole documents.
    fn check<T>(path: &str, whole: &str) -> Vec<T>
    where
        T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
    {
        let whole: Vec<Value> = serde_json::from_str(whole).unwrap();
        let keys = selected_keys(path);
        let selected: Vec<Value> = whole
            .iter()
            .map(|doc| {
                let kept: Map<String, Value> = doc
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| keys.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert!(
                    kept.len() < doc.as_object().unwrap().len(),
                    "{path} keeps all"
                );
                Value::Object(kept)
            })
            .collect();
        let from_whole: Vec<T> = serde_json::from_value(Value::from(whole)).unwrap();
        let from_selected: Vec<T> = serde_json::from_value(Value::from(selected)).unwrap();
        assert_eq!(from_whole, from_selected, "{path}");

        // The model's own fields, as it writes them, are all in the list.
        let written = serde_json::to_value(&from_whole[0]).unwrap();
        for field in written.as_object().unwrap().keys() {
            assert!(
                keys.contains(&field.as_str()),
                "{field} is not selected by {path}"
            );
        }
        from_whole
    }

    #[test]
    fn the_selected_instances_hold_every_field_the_model_reads() {
        let instances: Vec<Instance> = check(
            INSTANCES_SELECTED,
            include_str!("../../util/fixtures/instances.json"),
        );
        assert!(
            instances
                .iter()
                .any(|i| i.iam_instance_profile.is_some() && !i.tags.is_empty())
        );
    }

    #[test]
    fn the_selected_security_groups_hold_every_field_the_model_reads() {
        let groups: Vec<SecurityGroup> = check(
            SECURITY_GROUPS_SELECTED,
            include_str!("../../util/fixtures/security_groups.json"),
        );
        assert!(
            groups
                .iter()
                .any(|g| !g.ip_permissions.is_empty() && !g.tags.is_empty())
        );
    }

    #[test]
    fn the_selected_load_balancers_hold_every_field_the_model_reads() {
        let elbs: Vec<LoadBalancer> = check(
            LOAD_BALANCERS_SELECTED,
            include_str!("../../util/fixtures/load_balancers.json"),
        );
        assert!(
            elbs.iter()
                .any(|e| e.dns_name.is_some() && !e.instances.is_empty())
        );
        assert!(elbs.iter().any(|e| !e.listener_descriptions.is_empty()));
    }
}
