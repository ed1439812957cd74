//! Running a request's query over the store, as EDDA's `makeQuery` and `selectRecords`
//! (reference §2.2–2.3): the query is a map whose keys overwrite each other exactly like EDDA's
//! Scala `Map`, so odd argument mixes (`_at` with `_since`) behave the same; time travel and
//! `_live` read every revision with the datastore engine, sorted by `stime` descending, and
//! other queries read the live cache in insertion order; `_limit` applies last.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::args::Details;
use super::matcher::{Cond, Engine, Lit, Rule, eval};
use super::{Revision, Store};

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

/// A revision as EDDA's `Record.toMap` (the `_meta` envelope), `ftime` being the first
/// `stime` of its id.
fn envelope(rev: &Revision, ftime: i64) -> Value {
    json!({
        "ctime": rev.ctime.unwrap_or(ftime),
        "data": rev.data,
        "ftime": ftime,
        "id": rev.id,
        "ltime": rev.ltime,
        "mtime": rev.ltime.unwrap_or(rev.stime),
        "stime": rev.stime,
        "tags": {},
    })
}

/// `selectRecords`: the matching envelopes, ordered and limited as the chosen source does.
pub(crate) fn select_records(store: &Store, coll: &str, d: &Details) -> Vec<Value> {
    let query = make_query(d);
    let datastore = d.time_travelling || d.live;
    let engine = if datastore {
        Engine::Mongo
    } else {
        Engine::Memory
    };
    let (sources, merged) = store.sources(coll);
    // A get by id only looks at that id's revisions (the query's `id` rule would drop the
    // others anyway): with thousands of ids, building every envelope per request is what
    // made the fake, unlike EDDA, slow.
    let ids: Option<Vec<String>> = d.id.as_ref().map(|id| java_split(id, ',').collect());
    let mut out: Vec<Value> = Vec::new();
    for revs in sources {
        let wanted = |r: &&Revision| ids.as_ref().is_none_or(|ids| ids.contains(&r.id));
        let mut first: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for r in revs.iter().filter(wanted) {
            let t = first.entry(r.id.as_str()).or_insert(r.stime);
            *t = (*t).min(r.stime);
        }
        for rev in revs
            .iter()
            .filter(|r| datastore || r.ltime.is_none())
            .filter(wanted)
        {
            let env = envelope(rev, first[rev.id.as_str()]);
            if query.values().all(|rule| eval(rule, &env, engine)) {
                out.push(env);
            }
        }
    }
    if datastore || merged {
        let stime = |v: &Value| v["stime"].as_i64().unwrap_or(0);
        if d.limit > 0 {
            out.sort_by(|a, b| {
                stime(b)
                    .cmp(&stime(a))
                    .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
            });
        } else {
            out.sort_by_key(|v| std::cmp::Reverse(stime(v)));
        }
    }
    if d.limit > 0 {
        out.truncate(d.limit);
    }
    out
}
