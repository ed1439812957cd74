//! The two kinds of AWS call the crawl makes, as a trait: a Query-protocol action (EC2, ELB,
//! IAM) and a REST-XML GET (Route 53). The AWS client implements it (below); the tests replay
//! answers recorded from moto through it. Also the one page walk every paged call uses, which
//! refuses a marker AWS hands back twice (a loop) rather than crawling forever.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

use anyhow::{Result, bail};

use super::xml::{self, Element};
pub(crate) use crate::aws::Service;

/// AWS, as the crawl calls it.
pub(crate) trait Api: Sync {
    /// A Query-protocol call: `action` with `params` (besides `Action` and `Version`); the
    /// answer's XML, or why there is none (AWS's error, after retries).
    fn query(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<String>;

    /// A REST-XML GET of `path` with the (unencoded) `query` pairs; the answer's XML.
    fn rest_get(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String>;
}

impl Api for crate::aws::Client {
    fn query(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<String> {
        Ok(crate::aws::Client::query(
            self, service, region, action, params,
        )?)
    }

    fn rest_get(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String> {
        Ok(crate::aws::Client::rest_get(
            self, service, region, path, query,
        )?)
    }
}

/// Calls `page` with no marker, then with each marker a page names, until one names none.
/// A marker seen before means AWS is sending the crawl round in circles: an error.
pub(crate) fn each_page<M>(mut page: impl FnMut(Option<&M>) -> Result<Option<M>>) -> Result<()>
where
    M: Clone + Eq + Hash + Debug,
{
    let mut seen = HashSet::new();
    let mut marker = None;
    loop {
        let next = page(marker.as_ref())?;
        match next {
            None => return Ok(()),
            Some(next) if !seen.insert(next.clone()) => {
                bail!("AWS named the page marker {next:?} twice")
            }
            Some(next) => marker = Some(next),
        }
    }
}

/// The root of an answer, checked to be the element `expected`.
pub(crate) fn answer(xml: &str, expected: &str) -> Result<Element> {
    let root = xml::parse(xml)?;
    if root.name != expected {
        bail!("expected <{expected}> in AWS's answer, got <{}>", root.name);
    }
    Ok(root)
}

/// `<name>.member.<n>` parameters for a Query-protocol list.
pub(crate) fn members<'a>(
    name: &str,
    values: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, String)> {
    values
        .into_iter()
        .enumerate()
        .map(|(n, v)| (format!("{name}.member.{}", n + 1), v.to_owned()))
        .collect()
}

/// A page's `IsTruncated`: `true` means there is another page.
pub(crate) fn truncated(page: &Element, path: &[&str]) -> bool {
    page.text_at(path) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_followed_until_none_is_named() {
        let mut seen = Vec::new();
        each_page(|marker: Option<&u32>| {
            seen.push(marker.copied());
            Ok(match marker {
                None => Some(1),
                Some(&n) if n < 3 => Some(n + 1),
                Some(_) => None,
            })
        })
        .unwrap();
        assert_eq!(seen, [None, Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_marker_named_twice_is_a_loop() {
        let err =
            each_page(|marker: Option<&&str>| Ok(Some(if marker.is_none() { "a" } else { "b" })))
                .unwrap_err();
        assert!(err.to_string().contains("\"b\" twice"), "{err}");
    }

    #[test]
    fn a_failing_page_stops_the_walk() {
        let mut calls = 0;
        let err = each_page(|_: Option<&u32>| {
            calls += 1;
            if calls == 2 {
                bail!("throttled")
            } else {
                Ok(Some(calls))
            }
        })
        .unwrap_err();
        assert_eq!((calls, err.to_string()), (2, "throttled".to_owned()));
    }

    #[test]
    fn answers_are_checked_and_lists_numbered() {
        assert!(answer("<A><B/></A>", "A").is_ok());
        let err = answer("<Oops/>", "A").unwrap_err();
        assert!(err.to_string().contains("got <Oops>"), "{err}");
        assert_eq!(
            members("Names", ["a", "b"]),
            [
                ("Names.member.1".to_owned(), "a".to_owned()),
                ("Names.member.2".to_owned(), "b".to_owned())
            ]
        );
    }
}
