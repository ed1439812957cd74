//! Turning a rule's query into the EDDA request path: validation (rules never choose a host
//! and never smuggle characters EDDA would misread) and the window arguments, appended in the
//! original client's order (`;_since=<ms>;_until=<ms>;_updated`). EDDA reads the raw request
//! URI and never percent-decodes, so paths are validated, not encoded.

use crate::contract::{Query, Window};

/// Why a query path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid EDDA query {path:?}: {reason}")]
pub struct InvalidQuery {
    pub path: String,
    pub reason: &'static str,
}

/// Checks that `path` is a relative EDDA path made of characters EDDA reads literally.
pub fn validate(path: &str) -> Result<(), InvalidQuery> {
    let fail = |reason| {
        Err(InvalidQuery {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("it is empty");
    }
    if path.contains("://") || path.starts_with('/') {
        return fail("it must be relative to the EDDA API root (no scheme, host or leading '/')");
    }
    if path.split(['/', ';']).any(|seg| seg == ".." || seg == ".") {
        return fail("it must not contain '.' or '..' segments");
    }
    if path.len() > 4096 {
        return fail("it is longer than 4096 bytes");
    }
    // RFC 3986 path characters without '%': EDDA never decodes escapes, so a '%' could only
    // mean something other than what the rule author wrote.
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c);
    if !path.chars().all(allowed) {
        return fail(
            "it may only contain letters, digits and -._~!$&'()*+,;=:@/ (EDDA never percent-decodes)",
        );
    }
    if path.starts_with("v2/") || path.starts_with("api/") {
        return fail("give the path after /api/v2/ (e.g. view/instances;_expand)");
    }
    Ok(())
}

/// The request path after `/v2/`, with the window appended when the query asks for it.
pub fn request_path(query: &Query, window: Window) -> String {
    let mut path = query.path.clone();
    if query.window {
        // A field selector `:(...)` must stay last, after the matrix arguments.
        let (head, selector) = match path.find(":(") {
            Some(i) => path.split_at(i),
            None => (path.as_str(), ""),
        };
        let mut out = format!(
            "{head};_since={};_until={}",
            window.since_ms, window.until_ms
        );
        if query.updated_only {
            out.push_str(";_updated");
        }
        out.push_str(selector);
        path = out;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(path: &str, window: bool, updated_only: bool) -> Query {
        Query {
            path: path.into(),
            window,
            updated_only,
        }
    }

    #[test]
    fn appends_window_in_the_original_order_before_selectors() {
        let w = Window {
            since_ms: 10,
            until_ms: 20,
        };
        assert_eq!(
            request_path(&q("aws/securityGroups;_expand", true, true), w),
            "aws/securityGroups;_expand;_since=10;_until=20;_updated"
        );
        assert_eq!(
            request_path(&q("view/instances;_expand", false, false), w),
            "view/instances;_expand"
        );
        assert_eq!(
            request_path(
                &q("view/instances;_expand:(instanceId,tags)", true, false),
                w
            ),
            "view/instances;_expand;_since=10;_until=20:(instanceId,tags)"
        );
    }

    #[test]
    fn refuses_hosts_traversal_and_escapes() {
        for bad in [
            "http://evil/x",
            "/api/v2/x",
            "../etc",
            "view/../x",
            "a b",
            "x%2f",
            "x?y",
            "x#y",
            "x\"y",
            "",
            "v2/view/instances",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        for good in [
            "view/instances;_expand",
            "aws/iamUsers/alice;_diff=200",
            "aws/hostedRecords;_expand;zone.name=example.com.",
            "view/instances;_expand:(instanceId,state:(name))",
        ] {
            assert!(validate(good).is_ok(), "{good}");
        }
    }
}
