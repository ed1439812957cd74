//! An element of an AWS answer turned into the document EDDA served for it, by the shape
//! tables of `model`: keys are the Java SDK v1 bean names, with a `class` key naming the bean's
//! Java class; every member of the shape is present, `null` when AWS left it out and `[]` for
//! a list (the SDK's auto-constructed lists); numbers and booleans typed; times as epoch
//! milliseconds; `<item>`/`<member>` wrappers gone. Then EDDA's own touches: EC2 and ELB tags
//! flattened (`{"key": "Name", "value": "web", "Name": "web"}`), an instance state's code
//! masked to its low byte, and a permission's deprecated `ipRanges` (CIDR strings) derived
//! beside `ipv4Ranges`.
//!
//! Lists are put in a canonical order, so that AWS listing the same things in another order
//! records no revision: by the lowercased canonical JSON of each item (sorted keys, compact),
//! then by the canonical JSON itself, which orders lists of strings as EDDA's sort by Java's
//! `toString().toLowerCase()` did. Elements the tables do not know (members AWS added after
//! the tables were cut) are kept, under their decapitalised name, as text, lists or objects.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use super::model::{Shape, Structure, decapitalise};
use super::xml::Element;

/// The classes whose objects EDDA flattened (its `AwsBeanMapper`): EC2, Auto Scaling, classic
/// ELB and RDS tags. IAM and Route 53 tags were never flattened and are not.
const FLATTENED_TAGS: &[&str] = &[
    "com.amazonaws.services.ec2.model.Tag",
    "com.amazonaws.services.ec2.model.TagDescription",
    "com.amazonaws.services.autoscaling.model.Tag",
    "com.amazonaws.services.autoscaling.model.TagDescription",
    "com.amazonaws.services.elasticloadbalancing.model.Tag",
    "com.amazonaws.services.rds.model.Tag",
];

const INSTANCE_STATE: &str = "com.amazonaws.services.ec2.model.InstanceState";
const IP_PERMISSION: &str = "com.amazonaws.services.ec2.model.IpPermission";

/// The document of `element`, read as `structure`.
pub(crate) fn convert(element: &Element, structure: &Structure) -> Result<Value> {
    Ok(Value::Object(object(element, structure)?))
}

/// The value of a member that AWS left out: `[]` for a list, else `null`.
pub(crate) fn absent(shape: Shape) -> Value {
    match shape {
        Shape::List(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// A list of converted items, in canonical order.
pub(crate) fn list(items: &[Element], shape: Shape) -> Result<Value> {
    let items = items
        .iter()
        .enumerate()
        .map(|(n, item)| value(item, shape).with_context(|| format!("item {}", n + 1)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(canonical_order(items)))
}

/// `values` sorted by their lowercased canonical JSON, then by the canonical JSON.
pub(crate) fn canonical_order(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_cached_key(|v| {
        let text = v.to_string();
        (text.to_lowercase(), text)
    });
    values
}

fn object(element: &Element, structure: &Structure) -> Result<Map<String, Value>> {
    let mut doc = Map::new();
    for member in structure.members {
        let value = match element.child(member.wire) {
            Some(child) => value(child, member.shape)
                .with_context(|| format!("failed to read {}.{}", structure.name(), member.wire))?,
            None => absent(member.shape),
        };
        doc.insert(member.bean.to_owned(), value);
    }
    for child in &element.children {
        if structure.member(&child.name).is_none() {
            let key = decapitalise(&child.name);
            if !doc.contains_key(&key) {
                tracing::trace!(
                    "{}: kept unknown element <{}>",
                    structure.name(),
                    child.name
                );
                doc.insert(key, unknown(child));
            }
        }
    }
    doc.insert("class".to_owned(), Value::from(structure.class));
    touch(structure.class, &mut doc);
    Ok(doc)
}

fn value(element: &Element, shape: Shape) -> Result<Value> {
    let text = element.text.trim();
    Ok(match shape {
        Shape::Str => Value::String(element.text.clone()),
        _ if text.is_empty() && !matches!(shape, Shape::Struct(_) | Shape::List(_)) => Value::Null,
        Shape::Int => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => bail!("{text:?} is not an integer"),
        },
        Shape::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => bail!("{text:?} is not a boolean"),
        },
        Shape::Time => Value::from(epoch_ms(text)?),
        Shape::Struct(structure) => Value::Object(object(element, structure)?),
        Shape::List(item) => list(&element.children, *item)?,
    })
}

/// An ISO 8601 time (`2026-12-07T11:49:18.458138Z`, with or without fractions or an offset) in
/// epoch milliseconds, fractions below a millisecond dropped.
pub(crate) fn epoch_ms(text: &str) -> Result<i64> {
    let time: jiff::Timestamp = text
        .parse()
        .with_context(|| format!("{text:?} is not an ISO 8601 time"))?;
    Ok(time.as_millisecond())
}

/// An element no table describes: text when it has no children, a list when every child is
/// an `<item>` or `<member>`, else an object.
fn unknown(element: &Element) -> Value {
    if element.children.is_empty() {
        return Value::String(element.text.clone());
    }
    if element
        .children
        .iter()
        .all(|c| c.name == "item" || c.name == "member")
    {
        return Value::Array(canonical_order(
            element.children.iter().map(unknown).collect(),
        ));
    }
    let mut object = Map::new();
    for child in &element.children {
        object
            .entry(decapitalise(&child.name))
            .or_insert_with(|| unknown(child));
    }
    Value::Object(object)
}

/// EDDA's own changes to a bean's document.
fn touch(class: &str, doc: &mut Map<String, Value>) {
    if FLATTENED_TAGS.contains(&class) {
        // EDDA added `<key>: <value>`; a tag named like one of the bean's own keys would
        // overwrite it (a tag `key` lost its name), so such a tag is left unflattened.
        if let Some(Value::String(key)) = doc.get("key")
            && !doc.contains_key(key)
        {
            let key = key.clone();
            let value = doc.get("value").cloned().unwrap_or(Value::Null);
            doc.insert(key, value);
        }
    } else if class == INSTANCE_STATE {
        // The high byte of the code is internal to EC2; EDDA masked it off.
        if let Some(code) = doc.get("code").and_then(Value::as_i64) {
            doc.insert("code".to_owned(), Value::from(code & 0xFF));
        }
    } else if class == IP_PERMISSION {
        let cidrs = doc
            .get("ipv4Ranges")
            .and_then(Value::as_array)
            .map(|ranges| {
                ranges
                    .iter()
                    .filter_map(|r| r.get("cidrIp").and_then(Value::as_str))
                    .map(Value::from)
                    .collect()
            })
            .unwrap_or_default();
        doc.insert("ipRanges".to_owned(), Value::Array(canonical_order(cidrs)));
    }
}
