//! One request, start to finish, as EDDA's `CollectionResource.getCollection`: strip
//! `/edda/api/v2/` from the raw target, split selector, path and matrix with EDDA's regexes
//! (reference §1.2), then answer with ids, documents, a diff, or one of EDDA's errors (§3) in
//! EDDA's order of checks. Anything EDDA would throw on becomes the container's non-JSON 500 page.
//! Documents are answered from their stored text when nothing but a key list applies to them
//! (`render::texts`), and built into values only for `_meta`, `_pp` and filters.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::args::{Details, parse_matrix};
use crate::projection::Selector;
use crate::query::{java_split, select_records};
use crate::source::{Source, SourceError};
use crate::{ROOT_COLLECTIONS, account_root, diff, render, selector};

static FIELD_RX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?s:(.*?)(:\(.*\))?)$").expect("valid regex"));
static COLL_RX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?s:([^:;]+?)/?((?:;[^/;]*(?:=[^/;]+)?)*))$").expect("valid regex")
});

/// What the HTTP layer sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Reason phrase and JAX-RS `Response.Status` enum name of a status code.
pub fn status_names(code: u16) -> (&'static str, &'static str) {
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
pub fn fail(status: u16, message: &str) -> Reply {
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
pub fn error_page(uri: &str, message: &str) -> Reply {
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

/// Why a request got no answer of its own: something EDDA would throw on (its container's
/// 500 page), or the source failing.
enum Failure {
    Thrown(String),
    Source(SourceError),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Thrown(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::Thrown(message.to_owned())
    }
}

impl From<SourceError> for Failure {
    fn from(err: SourceError) -> Failure {
        Failure::Source(err)
    }
}

/// Answers one raw HTTP request target (`/edda/api/v2/...`) as EDDA's servlet would; a source
/// that fails to read answers EDDA's JSON 500.
pub fn handle(source: &dyn Source, method: &str, target: &str) -> Reply {
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
        Some(real_path) => answer_at(source, real_path, uri)
            .unwrap_or_else(|err| fail(500, &format!("failed to read the store: {err}"))),
    }
}

/// Answers a request path after `/v2/` (`aws/securityGroups;_expand`) with EDDA's reply, its
/// errors included (a collection the source cannot answer now is a 503 naming it); `Err` only
/// when the source failed to read.
pub fn answer(source: &dyn Source, real_path: &str) -> Result<Reply, SourceError> {
    answer_at(source, real_path, &format!("/edda/api/v2/{real_path}"))
}

fn answer_at(source: &dyn Source, real_path: &str, uri: &str) -> Result<Reply, SourceError> {
    match route(source, real_path) {
        Ok(reply) => Ok(reply),
        Err(Failure::Thrown(message)) => Ok(error_page(uri, &message)),
        Err(Failure::Source(SourceError::Unavailable(message))) => Ok(fail(503, &message)),
        Err(Failure::Source(err)) => Err(err),
    }
}

enum Resolved {
    /// Answered while parsing (a 400).
    Reply(Reply),
    Query(Box<Parsed>),
}

/// A request to answer: its collection, EDDA's details of its arguments, and its selector
/// (parsed as EDDA does, and as a key list when it is one).
struct Parsed {
    coll: String,
    details: Details,
    expr: Option<selector::Expr>,
    keys: Option<Selector>,
}

fn resolve(source: &dyn Source, real_path: &str) -> Result<Resolved, Failure> {
    let caps = FIELD_RX.captures(real_path).ok_or("scala.MatchError")?;
    let path = caps.get(1).map_or("", |m| m.as_str());
    let Some(parts) = COLL_RX.captures(path) else {
        return Ok(Resolved::Reply(fail(400, &format!("invalid path: {path}"))));
    };
    let (coll_path, matrix) = (&parts[1], &parts[2]);
    let name = coll_path.replace('/', ".");
    let (coll, id) = if is_registered(source, &name)? {
        (name, None)
    } else {
        let segs: Vec<String> = java_split(coll_path, '/').collect();
        let (last, init) = segs
            .split_last()
            .ok_or("java.lang.UnsupportedOperationException: empty.init")?;
        (init.join("."), Some(last.clone()))
    };
    let args = parse_matrix(matrix)?;
    let selector_text = caps.get(2).map(|m| m.as_str());
    let expr = selector_text.map(selector::parse).transpose()?;
    let d = Details::new(id, args)?;
    if d.id.is_none() && d.diff.is_some() {
        let msg = format!("_diff argument requires use of resource id: /api{coll}/<id>");
        return Ok(Resolved::Reply(fail(400, &msg)));
    }
    if !is_registered(source, &coll)? {
        let id = d.id.as_deref().unwrap_or("null");
        return Ok(Resolved::Reply(fail(
            400,
            &format!("invalid collection: {coll}.{id}"),
        )));
    }
    Ok(Resolved::Query(Box::new(Parsed {
        keys: selector_text.and_then(|text| Selector::parse(text).ok()),
        coll,
        details: d,
        expr,
    })))
}

/// Whether EDDA would answer for this name: a root, or `<account>.<root>` the source holds.
fn is_registered(source: &dyn Source, name: &str) -> Result<bool, SourceError> {
    Ok(ROOT_COLLECTIONS.contains(&name) || (account_root(name).is_some() && source.holds(name)?))
}

fn route(source: &dyn Source, real_path: &str) -> Result<Reply, Failure> {
    match resolve(source, real_path)? {
        Resolved::Reply(reply) => Ok(reply),
        Resolved::Query(q) => {
            source.available(account_root(&q.coll).unwrap_or(&q.coll))?;
            respond(
                source,
                &q.coll,
                &q.details,
                q.expr.as_ref(),
                q.keys.as_ref(),
                false,
            )
        }
    }
}

/// The answer with every document built into a value ([`render::values`]), for the test and
/// the fuzz target that hold the stored-text way to the same bytes. Not for serving: slower.
#[doc(hidden)]
pub fn answer_from_values(source: &dyn Source, real_path: &str) -> Reply {
    let uri = format!("/edda/api/v2/{real_path}");
    let reply = match resolve(source, real_path) {
        Ok(Resolved::Reply(reply)) => Ok(reply),
        Ok(Resolved::Query(q)) => respond(
            source,
            &q.coll,
            &q.details,
            q.expr.as_ref(),
            q.keys.as_ref(),
            true,
        ),
        Err(err) => Err(err),
    };
    match reply {
        Ok(reply) => reply,
        Err(Failure::Thrown(message)) => error_page(&uri, &message),
        Err(Failure::Source(err)) => fail(500, &err.to_string()),
    }
}

/// `handleBasicCollection`.
fn respond(
    source: &dyn Source,
    coll: &str,
    d: &Details,
    expr: Option<&selector::Expr>,
    keys: Option<&Selector>,
    from_values: bool,
) -> Result<Reply, Failure> {
    let recs = select_records(source, coll, d)?;
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
            let again = select_records(source, coll, &Details::new(d.id.clone(), args)?)?;
            if let Some(newest) = again.first() {
                let msg = format!(
                    "record \"{id}\" is no longer valid in collection {coll}. Use _at, _since or _all \
                     arguments to fetch historical records.  Last seen at {}",
                    newest.stime
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
    } else if from_values || d.meta || d.pp || (expr.is_some() && !render::texts_apply(&recs, keys))
    {
        ("application/json", render::values(&recs, d, expr)?)
    } else {
        ("application/json", render::texts(&recs, d, keys)?)
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
