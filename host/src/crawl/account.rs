//! One account read whole: each collection in every region, a few calls at a time, and each
//! collection all or nothing. A regional collection is complete only when every region was
//! read (a region that failed would otherwise look like a region whose resources are all
//! gone), so one failed page of one region fails that collection and no other. The global
//! services (IAM, Route 53) are reached through the first region; a Route 53 zone listing that
//! fails fails the records with it, as they are listed zone by zone.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};

use super::api::Api;
use super::{Collection, Resource, ec2, elb, iam, route53};
use crate::store::Document;

/// Collections (or regions of one) read at once.
const WORKERS: usize = 4;

/// One piece of work: a regional collection in one region, or a global service.
#[derive(Debug, Clone)]
enum Task {
    Regional(Collection, String),
    Iam,
    Route53 { zones: bool, records: bool },
}

/// Reads `collections` in `regions` (at least one); each collection's documents, under the
/// collection each is kept in (`<region>.<root>` for a regional one, the root otherwise), or
/// why it could not be read, in the order of [`Collection::ALL`].
pub(crate) fn read_account(
    api: &dyn Api,
    regions: &[String],
    collections: &[Collection],
) -> Vec<(Collection, Result<Vec<Document>>)> {
    let wanted = |c: Collection| collections.contains(&c);
    let global = regions.first().map(String::as_str).unwrap_or("us-east-1");
    let mut tasks = Vec::new();
    for collection in Collection::ALL
        .into_iter()
        .filter(|c| c.regional() && wanted(*c))
    {
        tasks.extend(
            regions
                .iter()
                .map(|r| Task::Regional(collection, r.clone())),
        );
    }
    if wanted(Collection::IamUsers) {
        tasks.push(Task::Iam);
    }
    let (zones, records) = (
        wanted(Collection::HostedZones),
        wanted(Collection::HostedRecords),
    );
    if zones || records {
        tasks.push(Task::Route53 { zones, records });
    }
    let done = crate::pool::map(
        &tasks,
        WORKERS,
        |task| format!("crawling {task:?}"),
        |task| run(api, global, task),
    );
    let mut results: BTreeMap<Collection, Result<Vec<Document>>> =
        collections.iter().map(|c| (*c, Ok(Vec::new()))).collect();
    if regions.is_empty() {
        for (collection, result) in results.iter_mut().filter(|(c, _)| c.regional()) {
            *result = Err(anyhow!("no region to read {} in", collection.root()));
        }
    }
    for (task, outcome) in tasks.iter().zip(done) {
        // A panic (a bug) fails the task's collections like any error.
        let pieces = outcome.unwrap_or_else(|panic| {
            task.collections()
                .into_iter()
                .map(|c| (c, Err(anyhow!("{panic}"))))
                .collect()
        });
        for (collection, piece) in pieces {
            let Some(slot) = results.get_mut(&collection) else {
                continue;
            };
            // The first failure is the one reported.
            if let Ok(documents) = slot {
                match piece {
                    Ok(more) => documents.extend(more),
                    Err(err) => *slot = Err(err),
                }
            }
        }
    }
    results.into_iter().collect()
}

impl Task {
    fn collections(&self) -> Vec<Collection> {
        match self {
            Task::Regional(c, _) => vec![*c],
            Task::Iam => vec![Collection::IamUsers],
            Task::Route53 { .. } => vec![Collection::HostedZones, Collection::HostedRecords],
        }
    }
}

/// One task's collections and what reading them gave.
fn run(api: &dyn Api, global: &str, task: &Task) -> Vec<(Collection, Result<Vec<Document>>)> {
    match task {
        Task::Regional(collection, region) => {
            let read = match collection {
                Collection::Instances => ec2::instances(api, region),
                Collection::SecurityGroups => ec2::security_groups(api, region),
                Collection::LoadBalancers => elb::load_balancers(api, region),
                global => Err(anyhow!("{} is not read per region", global.root())),
            };
            let name = format!("{region}.{}", collection.root());
            vec![(*collection, read.map(|r| documents(&name, r)))]
        }
        Task::Iam => {
            let read = iam::users(api, global);
            vec![(
                Collection::IamUsers,
                read.map(|r| documents(Collection::IamUsers.root(), r)),
            )]
        }
        Task::Route53 { zones, records } => {
            let mut out = Vec::new();
            match route53::zones(api, global) {
                Ok(found) => {
                    if *records {
                        let read = route53::records(api, global, &found);
                        let root = Collection::HostedRecords.root();
                        out.push((Collection::HostedRecords, read.map(|r| documents(root, r))));
                    }
                    if *zones {
                        let read = found.into_iter().map(|z| z.resource).collect();
                        out.push((
                            Collection::HostedZones,
                            Ok(documents(Collection::HostedZones.root(), read)),
                        ));
                    }
                }
                Err(err) => {
                    let why = format!("{err:#}");
                    for (wanted, c) in [
                        (*zones, Collection::HostedZones),
                        (*records, Collection::HostedRecords),
                    ] {
                        if wanted {
                            out.push((c, Err(anyhow!("{why}"))));
                        }
                    }
                }
            }
            out
        }
    }
}

fn documents(collection: &str, resources: Vec<Resource>) -> Vec<Document> {
    resources
        .into_iter()
        .map(|r| Document {
            collection: collection.to_owned(),
            id: r.id,
            ctime: r.ctime,
            data: r.data,
        })
        .collect()
}
