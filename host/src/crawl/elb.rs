//! Classic load balancers in one region, `aws.loadBalancers`: every page of
//! DescribeLoadBalancers (`Marker`/`NextMarker`; no page size is sent, so AWS's default of 400
//! holds), then DescribeTags for each page's names, at most 20 names a call, whose tags EDDA
//! added to each document as `tags` (flattened ELB tags). A tag call that fails fails the
//! collection: EDDA left that batch's load balancers out, so they looked deleted and came back
//! as new revisions a crawl later.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde_json::Value;

use super::api::{Api, Service, answer, each_page, members};
use super::document::{convert, list};
use super::model::Shape;
use super::model::elb::{LOAD_BALANCER_DESCRIPTION, TAG};
use super::xml::Element;
use super::{Resource, epoch_ms_of, id_of};

/// How many names one DescribeTags call may carry.
pub(crate) const TAG_BATCH: usize = 20;

/// Every classic load balancer of `region`: id `loadBalancerName`, ctime its `createdTime`.
pub(crate) fn load_balancers(api: &dyn Api, region: &str) -> Result<Vec<Resource>> {
    let mut found = Vec::new();
    let mut number = 0;
    each_page(|marker: Option<&String>| {
        number += 1;
        let params: Vec<(&str, String)> =
            marker.map(|m| ("Marker", m.clone())).into_iter().collect();
        let mut read = || -> Result<Option<String>> {
            let xml = api.query(Service::Elb, region, "DescribeLoadBalancers", &params)?;
            let page = answer(&xml, "DescribeLoadBalancersResponse")?;
            let mut docs = page
                .items(&["DescribeLoadBalancersResult", "LoadBalancerDescriptions"])
                .iter()
                .map(|lb| convert(lb, &LOAD_BALANCER_DESCRIPTION))
                .collect::<Result<Vec<_>>>()?;
            add_tags(api, region, &mut docs)?;
            for data in docs {
                let id = id_of(&data, "loadBalancerName")?;
                let ctime = epoch_ms_of(&data, "createdTime");
                found.push(Resource { id, ctime, data });
            }
            let next = page.text_at(&["DescribeLoadBalancersResult", "NextMarker"]);
            Ok(next.map(str::to_owned))
        };
        read().with_context(|| {
            format!("failed to read page {number} of DescribeLoadBalancers in {region}")
        })
    })?;
    Ok(found)
}

/// Sets each document's `tags` from DescribeTags, 20 names a call.
fn add_tags(api: &dyn Api, region: &str, docs: &mut [Value]) -> Result<()> {
    let names: Vec<String> = docs
        .iter()
        .map(|d| id_of(d, "loadBalancerName"))
        .collect::<Result<_>>()?;
    let mut tags: HashMap<String, Value> = HashMap::new();
    for batch in names.chunks(TAG_BATCH) {
        let owned = members("LoadBalancerNames", batch.iter().map(String::as_str));
        let params: Vec<(&str, String)> =
            owned.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let page = api
            .query(Service::Elb, region, "DescribeTags", &params)
            .and_then(|xml| answer(&xml, "DescribeTagsResponse"))
            .with_context(|| format!("failed to read the tags of {}", batch.join(", ")))?;
        for description in page.items(&["DescribeTagsResult", "TagDescriptions"]) {
            let Some(name) = description.text_at(&["LoadBalancerName"]) else {
                continue;
            };
            let list = tag_list(description).with_context(|| format!("tags of {name}"))?;
            tags.insert(name.to_owned(), list);
        }
    }
    for (doc, name) in docs.iter_mut().zip(&names) {
        let list = tags.remove(name).unwrap_or(Value::Array(Vec::new()));
        if let Some(doc) = doc.as_object_mut() {
            doc.insert("tags".to_owned(), list);
        }
    }
    Ok(())
}

fn tag_list(description: &Element) -> Result<Value> {
    list(description.items(&["Tags"]), Shape::Struct(&TAG))
}
