//! Matching one revision's `_meta` envelope against a query, with either of EDDA's engines
//! (reference §2.2): the in-memory live cache (`BasicRecordMatcher`: numbers and booleans compared
//! through their text, an absent field counts as "present", `$in` never matches an array of
//! scalars, null sorts after every value) or the MongoDB datastore (type-strict, arrays searched
//! element-wise at every level, a missing key reads as null).

use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub(crate) enum Lit {
    Null,
    Str(String),
    Bool(bool),
}

#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Eq(Lit),
    In(Vec<Lit>),
    Nin(Vec<Lit>),
    Gte(i64),
    Gt(i64),
    Lte(i64),
    Lt(i64),
}

#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Field(String, Cond),
    Or(Vec<Rule>),
    And(Vec<Rule>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Engine {
    Memory,
    Mongo,
}

pub(crate) fn eval(rule: &Rule, env: &Value, engine: Engine) -> bool {
    match rule {
        Rule::Or(rules) => rules.iter().any(|r| eval(r, env, engine)),
        Rule::And(rules) => rules.iter().all(|r| eval(r, env, engine)),
        Rule::Field(key, cond) => {
            let parts: Vec<&str> = key.split('.').collect();
            let Value::Object(map) = env else {
                return false;
            };
            match engine {
                Engine::Memory => find_obj(&parts, map, cond),
                Engine::Mongo => {
                    let mut found = Vec::new();
                    mongo_values(Some(env), &parts, &mut found);
                    mongo_match(&found, cond)
                }
            }
        }
    }
}

/// `BasicRecordMatcher.runMatcher`: descend objects; at an array, any element may match.
fn find_obj(parts: &[&str], map: &Map<String, Value>, cond: &Cond) -> bool {
    let head = map.get(parts[0]);
    if parts.len() == 1 {
        return memory_op(head, cond);
    }
    match head {
        Some(Value::Object(sub)) => find_obj(&parts[1..], sub, cond),
        Some(Value::Array(items)) => find_list(&parts[1..], items, cond),
        _ => false,
    }
}

fn find_list(parts: &[&str], items: &[Value], cond: &Cond) -> bool {
    items.iter().any(|item| match item {
        Value::Object(sub) => find_obj(parts, sub, cond),
        Value::Array(inner) => find_list(parts, inner, cond),
        _ => false,
    })
}

fn memory_op(found: Option<&Value>, cond: &Cond) -> bool {
    let in_list = |lits: &[Lit]| match found {
        None | Some(Value::Array(_)) => false,
        Some(v) => lits.iter().any(|l| memory_eq(v, l)),
    };
    match cond {
        Cond::Eq(lit) => match found {
            None => false,
            Some(Value::Array(items)) => items.iter().any(|v| memory_eq(v, lit)),
            Some(v) => memory_eq(v, lit),
        },
        Cond::In(lits) => in_list(lits),
        Cond::Nin(lits) => !in_list(lits),
        // BRM orders null after every value: `null > x` holds, `null < x` does not.
        Cond::Gte(t) => found.and_then(Value::as_i64).is_none_or(|n| n >= *t),
        Cond::Gt(t) => found.and_then(Value::as_i64).is_none_or(|n| n > *t),
        Cond::Lte(t) => found.and_then(Value::as_i64).is_some_and(|n| n <= *t),
        Cond::Lt(t) => found.and_then(Value::as_i64).is_some_and(|n| n < *t),
    }
}

/// `cmpPartialMatcher == 0`, with numbers and booleans compared through their text.
fn memory_eq(v: &Value, lit: &Lit) -> bool {
    match (v, lit) {
        (Value::Null, Lit::Null) => true,
        (_, Lit::Null) | (Value::Null, _) => false,
        (Value::Bool(b), Lit::Bool(x)) => b == x,
        (Value::String(s), Lit::Bool(x)) => {
            s.eq_ignore_ascii_case(if *x { "true" } else { "false" })
        }
        (Value::String(s), Lit::Str(x)) => s == x,
        (Value::Number(n), Lit::Str(x)) => n.to_string() == *x,
        (Value::Bool(b), Lit::Str(x)) => b.to_string() == *x,
        _ => false,
    }
}

/// MongoDB path semantics: arrays are searched at every level; a missing key reads as null.
fn mongo_values<'a>(v: Option<&'a Value>, parts: &[&str], out: &mut Vec<Option<&'a Value>>) {
    let Some((first, rest)) = parts.split_first() else {
        if let Some(Value::Array(items)) = v {
            out.extend(items.iter().map(Some));
        }
        out.push(v);
        return;
    };
    match v {
        Some(Value::Object(map)) => mongo_values(map.get(*first), rest, out),
        Some(Value::Array(items)) => {
            for item in items.iter().filter(|i| i.is_object()) {
                mongo_values(Some(item), parts, out);
            }
        }
        _ => out.push(None),
    }
}

fn mongo_eq(v: Option<&Value>, lit: &Lit) -> bool {
    match (v, lit) {
        (None | Some(Value::Null), Lit::Null) => true,
        (Some(Value::String(s)), Lit::Str(x)) => s == x,
        (Some(Value::Bool(b)), Lit::Bool(x)) => b == x,
        _ => false,
    }
}

fn mongo_match(found: &[Option<&Value>], cond: &Cond) -> bool {
    let any_num = |f: &dyn Fn(i64) -> bool| {
        found
            .iter()
            .any(|v| v.and_then(Value::as_i64).is_some_and(f))
    };
    match cond {
        Cond::Eq(lit) => found.iter().any(|v| mongo_eq(*v, lit)),
        Cond::In(lits) => found.iter().any(|v| lits.iter().any(|l| mongo_eq(*v, l))),
        Cond::Nin(lits) => !found.iter().any(|v| lits.iter().any(|l| mongo_eq(*v, l))),
        Cond::Gte(t) => any_num(&|n| n >= *t),
        Cond::Gt(t) => any_num(&|n| n > *t),
        Cond::Lte(t) => any_num(&|n| n <= *t),
        Cond::Lt(t) => any_num(&|n| n < *t),
    }
}
