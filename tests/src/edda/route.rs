//! One request, start to finish, as EDDA's `CollectionResource.getCollection`: strip
//! `/edda/api/v2/` from the raw target, split selector, path and matrix with EDDA's regexes
//! (reference §1.2), then answer with ids, documents, a diff, or one of EDDA's errors (§3) in
//! EDDA's order of checks. Anything EDDA would throw on becomes the container's non-JSON 500 page.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::args::{Details, parse_matrix};
use super::query::{java_split, select_records};
use super::{Store, diff, json, selection, selector};

static FIELD_RX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?s:(.*?)(:\(.*\))?)$").expect("valid regex"));
static COLL_RX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?s:([^:;]+?)/?((?:;[^/;]*(?:=[^/;]+)?)*))$").expect("valid regex")
});

/// What the HTTP layer sends back.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Reason phrase and JAX-RS `Response.Status` enum name of a status code.
pub(crate) fn status_names(code: u16) -> (&'static str, &'static str) {
    match code {
        200 => ("OK", "OK"),
        400 => ("Bad Request", "BAD_REQUEST"),
        401 => ("Unauthorized", "UNAUTHORIZED"),
        403 => ("Forbidden", "FORBIDDEN"),
        404 => ("Not Found", "NOT_FOUND"),
        405 => ("Method Not Allowed", "METHOD_NOT_ALLOWED"),
        410 => ("Gone", "GONE"),
        429 => ("Too Many Requests", "TOO_MANY_REQUESTS"),
        500 => ("Internal Server Error", "INTERNAL_SERVER_ERROR"),
        502 => ("Bad Gateway", "BAD_GATEWAY"),
        503 => ("Service Unavailable", "SERVICE_UNAVAILABLE"),
        504 => ("Gateway Timeout", "GATEWAY_TIMEOUT"),
        _ => ("Unknown", "UNKNOWN"),
    }
}

/// EDDA's `fail()`: `{"code":..,"name":..,"message":..}` in exactly that key order.
pub(crate) fn fail(status: u16, message: &str) -> Reply {
    let body = format!(
        r#"{{"code":{status},"name":"{}","message":{}}}"#,
        status_names(status).1,
        Value::String(message.to_string())
    );
    Reply {
        status,
        content_type: "application/json",
        body: body.into_bytes(),
    }
}

/// The servlet container's page for an uncaught exception.
pub(crate) fn error_page(uri: &str, message: &str) -> Reply {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let (m, u) = (esc(message), esc(uri));
    let body = format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=ISO-8859-1\"/>\n\
         <title>Error 500 {m}</title>\n</head>\n<body><h2>HTTP ERROR 500</h2>\n\
         <p>Problem accessing {u}. Reason:\n<pre>    {m}</pre></p><hr /><i><small>Powered by Jetty://</small></i>\n\
         </body>\n</html>\n"
    );
    Reply {
        status: 500,
        content_type: "text/html",
        body: body.into_bytes(),
    }
}

pub(crate) fn handle(store: &Store, method: &str, target: &str) -> Reply {
    let uri = target.split('?').next().unwrap_or_default();
    let plain = |status: u16, text: &str| Reply {
        status,
        content_type: "text/plain",
        body: text.as_bytes().to_vec(),
    };
    if method != "GET" {
        return plain(405, "Method Not Allowed");
    }
    match uri
        .strip_prefix("/edda/api/v2/")
        .filter(|rest| !rest.is_empty())
    {
        None => plain(404, "Not Found"),
        Some(real_path) => route(store, real_path).unwrap_or_else(|e| error_page(uri, &e)),
    }
}

fn route(store: &Store, real_path: &str) -> Result<Reply, String> {
    let caps = FIELD_RX.captures(real_path).ok_or("scala.MatchError")?;
    let path = caps.get(1).map_or("", |m| m.as_str());
    let Some(parts) = COLL_RX.captures(path) else {
        return Ok(fail(400, &format!("invalid path: {path}")));
    };
    let (coll_path, matrix) = (&parts[1], &parts[2]);
    let name = coll_path.replace('/', ".");
    let (coll, id) = if store.is_registered(&name) {
        (name, None)
    } else {
        let segs: Vec<String> = java_split(coll_path, '/').collect();
        let (last, init) = segs
            .split_last()
            .ok_or("java.lang.UnsupportedOperationException: empty.init")?;
        (init.join("."), Some(last.clone()))
    };
    let args = parse_matrix(matrix)?;
    let expr = caps
        .get(2)
        .map(|m| selector::parse(m.as_str()))
        .transpose()?;
    let d = Details::new(id, args)?;
    if d.id.is_none() && d.diff.is_some() {
        let msg = format!("_diff argument requires use of resource id: /api{coll}/<id>");
        return Ok(fail(400, &msg));
    }
    if !store.is_registered(&coll) {
        let id = d.id.as_deref().unwrap_or("null");
        return Ok(fail(400, &format!("invalid collection: {coll}.{id}")));
    }
    respond(store, &coll, &d, expr.as_ref())
}

/// `handleBasicCollection`.
fn respond(
    store: &Store,
    coll: &str,
    d: &Details,
    expr: Option<&selector::Expr>,
) -> Result<Reply, String> {
    let recs = select_records(store, coll, d);
    let id = d.id.as_deref().unwrap_or_default();
    if d.single && recs.is_empty() {
        if !d.time_travelling {
            let mut args = d.args.clone();
            args.extend(
                [
                    ("_live", None),
                    ("_since", Some("0")),
                    ("_limit", Some("1")),
                ]
                .map(|(k, v)| (k.to_string(), v.map(str::to_string))),
            );
            let again = select_records(store, coll, &Details::new(d.id.clone(), args)?);
            if let Some(newest) = again.first() {
                let msg = format!(
                    "record \"{id}\" is no longer valid in collection {coll}. Use _at, _since or _all \
                     arguments to fetch historical records.  Last seen at {}",
                    newest["stime"]
                );
                return Ok(fail(410, &msg));
            }
        }
        return Ok(fail(
            404,
            &format!("record \"{id}\" not found in collection {coll}"),
        ));
    }
    let (content_type, body) = if let (Some(arg), Some(_)) = (&d.diff, &d.id) {
        if recs.len() == 1 {
            return Ok(fail(
                400,
                "_diff requires at least 2 documents, only 1 found",
            ));
        }
        let context = arg
            .as_deref()
            .map(str::parse::<i32>)
            .transpose()
            .map_err(|e| e.to_string())?;
        let prefix = format!("/edda/api/v2/{}", coll.replace('.', "/"));
        ("text/plain", diff::diff_records(&recs, context, &prefix)?)
    } else {
        let render = |env: &Value| -> Result<Option<Value>, String> {
            let base = if d.meta {
                env.clone()
            } else {
                env["data"].clone()
            };
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
        let body = if d.single {
            render(&recs[0])?.map(|v| write(&v)).unwrap_or_default()
        } else if d.expand {
            let mut docs = Vec::new();
            for env in &recs {
                docs.extend(render(env)?);
            }
            write(&Value::Array(docs))
        } else {
            write(&Value::Array(
                recs.iter().map(|env| env["id"].clone()).collect(),
            ))
        };
        ("application/json", body)
    };
    Ok(match &d.callback {
        Some(cb) => Reply {
            status: 200,
            content_type: "application/javascript",
            body: format!("{cb}({body})").into_bytes(),
        },
        None => Reply {
            status: 200,
            content_type,
            body: body.into_bytes(),
        },
    })
}
