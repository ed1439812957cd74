//! The little of HTTP/1.1 `serve-edda` reads: a request head of at most [`MAX_HEAD_BYTES`],
//! its method and raw target (never percent-decoded: EDDA reads the raw URI). Bodies are never
//! read; EDDA's API has none.

use std::io::Read;

use edda_engine::Reply;

/// The most bytes of a request head read; a longer one is refused (431).
pub(crate) const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A request's method and raw target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub method: String,
    pub target: String,
}

/// Why a request was refused before it reached the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadRequest {
    #[error("the request head is longer than {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    #[error("malformed request line")]
    Malformed,
    #[error("the connection closed or timed out before the request was complete")]
    Incomplete,
}

/// Reads one request head from `stream`.
pub(crate) fn read_request(stream: &mut impl Read) -> Result<Request, BadRequest> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = find_end(&head) {
            return parse_head(&head[..end]);
        }
        if head.len() >= MAX_HEAD_BYTES {
            return Err(BadRequest::TooLarge);
        }
        let n = stream.read(&mut buf).map_err(|_| BadRequest::Incomplete)?;
        if n == 0 {
            return Err(BadRequest::Incomplete);
        }
        head.extend_from_slice(&buf[..n]);
    }
}

fn find_end(head: &[u8]) -> Option<usize> {
    head.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses a request head (without its blank line): `METHOD SP target SP HTTP/x.y`, then
/// header lines, which are not needed.
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, BadRequest> {
    if head.len() > MAX_HEAD_BYTES {
        return Err(BadRequest::TooLarge);
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| BadRequest::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BadRequest::Malformed);
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !token(method)
        || !target.starts_with('/')
        || !visible(target)
        || !version.starts_with("HTTP/1.")
    {
        return Err(BadRequest::Malformed);
    }
    Ok(Request {
        method: method.to_owned(),
        target: target.to_owned(),
    })
}

/// The target as the engine reads it (under `/edda/api/v2/`): EDDA deployed at the root
/// context serves `/api/v2/...`, and is answered the same.
pub(crate) fn api_target(target: &str) -> String {
    if target.starts_with("/api/v2/") {
        format!("/edda{target}")
    } else {
        target.to_owned()
    }
}

/// The answer to a request that never reached the engine.
pub(crate) fn bad_request(err: &BadRequest) -> Reply {
    let status = match err {
        BadRequest::TooLarge => 431,
        BadRequest::Malformed | BadRequest::Incomplete => 400,
    };
    Reply {
        status,
        content_type: "text/plain",
        body: err.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_raw_target_of_a_request() {
        let mut req: &[u8] =
            b"GET /edda/api/v2/aws/iamUsers;_since=1:(name) HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            read_request(&mut req),
            Ok(Request {
                method: "GET".into(),
                target: "/edda/api/v2/aws/iamUsers;_since=1:(name)".into()
            })
        );
        assert_eq!(api_target("/api/v2/aws/x"), "/edda/api/v2/aws/x");
        assert_eq!(api_target("/edda/api/v2/aws/x"), "/edda/api/v2/aws/x");
    }

    #[test]
    fn refuses_what_is_not_a_small_request() {
        for bad in [
            &b"GET /x\r\n\r\n"[..],
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET /a b HTTP/1.1\r\n\r\n",
            b"G3T /a HTTP/1.1\r\n\r\n",
            b"GET /a HTTP/2\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                read_request(&mut &bad[..]),
                Err(BadRequest::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            read_request(&mut &b"GET /a HTTP/1.1\r\n"[..]),
            Err(BadRequest::Incomplete)
        );
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES));
        long.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        assert_eq!(
            read_request(&mut long.as_slice()),
            Err(BadRequest::TooLarge)
        );
        assert_eq!(bad_request(&BadRequest::TooLarge).status, 431);
    }
}
