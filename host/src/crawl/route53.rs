//! Route 53, `aws.hostedZones` and `aws.hostedRecords`: every page of ListHostedZones
//! (`marker`/`NextMarker`), then every page of each zone's ListResourceRecordSets (the
//! `NextRecordName`/`NextRecordType`/`NextRecordIdentifier` triple; EDDA followed the name
//! alone), each record with the `zone: {id, name}` EDDA added. No page size is sent: AWS's
//! defaults (100 zones, 300 records) are its largest.
//!
//! Ids differ from EDDA's, whose ids were the zone's and the record's name: a record set is
//! one of several with its name as often as not (an `A` and an `MX` at the apex, weighted
//! sets, the same name in a public and a private zone), and EDDA kept one of them and lost
//! the rest. Here a zone is `<name>|<zone id>` and a record `<name>|<type>|<zone id>`, with
//! `|<set identifier>` when it has one: what Route 53 itself tells record sets apart by, so an
//! id stays the same as long as the record does. `%`, `/`, `;`, `,`, `:`, `(`, `)` and `|`
//! in a part are percent-escaped, as EDDA's paths cannot carry them.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use super::Resource;
use super::api::{Api, Service, answer, each_page, truncated};
use super::document::convert;
use super::model::route53::{HOSTED_ZONE, RESOURCE_RECORD_SET};

/// Zones whose records are listed at once (EDDA ran ten).
const ZONE_WORKERS: usize = 8;

const API: &str = "/2013-04-01";

/// A hosted zone as crawled.
#[derive(Debug, Clone)]
pub(crate) struct Zone {
    /// `Z1D633PJN98FT9`.
    pub id: String,
    /// `example.com.`
    pub name: String,
    pub resource: Resource,
}

/// Every hosted zone. `region` is the one Route 53's global endpoint is reached through.
pub(crate) fn zones(api: &dyn Api, region: &str) -> Result<Vec<Zone>> {
    let mut found = Vec::new();
    let mut number = 0;
    each_page(|marker: Option<&String>| {
        number += 1;
        let query: Vec<(&str, String)> =
            marker.map(|m| ("marker", m.clone())).into_iter().collect();
        let mut read = || -> Result<Option<String>> {
            let xml = api.rest_get(
                Service::Route53,
                region,
                &format!("{API}/hostedzone"),
                &query,
            )?;
            let page = answer(&xml, "ListHostedZonesResponse")?;
            for zone in page.items(&["HostedZones"]) {
                let data = convert(zone, &HOSTED_ZONE)?;
                let name = text(&data, "name")?;
                let id = zone_id(&text(&data, "id")?)?;
                let resource = Resource {
                    id: format!("{}|{}", escape(&name), escape(&id)),
                    ctime: None,
                    data,
                };
                found.push(Zone { id, name, resource });
            }
            next(&page, "NextMarker", number)
        };
        read().with_context(|| format!("failed to read page {number} of ListHostedZones"))
    })?;
    Ok(found)
}

/// Every record set of every zone.
pub(crate) fn records(api: &dyn Api, region: &str, zones: &[Zone]) -> Result<Vec<Resource>> {
    let per_zone = crate::pool::map(
        zones,
        ZONE_WORKERS,
        |zone| format!("listing the records of {}", zone.name),
        |zone| zone_records(api, region, zone),
    );
    let mut found = Vec::new();
    for (zone, records) in zones.iter().zip(per_zone) {
        let records = records.map_err(|e| anyhow!(e))?;
        found.extend(
            records.with_context(|| format!("failed to list the records of {}", zone.name))?,
        );
    }
    Ok(found)
}

/// Where the next page of records starts: name, type and (for sets with one) identifier.
type RecordMarker = (String, String, Option<String>);

fn zone_records(api: &dyn Api, region: &str, zone: &Zone) -> Result<Vec<Resource>> {
    let path = format!("{API}/hostedzone/{}/rrset", zone.id);
    let zone_doc = json!({"id": format!("/hostedzone/{}", zone.id), "name": zone.name});
    let mut found = Vec::new();
    let mut number = 0;
    each_page(|marker: Option<&RecordMarker>| {
        number += 1;
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some((name, kind, identifier)) = marker {
            query.push(("name", name.clone()));
            query.push(("type", kind.clone()));
            query.extend(identifier.clone().map(|i| ("identifier", i)));
        }
        let mut read = || -> Result<Option<RecordMarker>> {
            let xml = api.rest_get(Service::Route53, region, &path, &query)?;
            let page = answer(&xml, "ListResourceRecordSetsResponse")?;
            for record in page.items(&["ResourceRecordSets"]) {
                let mut data = convert(record, &RESOURCE_RECORD_SET)?;
                let mut id = format!(
                    "{}|{}|{}",
                    escape(&text(&data, "name")?),
                    escape(&text(&data, "type")?),
                    escape(&zone.id)
                );
                if let Some(set) = data.get("setIdentifier").and_then(Value::as_str) {
                    id = format!("{id}|{}", escape(set));
                }
                if let Some(doc) = data.as_object_mut() {
                    doc.insert("zone".to_owned(), zone_doc.clone());
                }
                found.push(Resource {
                    id,
                    ctime: None,
                    data,
                });
            }
            if !truncated(&page, &["IsTruncated"]) {
                return Ok(None);
            }
            let name = page.text_at(&["NextRecordName"]);
            let kind = page.text_at(&["NextRecordType"]);
            let identifier = page.text_at(&["NextRecordIdentifier"]).map(str::to_owned);
            match (name, kind) {
                (Some(name), Some(kind)) => {
                    Ok(Some((name.to_owned(), kind.to_owned(), identifier)))
                }
                _ => bail!("the page is truncated without a NextRecordName and NextRecordType"),
            }
        };
        read().with_context(|| format!("failed to read page {number} of ListResourceRecordSets"))
    })?;
    Ok(found)
}

/// The marker of a truncated page of zones.
fn next(page: &super::xml::Element, marker: &str, number: usize) -> Result<Option<String>> {
    if !truncated(page, &["IsTruncated"]) {
        return Ok(None);
    }
    match page.text_at(&[marker]) {
        Some(next) => Ok(Some(next.to_owned())),
        None => bail!("page {number} is truncated without a {marker}"),
    }
}

/// `Z1D633PJN98FT9` of `/hostedzone/Z1D633PJN98FT9`; it goes into a URL path, so only
/// letters and digits are accepted.
fn zone_id(id: &str) -> Result<String> {
    let bare = id.strip_prefix("/hostedzone/").unwrap_or(id);
    if bare.is_empty() || !bare.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("{id:?} is not a hosted zone id");
    }
    Ok(bare.to_owned())
}

fn text(data: &Value, key: &str) -> Result<String> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("an answer without its {key}"))
}

/// `part` with the characters EDDA's paths cannot carry (and `|`, the separator) escaped.
pub(crate) fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match c {
            '%' | '/' | ';' | ',' | ':' | '(' | ')' | '|' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parts_are_escaped_and_zone_ids_checked() {
        assert_eq!(escape("\\052.example.com."), "\\052.example.com.");
        assert_eq!(escape("a/b;c,d|e%f:(g)"), "a%2Fb%3Bc%2Cd%7Ce%25f%3A%28g%29");
        assert_eq!(
            zone_id("/hostedzone/Z1D633PJN98FT9").unwrap(),
            "Z1D633PJN98FT9"
        );
        assert!(zone_id("/hostedzone/../../x").is_err());
        assert!(zone_id("/hostedzone/").is_err());
    }
}
