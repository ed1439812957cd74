//! The floor: what no implementation of the six rules can avoid. Read each distinct snapshot
//! file the rules read once (the collections they declare, and the iam rule's per-user
//! `_diff` bodies) and parse each collection natively into the SDK's typed models, which hold
//! only the fields the rules read. Every other figure in the report is a ratio to this one.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use reddalert_rule_sdk::models::{
    IAM_USERS, INSTANCES, Instance, LOAD_BALANCERS, LoadBalancer, SECURITY_GROUPS, SecurityGroup,
};
use reddalert_rule_sdk::{Query, Rule};

use crate::measure::median_of;
use crate::native::{file_name, split};

/// What the floor read: bytes per collection file, and the largest one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Floor {
    pub seconds: f64,
    pub files: usize,
    pub bytes: u64,
    pub largest_file_bytes: u64,
    pub collections: BTreeMap<String, u64>,
}

/// The distinct queries the six stock EDDA rules declare.
pub fn declared_queries() -> Vec<Query> {
    let mut all: Vec<Query> = [
        rule_secgroups::Secgroups::info().queries,
        rule_elbs::Elbs::info().queries,
        rule_iam::Iam::info().queries,
        rule_ami::Ami::info().queries,
        rule_newtag::NewTag::info().queries,
        rule_missingtag::MissingTag::info().queries,
    ]
    .concat();
    all.sort_by_key(file_name);
    all.dedup_by_key(|q| file_name(q));
    all
}

pub fn measure(snapshot: &Path, runs: usize) -> Result<Floor> {
    let queries = declared_queries();
    let declared: Vec<String> = queries.iter().map(file_name).collect();
    // The run-time queries' files: every other file in the directory but the manifest.
    let mut others = Vec::new();
    for entry in std::fs::read_dir(snapshot)
        .with_context(|| format!("failed to list {}", snapshot.display()))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !declared.contains(&name) && name != "reddalert-snapshot.json"
        {
            others.push(name);
        }
    }
    others.sort();
    let (seconds, (collections, files)) = median_of(runs, || {
        let mut collections = BTreeMap::new();
        for q in &queries {
            let name = file_name(q);
            let path = snapshot.join(&name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            parse(&q.path, &text).with_context(|| format!("failed to parse {}", path.display()))?;
            collections.insert(name, text.len() as u64);
        }
        let mut files = 0u64;
        for name in &others {
            files += std::fs::read(snapshot.join(name))?.len() as u64;
        }
        Ok((collections, files))
    })?;
    let bytes = collections.values().sum::<u64>() + files;
    Ok(Floor {
        seconds,
        files: collections.len() + others.len(),
        bytes,
        largest_file_bytes: collections.values().copied().max().unwrap_or(0),
        collections,
    })
}

fn parse(path: &str, text: &str) -> Result<usize> {
    Ok(match split(path).0 {
        INSTANCES => serde_json::from_str::<Vec<Instance>>(text)?.len(),
        SECURITY_GROUPS => serde_json::from_str::<Vec<SecurityGroup>>(text)?.len(),
        LOAD_BALANCERS => serde_json::from_str::<Vec<LoadBalancer>>(text)?.len(),
        IAM_USERS => serde_json::from_str::<Vec<String>>(text)?.len(),
        other => bail!("no typed model for {other:?}: add one to the floor"),
    })
}
