//! The small parts of AWS's XML answers this module reads itself: the error bodies of every
//! protocol (EC2's `<Response><Errors><Error>`, the Query and REST-XML
//! `<ErrorResponse><Error>`, S3's bare `<Error>`) and the credentials STS returns. Both come
//! from the network, so a body that is not XML, or not the XML expected, is an answer to
//! report, never a panic (a fuzz target holds that); the callers bound its size.

use quick_xml::events::Event;

/// Deeper than this is not an AWS answer (theirs nest a handful of levels), and would make
/// each leaf's path costly to copy.
const MAX_DEPTH: usize = 32;

/// Every element holding text, as (path of local names from the root, text), in document
/// order. Entity and character references are resolved; CDATA is text.
pub(crate) fn leaves(xml: &str) -> Result<Vec<(Vec<String>, String)>, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut found = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                if path.len() == MAX_DEPTH {
                    return Err(format!("the XML nests deeper than {MAX_DEPTH} elements"));
                }
                path.push(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
                text.clear();
            }
            Event::Empty(_) => text.clear(),
            Event::Text(t) => text.push_str(&t.xml_content().map_err(|e| e.to_string())?),
            Event::CData(c) => text.push_str(&c.xml_content().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let value = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    text.push_str(value);
                }
            }
            Event::End(_) => {
                let trimmed = text.trim();
                if !trimmed.is_empty() {
                    found.push((path.clone(), trimmed.to_owned()));
                }
                text.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(format!("the XML ends inside <{}>", path.join("><")));
    }
    Ok(found)
}

/// The text of the first leaf whose path ends with `suffix`.
fn find<'a>(leaves: &'a [(Vec<String>, String)], suffix: &[&str]) -> Option<&'a str> {
    leaves
        .iter()
        .find(|(path, _)| {
            path.len() >= suffix.len()
                && path[path.len() - suffix.len()..]
                    .iter()
                    .zip(suffix)
                    .all(|(a, b)| a == b)
        })
        .map(|(_, text)| text.as_str())
}

/// What an AWS error body says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// The error of an AWS answer, in any of its protocols' shapes; `None` when the body is not
/// an AWS error (an HTML page from a proxy, a truncated body).
pub(crate) fn error_body(body: &str) -> Option<ErrorBody> {
    let leaves = leaves(body).ok()?;
    let code = find(&leaves, &["Error", "Code"])?.to_owned();
    Some(ErrorBody {
        code,
        message: find(&leaves, &["Error", "Message"])
            .unwrap_or_default()
            .to_owned(),
        request_id: find(&leaves, &["RequestId"])
            .or_else(|| find(&leaves, &["RequestID"]))
            .map(str::to_owned),
    })
}

/// The credentials of an STS answer (`AssumeRole`, `AssumeRoleWithWebIdentity`): access key
/// id, secret, session token and expiry (ISO 8601).
pub(crate) struct StsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: String,
}

/// Reads an STS answer's `<Credentials>`. The error never quotes the body: it holds secrets.
pub(crate) fn sts_credentials(body: &str) -> Result<StsCredentials, String> {
    let leaves = leaves(body).map_err(|_| "the answer is not XML".to_owned())?;
    let field = |name: &str| {
        find(&leaves, &["Credentials", name])
            .map(str::to_owned)
            .ok_or_else(|| format!("the answer has no Credentials/{name}"))
    };
    Ok(StsCredentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        session_token: field("SessionToken")?,
        expiration: field("Expiration")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_protocols_error_shape() {
        let ec2 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                   <Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>\
                   </Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>";
        assert_eq!(
            error_body(ec2),
            Some(ErrorBody {
                code: "RequestLimitExceeded".into(),
                message: "Request limit exceeded.".into(),
                request_id: Some("ea966190-f9aa-478e-9ede-example".into()),
            })
        );
        let query = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                     <Error><Type>Sender</Type><Code>AccessDenied</Code>\
                     <Message>User: arn:aws:iam::1:user/x is not authorized &amp; &#x41;&#66; <![CDATA[<cdata>]]></Message>\
                     </Error><RequestId>4fa3-example</RequestId></ErrorResponse>";
        let parsed = error_body(query).unwrap();
        assert_eq!(parsed.code, "AccessDenied");
        assert_eq!(
            parsed.message,
            "User: arn:aws:iam::1:user/x is not authorized & AB <cdata>"
        );
        assert_eq!(parsed.request_id.as_deref(), Some("4fa3-example"));
        let s3 = "<Error><Code>NoSuchBucket</Code><Message>gone</Message><RequestId>r</RequestId></Error>";
        assert_eq!(error_body(s3).unwrap().code, "NoSuchBucket");
    }

    #[test]
    fn what_is_not_an_aws_error_is_none() {
        for body in [
            "",
            "<html><body>Bad Gateway</body></html>",
            "<ErrorResponse><Error><Code>Throttling",
            "{\"message\": \"json\"}",
            "<a>&unknown;</a>",
            "<Error><Message>no code</Message></Error>",
        ] {
            assert_eq!(error_body(body), None, "{body}");
        }
        let deep = format!(
            "{}<Error><Code>X</Code></Error>{}",
            "<a>".repeat(40),
            "</a>".repeat(40)
        );
        assert!(leaves(&deep).unwrap_err().contains("deeper than 32"));
        assert_eq!(error_body(&deep), None);
    }

    #[test]
    fn reads_sts_credentials_and_never_quotes_the_body() {
        let body = "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
                    <AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey>\
                    <SessionToken>t0k3n</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>\
                    </Credentials></AssumeRoleResult></AssumeRoleResponse>";
        let c = sts_credentials(body).unwrap();
        assert_eq!(
            (
                c.access_key_id.as_str(),
                c.secret_access_key.as_str(),
                c.session_token.as_str()
            ),
            ("ASIAEXAMPLE", "s3cr3t", "t0k3n")
        );
        assert_eq!(c.expiration, "2030-01-01T00:00:00Z");
        let without_token = body.replace("<SessionToken>t0k3n</SessionToken>", "");
        let err = sts_credentials(&without_token).err().unwrap();
        assert_eq!(err, "the answer has no Credentials/SessionToken");
        let broken = sts_credentials("<Credentials><SecretAccessKey>s3cr3t")
            .err()
            .unwrap();
        assert!(!broken.contains("s3cr3t"), "{broken}");
    }
}
