//! AWS's XML answers read into a small tree of elements, the one form every conversion and
//! every page walk reads. Names lose their namespace prefix (AWS answers carry one default
//! namespace, and a prefix says nothing the shape tables need); text is unescaped, character
//! and the five predefined references included, CDATA kept as written. The answer is
//! untrusted input: nesting deeper than [`MAX_DEPTH`] is refused (AWS's answers nest about a
//! dozen levels), and so is anything that is not one well-formed element.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

/// How deep elements may nest in an answer.
pub(crate) const MAX_DEPTH: usize = 64;

/// One element: its local name, its text (the concatenation of its own text nodes) and its
/// child elements in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at the end of a path of child names.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter()
            .try_fold(self, |element, name| element.child(name))
    }

    /// The text of the element at the end of `path`, when there is one and it is not empty.
    pub(crate) fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path)
            .map(|e| e.text.trim())
            .filter(|text| !text.is_empty())
    }

    /// The children of the element at `path` (a list's items), or none when it is absent.
    pub(crate) fn items(&self, path: &[&str]) -> &[Element] {
        self.at(path).map_or(&[], |e| e.children.as_slice())
    }
}

/// Why an answer is not XML the crawl can read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XmlError {
    #[error("malformed XML at byte {at}: {message}")]
    Malformed { at: u64, message: String },
    #[error("XML nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("no root element")]
    Empty,
    #[error("content after the root element")]
    Trailing,
    #[error("unknown entity &{0};")]
    Entity(String),
}

/// Reads `xml` into its root element.
pub(crate) fn parse(xml: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(xml);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let malformed = |reader: &Reader<&[u8]>, err: &dyn std::fmt::Display| XmlError::Malformed {
        at: reader.buffer_position(),
        message: err.to_string(),
    };
    // The open elements, innermost last; the finished root once it closes.
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&reader, &e))?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => return Err(XmlError::Trailing),
            Event::Start(start) => {
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                open.push(Element {
                    name: local_name(start.local_name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: local_name(start.local_name().as_ref()),
                    ..Element::default()
                };
                close(&mut open, &mut root, element);
            }
            Event::End(_) => {
                let element = open.pop().ok_or(XmlError::Trailing)?;
                close(&mut open, &mut root, element);
            }
            Event::Text(text) => {
                let text = text.xml10_content().map_err(|e| malformed(&reader, &e))?;
                push_text(&mut open, &root, &text)?;
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| malformed(&reader, &e))?;
                push_text(&mut open, &root, &text)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|e| malformed(&reader, &e))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError::Entity(name.into_owned()))?
                            .to_owned()
                    }
                    Err(e) => return Err(malformed(&reader, &e)),
                };
                push_text(&mut open, &root, &resolved)?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !open.is_empty() {
        return Err(XmlError::Malformed {
            at: reader.buffer_position(),
            message: format!("<{}> is not closed", open[open.len() - 1].name),
        });
    }
    root.ok_or(XmlError::Empty)
}

/// Hangs a finished element on its parent, or makes it the root.
fn close(open: &mut [Element], root: &mut Option<Element>, element: Element) {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Adds text to the innermost open element; text outside the root must be blank.
fn push_text(open: &mut [Element], root: &Option<Element>, text: &str) -> Result<(), XmlError> {
    match open.last_mut() {
        Some(element) => element.text.push_str(text),
        None if text.trim().is_empty() => {}
        None if root.is_some() => return Err(XmlError::Trailing),
        None => {
            return Err(XmlError::Malformed {
                at: 0,
                message: "text before the root element".to_owned(),
            });
        }
    }
    Ok(())
}

fn local_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_text_and_references_are_read() {
        let root = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <a:R xmlns:a="urn:x"><x>1 &amp; 2 &#x41;&#66;</x><y/><z><![CDATA[<raw>]]></z></a:R>"#,
        )
        .unwrap();
        assert_eq!(root.name, "R");
        assert_eq!(root.text_at(&["x"]), Some("1 & 2 AB"));
        assert_eq!(root.at(&["y"]).unwrap().text, "");
        assert_eq!(root.text_at(&["y"]), None);
        assert_eq!(root.text_at(&["z"]), Some("<raw>"));
        assert_eq!(root.items(&["nothing"]).len(), 0);
    }

    #[test]
    fn broken_answers_are_errors() {
        for (xml, what) in [
            ("", "no root"),
            ("<a><b></a>", "mismatched"),
            ("<a>", "unclosed"),
            ("<a/><b/>", "two roots"),
            ("text<a/>", "text before"),
            ("<a>&nope;</a>", "unknown entity"),
            ("<a/>tail", "text after"),
        ] {
            assert!(parse(xml).is_err(), "{what}: {xml:?} parsed");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse(&deep), Err(XmlError::TooDeep)));
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }
}
