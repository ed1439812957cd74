//! Running a request's query over the store, as EDDA's `makeQuery` and `selectRecords`
//! (reference §2.2–2.3): the query is a map whose keys overwrite each other exactly like EDDA's
//! Scala `Map`, so odd argument mixes (`_at` with `_since`) behave the same; time travel and
//! `_live` read every revision with the datastore engine, sorted by `stime` descending, and
//! other queries read the live cache in insertion order; `_limit` applies last. The source
//! is asked only for what the query can match ([`prefilter`]), and documents are parsed only when
//! a rule reads them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::ROOT_COLLECTIONS;
use crate::args::Details;
use crate::matcher::{Cond, Engine, Lit, Rule, eval};
use crate::source::{Filter, Source, SourceError, Stored};

fn field(key: &str, cond: Cond) -> Rule {
    Rule::Field(key.to_string(), cond)
}

/// `CollectionResource.makeQuery` plus the id clause of `selectRecords`.
fn make_query(d: &Details) -> BTreeMap<String, Rule> {
    let mut q = BTreeMap::new();
    let prefix = if d.meta { "" } else { "data." };
    for (k, v) in &d.select_args {
        let cond = match v.as_deref() {
            None => Cond::Nin(vec![Lit::Null, Lit::Str(String::new())]),
            Some("true") => Cond::Eq(Lit::Bool(true)),
            Some("false") => Cond::Eq(Lit::Bool(false)),
            Some(v) if v.contains(',') => Cond::In(java_split(v, ',').map(Lit::Str).collect()),
            Some(v) => Cond::Eq(Lit::Str(v.to_string())),
        };
        let key = format!("{prefix}{k}");
        q.insert(key.clone(), field(&key, cond));
    }
    if d.has("_at") {
        q.insert("stime".into(), field("stime", Cond::Lte(d.at)));
        let alive = vec![
            field("ltime", Cond::Eq(Lit::Null)),
            field("ltime", Cond::Gte(d.at)),
        ];
        q.insert("$or".into(), Rule::Or(alive));
    } else if !d.time_travelling {
        q.insert("ltime".into(), field("ltime", Cond::Eq(Lit::Null)));
    }
    let (since, until) = if d.updated {
        (
            field("stime", Cond::Gte(d.since)),
            field("stime", Cond::Lte(d.until)),
        )
    } else {
        let since = Rule::Or(vec![
            field("stime", Cond::Gte(d.since)),
            field("ltime", Cond::Eq(Lit::Null)),
            field("ltime", Cond::Gt(d.since)),
        ]);
        let until = Rule::Or(vec![
            field("stime", Cond::Lte(d.until)),
            field("ltime", Cond::Lt(d.until)),
        ]);
        (since, until)
    };
    // A lone `_since` or `_until` lands on the same key `_at` used, and overwrites it.
    let lone_key = if d.updated { "stime" } else { "$or" };
    match (d.has("_since"), d.has("_until")) {
        (true, true) => {
            q.insert("$and".into(), Rule::And(vec![since, until]));
        }
        (true, false) => {
            q.insert(lone_key.into(), since);
        }
        (false, true) => {
            q.insert(lone_key.into(), until);
        }
        (false, false) => {}
    }
    if let Some(id) = &d.id {
        let cond = if id.contains(',') {
            Cond::In(java_split(id, ',').map(Lit::Str).collect())
        } else {
            Cond::Eq(Lit::Str(id.clone()))
        };
        q.insert("id".into(), field("id", cond));
    }
    q
}

/// Java's `String.split` on one character: trailing empty strings are dropped.
pub(crate) fn java_split(s: &str, sep: char) -> impl Iterator<Item = String> {
    let mut parts: Vec<String> = s.split(sep).map(str::to_string).collect();
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !s.is_empty() {
        parts.clear();
    }
    parts.into_iter()
}

/// A revision as EDDA's `Record.toMap` (the `_meta` envelope). `with_data` false leaves
/// `data` null: a query whose rules read no data field is matched without parsing documents.
pub(crate) fn envelope(rev: &Stored, with_data: bool) -> Result<Value, SourceError> {
    let data = if with_data {
        rev.data.value()?
    } else {
        Value::Null
    };
    Ok(json!({
        "ctime": rev.ctime.unwrap_or(rev.ftime),
        "data": data,
        "ftime": rev.ftime,
        "id": rev.id,
        "ltime": rev.ltime,
        "mtime": rev.ltime.unwrap_or(rev.stime),
        "stime": rev.stime,
        "tags": {},
    }))
}

