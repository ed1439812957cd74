//! Typed serde models of the EDDA documents the stock rules read.
//!
//! EDDA serves AWS SDK for Java v1 beans: camelCase keys, a `class` key on every object, every
//! property present and `null` when unset, dates as epoch milliseconds and tags flattened
//! (`{"key": "Name", "value": "x", "Name": "x"}`). The models keep only the fields rules use,
//! accept `null` anywhere, and ignore the rest, which makes parsing several times faster than
//! going through `serde_json::Value`.

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
/// Security groups, expanded.
pub const SECURITY_GROUPS: &str = "aws/securityGroups;_expand";
/// Classic load balancers, expanded.
pub const LOAD_BALANCERS: &str = "aws/loadBalancers;_expand";
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
