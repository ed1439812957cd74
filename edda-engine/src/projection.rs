//! EDDA's key-list field selectors applied to JSON text: to the documents of a snapshot file (a
//! query with a selector, `view/instances;_expand:(instanceId,tags)`, reads the file of the same
//! query without it and keeps what EDDA would have kept, so one file serves every rule, whatever
//! fields each selects, and `snapshot` saves whole documents), and to the stored text of each
//! document the engine answers with.
//!
//! Only key lists are applied here (`:(a,b:(c,d))`), with EDDA's rules (reference §2.5): an
//! object keeps the listed keys that exist; a nested list applies to an object, or to each
//! element of an array (elements it does not match are dropped, the array always matches); a
//! nested list meeting a value that is not an object does not match, and a record that does
//! not match is left out of the list. Filters (`=`, `!=`, `~`, `!~`) and flattening (`::`)
//! are not key lists: [`Selector::parse`] refuses them (the engine answers them from values).
//!
//! The top level is streamed: each record's unselected values are skipped without building
//! them, a value kept whole is copied as it was written (serde_json's `RawValue`), and only
//! what a nested list applies to is built, so a projection costs about one pass of the
//! tokenizer over the file.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The query path without its field selector, and the selector (`:(…)`) when it has one.
pub fn split(path: &str) -> (&str, Option<&str>) {
    match path.find(":(") {
        Some(i) => (&path[..i], Some(&path[i..])),
        None => (path, None),
    }
}

/// For a path whose field selector the host can apply (a key list), the path without it and
/// the parsed selector; `None` without a selector or with one only EDDA can answer.
pub fn applicable(path: &str) -> Option<(&str, Selector)> {
    let (base, selector) = split(path);
    Some((base, Selector::parse(selector?).ok()?))
}

/// A parsed key list: each key, and the nested list applied to its value, if any.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    keys: BTreeMap<String, Option<Selector>>,
}

impl Selector {
    /// Parses `:(a,b:(c,d))`. Whitespace between tokens is skipped, as EDDA's parser does.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut rest = text.trim_start();
        let selector = Self::list(&mut rest)?;
        if !rest.trim().is_empty() {
            return Err(format!("unexpected {rest:?} after the field selector"));
        }
        Ok(selector)
    }

    fn list(rest: &mut &str) -> Result<Selector, String> {
        *rest = rest
            .strip_prefix(":(")
            .ok_or_else(|| format!("expected \":(\" at {rest:?}"))?;
        let mut keys = BTreeMap::new();
        loop {
            *rest = rest.trim_start();
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                .unwrap_or(rest.len());
            let key = rest[..end].to_owned();
            *rest = rest[end..].trim_start();
            let nested = if rest.starts_with(":(") {
                Some(Self::list(rest)?)
            } else if rest.starts_with([',', ')']) {
                None
            } else {
                return Err(format!(
                    "only key lists can be applied to a snapshot file; filters (=, !=, ~, !~) and \
                     flattening (::) are answered by EDDA itself, at {rest:?}"
                ));
            };
            keys.insert(key, nested);
            *rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                *rest = after;
                continue;
            }
            *rest = rest
                .strip_prefix(')')
                .ok_or_else(|| format!("expected \",\" or \")\" at {rest:?}"))?;
            return Ok(Selector { keys });
        }
    }

    /// The selected body: a list keeps its matching records; a single document that does not
    /// match is EDDA's empty body.
    pub fn apply(&self, body: &str) -> Result<String, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(body);
        let out = de.deserialize_any(Body(self))?;
        de.end()?;
        Ok(out)
    }

    /// One document's text selected: `None` when the key list does not match it (EDDA leaves
    /// it out of a list, and answers a single get with an empty body).
    pub fn apply_record(&self, text: &str) -> Result<Option<String>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let out = de.deserialize_any(Record(self))?;
        de.end()?;
        Ok(out)
    }

    /// EDDA's `check` of a key list on a value: the kept value and whether it matched.
    fn check(&self, value: &Value) -> (Option<Value>, bool) {
        let Value::Object(map) = value else {
            return (None, false);
        };
        let mut matches = true;
        let mut out = Map::new();
        for (key, value) in map {
            let Some(nested) = self.keys.get(key) else {
                continue;
            };
            let Some(nested) = nested else {
                out.insert(key.clone(), value.clone());
                continue;
            };
            let (kept, matched) = nested.select(value);
            matches &= matched;
            if let Some(kept) = kept {
                out.insert(key.clone(), kept);
            }
        }
        (Some(Value::Object(out)), matches)
    }

    /// A nested list on a value: arrays keep the elements that match, and always match.
    fn select(&self, value: &Value) -> (Option<Value>, bool) {
        match value {
            Value::Array(items) => {
                let kept = items
                    .iter()
                    .filter_map(|item| match self.check(item) {
                        (Some(kept), true) => Some(kept),
                        _ => None,
                    })
                    .collect();
                (Some(Value::Array(kept)), true)
            }
            other => self.check(other),
        }
    }
}

/// The whole body: a list of records, or one record.
struct Body<'s>(&'s Selector);

impl<'de> Visitor<'de> for Body<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EDDA list or document")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut out = String::from("[");
        while let Some(record) = seq.next_element_seed(Record(self.0))? {
            if let Some(text) = record {
                if out.len() > 1 {
                    out.push(',');
                }
                out.push_str(&text);
            }
        }
        out.push(']');
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        Ok(Record(self.0).visit_map(map)?.unwrap_or_default())
    }

    // Ids, numbers and the like are not documents: EDDA leaves them as they are (a key list
    // on a non-object keeps the value), and so does this.
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        serde_json::to_string(v).map_err(E::custom)
    }
}

/// One top-level record: `None` when the selector does not match it.
struct Record<'s>(&'s Selector);

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<String>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Record<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EDDA record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut out = String::from("{");
        let mut matches = true;
        while let Some(entry) = map.next_key_seed(Key(self.0))? {
            let Some((key, nested)) = entry else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let kept;
            let text = match nested {
                // A value kept whole is copied as it was written, without being built.
                None => map.next_value::<&RawValue>()?.get(),
                Some(nested) => {
                    let (selected, matched) = nested.select(&map.next_value::<Value>()?);
                    matches &= matched;
                    let Some(selected) = selected else { continue };
                    kept = crate::json::compact(&selected);
                    kept.as_str()
                }
            };
            if out.len() > 1 {
                out.push(',');
            }
            // Selector keys are `[A-Za-z0-9_.-]*` (see `Selector::list`): nothing to escape.
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            out.push_str(text);
        }
        out.push('}');
        Ok(matches.then_some(out))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        serde_json::to_string(v).map(Some).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
}

/// A record's key, looked up in the selector without being copied: the selector's own key and
/// nested list when it is selected, `None` when it is not.
struct Key<'s>(&'s Selector);

impl<'de, 's> DeserializeSeed<'de> for Key<'s> {
    type Value = Option<(&'s str, &'s Option<Selector>)>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de, 's> Visitor<'de> for Key<'s> {
    type Value = Option<(&'s str, &'s Option<Selector>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    // serde_json hands over a key with escapes unescaped, through this same method.
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .keys
            .get_key_value(key)
            .map(|(key, nested)| (key.as_str(), nested)))
    }
}

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