/// The collections a query on `coll` reads (a root fans out to its per-account collections),
/// and whether that is a merged view.
fn sources(source: &dyn Source, coll: &str) -> Result<(Vec<String>, bool), SourceError> {
    let mut out = vec![coll.to_owned()];
    if ROOT_COLLECTIONS.contains(&coll) {
        out.extend(source.accounts_of(coll)?);
    }
    let merged = out.len() > 1;
    Ok((out, merged))
}

/// `selectRecords`: the matching revisions, ordered and limited as the chosen source does.
pub(crate) fn select_records(
    source: &dyn Source,
    coll: &str,
    d: &Details,
) -> Result<Vec<Stored>, SourceError> {
    let query = make_query(d);
    let datastore = d.time_travelling || d.live;
    let engine = if datastore {
        Engine::Mongo
    } else {
        Engine::Memory
    };
    let filter = prefilter(&query, !datastore);
    let with_data = query.values().any(reads_data);
    let (collections, merged) = sources(source, coll)?;
    let mut out: Vec<Stored> = Vec::new();
    for collection in &collections {
        for rev in source.revisions(collection, &filter)? {
            if !datastore && rev.ltime.is_some() {
                continue;
            }
            let env = envelope(&rev, with_data)?;
            if query.values().all(|rule| eval(rule, &env, engine)) {
                out.push(rev);
            }
        }
    }
    if datastore || merged {
        if d.limit > 0 {
            out.sort_by(|a, b| b.stime.cmp(&a.stime).then_with(|| a.id.cmp(&b.id)));
        } else {
            out.sort_by_key(|rev| std::cmp::Reverse(rev.stime));
        }
    }
    if d.limit > 0 {
        out.truncate(d.limit);
    }
    Ok(out)
}

/// Whether a rule reads the document (`data` or below it) rather than the envelope alone.
fn reads_data(rule: &Rule) -> bool {
    match rule {
        Rule::Field(key, _) => key == "data" || key.starts_with("data."),
        Rule::Or(rules) | Rule::And(rules) => rules.iter().any(reads_data),
    }
}

/// What a source may restrict a query to: every rule of the query must hold, and each is
/// translated into the [`Filter`] that admits at least what it matches under either engine
/// (the live cache orders a null `ltime` after every time; the datastore never matches it).
fn prefilter(query: &BTreeMap<String, Rule>, live_only: bool) -> Filter {
    let mut all: Vec<Filter> = query
        .values()
        .map(rule_filter)
        .filter(|f| *f != Filter::All)
        .collect();
    if live_only {
        all.push(Filter::Live);
    }
    match all.len() {
        0 => Filter::All,
        1 => all.remove(0),
        _ => Filter::And(all),
    }
}

fn rule_filter(rule: &Rule) -> Filter {
    match rule {
        Rule::And(rules) => {
            let all: Vec<Filter> = rules
                .iter()
                .map(rule_filter)
                .filter(|f| *f != Filter::All)
                .collect();
            if all.is_empty() {
                Filter::All
            } else {
                Filter::And(all)
            }
        }
        Rule::Or(rules) => {
            let any: Vec<Filter> = rules.iter().map(rule_filter).collect();
            if any.contains(&Filter::All) {
                Filter::All
            } else {
                Filter::Or(any)
            }
        }
        Rule::Field(key, cond) => match (key.as_str(), cond) {
            ("stime", Cond::Gte(t)) => Filter::StimeGte(*t),
            ("stime", Cond::Gt(t)) => Filter::StimeGte(t.saturating_add(1)),
            ("stime", Cond::Lte(t)) => Filter::StimeLte(*t),
            ("stime", Cond::Lt(t)) => Filter::StimeLte(t.saturating_sub(1)),
            ("ltime", Cond::Eq(Lit::Null)) => Filter::Live,
            ("ltime", Cond::Gte(t)) => Filter::AliveAfter(t.saturating_sub(1)),
            ("ltime", Cond::Gt(t)) => Filter::AliveAfter(*t),
            ("ltime", Cond::Lte(t)) => Filter::ClosedBefore(t.saturating_add(1)),
            ("ltime", Cond::Lt(t)) => Filter::ClosedBefore(*t),
            ("id", Cond::Eq(Lit::Str(id))) => Filter::Ids(vec![id.clone()]),
            ("id", Cond::In(lits)) => {
                let ids: Option<Vec<String>> = lits
                    .iter()
                    .map(|lit| match lit {
                        Lit::Str(id) => Some(id.clone()),
                        _ => None,
                    })
                    .collect();
                ids.map_or(Filter::All, Filter::Ids)
            }
            _ => Filter::All,
        },
    }
}
