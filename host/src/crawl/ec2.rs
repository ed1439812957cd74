//! EC2's collections in one region: `view.instances` (DescribeInstances, each instance lifted
//! out of its reservation, as EDDA's view did) and `aws.securityGroups`
//! (DescribeSecurityGroups), every page of both (EDDA read only the first).
//!
//! Neither call is sent a page size: without one AWS decides, and answers every page with
//! the `nextToken` of the next.

use anyhow::{Context, Result};

use super::api::{Api, Service, answer, each_page};
use super::document::convert;
use super::model::ec2::{INSTANCE, SECURITY_GROUP};
use super::xml::Element;
use super::{Resource, epoch_ms_of, id_of};

/// Every instance of `region`: id `instanceId`, ctime its `launchTime`.
pub(crate) fn instances(api: &dyn Api, region: &str) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    pages(api, region, "DescribeInstances", |page| {
        for reservation in page.items(&["reservationSet"]) {
            for instance in reservation.items(&["instancesSet"]) {
                let data = convert(instance, &INSTANCE)?;
                let id = id_of(&data, "instanceId")?;
                let ctime = epoch_ms_of(&data, "launchTime");
                found.push(Resource { id, ctime, data });
            }
        }
        Ok(())
    })?;
    Ok(found)
}

/// Every security group of `region`: id `groupId`, no ctime (EDDA's was the first crawl that
/// saw the group).
pub(crate) fn security_groups(api: &dyn Api, region: &str) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    pages(api, region, "DescribeSecurityGroups", |page| {
        for group in page.items(&["securityGroupInfo"]) {
            let data = convert(group, &SECURITY_GROUP)?;
            let id = id_of(&data, "groupId")?;
            found.push(Resource {
                id,
                ctime: None,
                data,
            });
        }
        Ok(())
    })?;
    Ok(found)
}

/// Every page of `action`, each read by `read`.
fn pages(
    api: &dyn Api,
    region: &str,
    action: &str,
    mut read: impl FnMut(&Element) -> Result<()>,
) -> Result<()> {
    let mut number = 0;
    each_page(|token: Option<&String>| {
        number += 1;
        let params: Vec<(&str, String)> = token
            .map(|t| ("NextToken", t.clone()))
            .into_iter()
            .collect();
        let mut page = || -> Result<Option<String>> {
            let xml = api.query(Service::Ec2, region, action, &params)?;
            let page = answer(&xml, &format!("{action}Response"))?;
            read(&page)?;
            Ok(page.text_at(&["nextToken"]).map(str::to_owned))
        };
        page().with_context(|| format!("failed to read page {number} of {action} in {region}"))
    })
}
