//! IAM users, `aws.iamUsers`: EDDA's own document, `{name, attributes, groups, accessKeys,
//! userPolicies}`, from about N+2 calls where EDDA made 3N+1 (ListUsers, then per user
//! ListGroupsForUser, ListAccessKeys and ListUserPolicies, and only the first page of users).
//! GetAccountAuthorizationDetails (`Filter=User`) gives every user with its groups, inline
//! policies and attached policies; ListUsers adds what it lacks (`passwordLastUsed`); one
//! ListAccessKeys per user gives the keys. Every call is read to its last page.
//!
//! `attachedManagedPolicies` (`AttachedPolicy` beans) is added beside EDDA's keys: EDDA did not
//! crawl managed-policy attachments, and a security tool should see them change. A user that
//! ListUsers has but the authorization details do not (deleted in between) is left out; one
//! the details have but ListUsers does not (created in between) gets `passwordLastUsed: null`.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow};
use serde_json::{Map, Value};

use super::api::{Api, Service, answer, each_page, truncated};
use super::document::{canonical_order, convert, list};
use super::model::Shape;
use super::model::iam::{ACCESS_KEY_METADATA, ATTACHED_POLICY, USER};
use super::xml::Element;
use super::{Resource, epoch_ms_of, id_of};

/// ListAccessKeys calls in flight at once (EDDA ran ten).
const KEY_WORKERS: usize = 8;

/// The largest page IAM gives (its default is 100).
const MAX_ITEMS: &str = "1000";

/// Every IAM user: id the user name, ctime its `createDate`. `region` is the one IAM's global
/// endpoint is reached through.
pub(crate) fn users(api: &dyn Api, region: &str) -> Result<Vec<Resource>> {
    let listed = pages(api, region, "ListUsers", &[], &["Users"])?;
    let listed: HashMap<&str, &Element> = listed
        .iter()
        .flat_map(|page| page.iter())
        .filter_map(|user| Some((user.text_at(&["UserName"])?, user)))
        .collect();
    let details = pages(
        api,
        region,
        "GetAccountAuthorizationDetails",
        &[("Filter.member.1", "User".to_owned())],
        &["UserDetailList"],
    )?;
    let details: Vec<&Element> = details.iter().flat_map(|page| page.iter()).collect();
    let names: Vec<String> = details
        .iter()
        .map(|d| {
            d.text_at(&["UserName"])
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("a user without its UserName"))
        })
        .collect::<Result<_>>()?;
    let keys = crate::pool::map(
        &names,
        KEY_WORKERS,
        |name| format!("listing the access keys of {name}"),
        |name| access_keys(api, region, name),
    );
    details
        .iter()
        .zip(keys)
        .map(|(detail, keys)| {
            let keys = keys.map_err(|e| anyhow!(e))??;
            let name = detail.text_at(&["UserName"]).unwrap_or_default();
            let data = document(detail, listed.get(name).copied(), keys)
                .with_context(|| format!("failed to read IAM user {name}"))?;
            let id = id_of(&data, "name")?;
            let ctime = data
                .get("attributes")
                .and_then(|a| epoch_ms_of(a, "createDate"));
            Ok(Resource { id, ctime, data })
        })
        .collect()
}

/// EDDA's document of one user.
fn document(detail: &Element, listed: Option<&Element>, access_keys: Value) -> Result<Value> {
    let strings = |items: &[Element], text: &dyn Fn(&Element) -> Option<&str>| {
        let items = items
            .iter()
            .map(|item| Value::from(text(item).unwrap_or_default()));
        Value::Array(canonical_order(items.collect()))
    };
    let groups = strings(detail.items(&["GroupList"]), &|g| Some(g.text.trim()));
    let policies = strings(detail.items(&["UserPolicyList"]), &|p| {
        p.text_at(&["PolicyName"])
    });
    let attached = detail.items(&["AttachedManagedPolicies"]);
    let mut doc = Map::new();
    let name = detail.text_at(&["UserName"]).unwrap_or_default();
    doc.insert("name".to_owned(), Value::from(name));
    doc.insert("attributes".to_owned(), attributes(detail, listed)?);
    doc.insert("groups".to_owned(), groups);
    doc.insert("userPolicies".to_owned(), policies);
    doc.insert("accessKeys".to_owned(), access_keys);
    doc.insert(
        "attachedManagedPolicies".to_owned(),
        list(attached, Shape::Struct(&ATTACHED_POLICY))?,
    );
    Ok(Value::Object(doc))
}

/// The `User` bean: each member as ListUsers gave it, else as the authorization details did
/// (which have all but `passwordLastUsed`; ListUsers leaves out tags and the boundary).
fn attributes(detail: &Element, listed: Option<&Element>) -> Result<Value> {
    let mut user = Element {
        name: "User".to_owned(),
        ..Element::default()
    };
    for member in USER.members {
        let from = |e: Option<&Element>| e.and_then(|e| e.child(member.wire)).cloned();
        user.children
            .extend(from(listed).or_else(|| from(Some(detail))));
    }
    // What ListUsers gives that the tables do not know yet is kept, as for any bean.
    let unknown = listed.into_iter().flat_map(|l| &l.children);
    user.children
        .extend(unknown.filter(|c| USER.member(&c.name).is_none()).cloned());
    convert(&user, &USER)
}

/// The access keys of one user, every page.
fn access_keys(api: &dyn Api, region: &str, user: &str) -> Result<Value> {
    let pages = pages(
        api,
        region,
        "ListAccessKeys",
        &[("UserName", user.to_owned())],
        &["AccessKeyMetadata"],
    )?;
    let keys: Vec<Element> = pages.iter().flat_map(|p| p.iter().cloned()).collect();
    list(&keys, Shape::Struct(&ACCESS_KEY_METADATA))
}

/// The items of `list` (a path under `<Action>Result`) of every page of `action`.
fn pages(
    api: &dyn Api,
    region: &str,
    action: &str,
    params: &[(&str, String)],
    list: &[&str],
) -> Result<Vec<Vec<Element>>> {
    let result = format!("{action}Result");
    let mut found = Vec::new();
    let mut number = 0;
    each_page(|marker: Option<&String>| {
        number += 1;
        let mut all: Vec<(&str, String)> = params.to_vec();
        all.push(("MaxItems", MAX_ITEMS.to_owned()));
        all.extend(marker.map(|m| ("Marker", m.clone())));
        let page = api
            .query(Service::Iam, region, action, &all)
            .and_then(|xml| answer(&xml, &format!("{action}Response")))
            .with_context(|| format!("failed to read page {number} of {action}"))?;
        let mut path = vec![result.as_str()];
        path.extend(list);
        found.push(page.items(&path).to_vec());
        if !truncated(&page, &[&result, "IsTruncated"]) {
            return Ok(None);
        }
        let next = page.text_at(&[&result, "Marker"]).map(str::to_owned);
        next.map(Some)
            .ok_or_else(|| anyhow!("{action} page {number} is truncated without a Marker"))
    })?;
    Ok(found)
}
