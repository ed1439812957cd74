//! Writing the selected revisions as EDDA's body: ids, one document or a list of them. Two
//! ways give the same bytes: [`texts`] copies each document's stored canonical text (applying a
//! key list on the raw text, as `projection` does), which is what the stock rules' queries
//! take; [`values`] builds each document (or its `_meta` envelope) and applies the full field
//! selector, for `_meta`, `_pp` and filters. A test holds them byte-identical.

use serde_json::Value;

use crate::args::Details;
use crate::projection::Selector;
use crate::query::envelope;
use crate::source::Stored;
use crate::{json, selection, selector};

/// Whether [`texts`] can apply the selector: a key list, on documents that are objects (EDDA
/// keeps any other value whole under a key list, which only [`values`] does).
pub(crate) fn texts_apply(recs: &[Stored], keys: Option<&Selector>) -> bool {
    keys.is_some() && recs.iter().all(|rev| rev.data.text().starts_with('{'))
}

/// The body from stored text: ids, or documents (a key list applied to each).
pub(crate) fn texts(
    recs: &[Stored],
    d: &Details,
    keys: Option<&Selector>,
) -> Result<String, String> {
    let one = |rev: &Stored| -> Result<Option<String>, String> {
        let text = rev.data.text();
        match keys {
            None => Ok(Some(text.to_owned())),
            Some(keys) => keys.apply_record(text).map_err(|err| err.to_string()),
        }
    };
    if d.single {
        return Ok(recs
            .first()
            .map(one)
            .transpose()?
            .flatten()
            .unwrap_or_default());
    }
    if !d.expand {
        return Ok(ids(recs, false));
    }
    let mut out = String::from("[");
    for rev in recs {
        if let Some(text) = one(rev)? {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&text);
        }
    }
    out.push(']');
    Ok(out)
}

/// The body from built values: `_meta` envelopes, `_pp` dates and any field selector.
pub(crate) fn values(
    recs: &[Stored],
    d: &Details,
    expr: Option<&selector::Expr>,
) -> Result<String, String> {
    let render = |rev: &Stored| -> Result<Option<Value>, String> {
        let base = if d.meta {
            envelope(rev, true)
        } else {
            rev.data.value()
        }
        .map_err(|err| err.to_string())?;
        let picked = match expr {
            Some(e) => selection::select(e, &base)?,
            None => Some(base),
        };
        Ok(picked.map(|v| if d.pp { json::pp_dates(&v, d.meta) } else { v }))
    };
    let write = |v: &Value| {
        if d.pp {
            json::pretty(v)
        } else {
            json::compact(v)
        }
    };
    Ok(if d.single {
        match recs.first() {
            Some(rev) => render(rev)?.map(|v| write(&v)).unwrap_or_default(),
            None => String::new(),
        }
    } else if d.expand {
        let mut docs = Vec::new();
        for rev in recs {
            docs.extend(render(rev)?);
        }
        write(&Value::Array(docs))
    } else {
        ids(recs, d.pp)
    })
}

fn ids(recs: &[Stored], pretty: bool) -> String {
    let ids = Value::Array(recs.iter().map(|r| Value::String(r.id.clone())).collect());
    if pretty {
        json::pretty(&ids)
    } else {
        json::compact(&ids)
    }
}
