//! Applying a parsed field selector to a document, as EDDA's `FieldSelectorExpr`: key lists
//! keep only the listed keys that exist, arrays keep the elements that match (and always match
//! themselves), `=`/`!=` use Scala `==` (numbers compare across Int/Long/Double), `~`/`!~`
//! search the value's `toString` (a `null` value is an NPE, i.e. a 500), and `::(…)` flattens.

use serde_json::{Map, Value};

use super::selector::{Expr, Lit};

struct Outcome {
    matches: bool,
    value: Option<Value>,
}

/// `FieldSelectorExpr.select`: `Ok(None)` means the record does not match and is left out.
pub(crate) fn select(expr: &Expr, v: &Value) -> Result<Option<Value>, String> {
    let out = select_inner(expr, v)?;
    Ok(match out {
        Outcome {
            matches: true,
            value,
        } => value,
        Outcome { value: Some(_), .. } => None,
        Outcome { value: None, .. } => Some(v.clone()),
    })
}

fn select_inner(expr: &Expr, v: &Value) -> Result<Outcome, String> {
    let Value::Array(items) = v else {
        return check(expr, v);
    };
    let mut kept = Vec::new();
    for item in items {
        if let Outcome {
            matches: true,
            value: Some(value),
        } = check(expr, item)?
        {
            kept.push(value);
        }
    }
    Ok(Outcome {
        matches: true,
        value: Some(Value::Array(kept)),
    })
}

fn check(expr: &Expr, v: &Value) -> Result<Outcome, String> {
    let same = |matches| {
        Ok(Outcome {
            matches,
            value: Some(v.clone()),
        })
    };
    match expr {
        Expr::Fixed(m) => same(*m),
        Expr::Flatten => Ok(Outcome {
            matches: true,
            value: Some(flatten(v)),
        }),
        Expr::Eq(lit) => same(lit_eq(lit, v)),
        Expr::Ne(lit) => same(!lit_eq(lit, v)),
        Expr::Regex(_, _) if v.is_null() => Err("NullPointerException in regex selector".into()),
        Expr::Regex(re, invert) => same(re.is_match(&scala_string(v)) ^ invert),
        Expr::Keys(keys) => {
            let Value::Object(map) = v else {
                return Ok(Outcome {
                    matches: false,
                    value: None,
                });
            };
            let mut matches = true;
            let mut out = Map::new();
            for (k, val) in map {
                if let Some(sub) = keys.get(k) {
                    let r = select_inner(sub, val)?;
                    matches &= r.matches;
                    if let Some(nv) = r.value {
                        out.insert(k.clone(), nv);
                    }
                }
            }
            Ok(Outcome {
                matches,
                value: Some(Value::Object(out)),
            })
        }
    }
}

fn lit_eq(lit: &Lit, v: &Value) -> bool {
    match (lit, v) {
        (Lit::Null, Value::Null) => true,
        (Lit::Bool(b), Value::Bool(x)) => b == x,
        (Lit::Str(s), Value::String(x)) => s == x,
        (Lit::Int(i), Value::Number(n)) => {
            n.as_i64() == Some(i64::from(*i)) || n.as_f64() == Some(f64::from(*i))
        }
        (Lit::Float(f), Value::Number(n)) => n.as_f64() == Some(*f),
        _ => false,
    }
}

/// The value's Scala `toString`, which the regex is searched in.
fn scala_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(scala_string).collect();
            format!("List({})", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k} -> {}", scala_string(v)))
                .collect();
            format!("Map({})", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// `FlattenExpr`: nested objects become dotted keys; arrays and scalars stay as they are.
fn flatten(v: &Value) -> Value {
    fn walk(prefix: Option<&str>, map: &Map<String, Value>, out: &mut Map<String, Value>) {
        for (k, val) in map {
            let key = prefix.map_or_else(|| k.clone(), |p| format!("{p}.{k}"));
            match val {
                Value::Object(sub) => walk(Some(&key), sub, out),
                other => {
                    out.insert(key, other.clone());
                }
            }
        }
    }
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            walk(None, map, &mut out);
            Value::Object(out)
        }
        other => other.clone(),
    }
}
