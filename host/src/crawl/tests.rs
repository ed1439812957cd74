//! The crawl's tests and what they share: [`Replay`], an [`Api`] that answers from AWS answers
//! recorded from moto (`tests/fixtures/aws/moto-account.json.gz`, written by the live test in
//! `tests/moto.rs`), and an XML writer for tests that take a recorded answer apart (reorder a
//! list, split it into pages).

mod documents;
mod moto;
mod pages;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use anyhow::{Result, bail};
use reddalert_testkit::aws_account::{Recording, fixtures_dir, request_key};

use super::xml::Element;
use super::{Api, Collection, Service, read_account};
use crate::store::Document;

/// The recording of the seeded account (`Seed::full()`): two regions, us-east-1 first.
pub(super) const RECORDED: &str = "moto-account.json.gz";

/// The regions the recording was made in.
pub(super) fn recorded_regions() -> Vec<String> {
    vec!["us-east-1".to_owned(), "eu-west-1".to_owned()]
}

/// The test kit's name of a service (the recording's and its driver's).
pub(super) fn service_name(service: Service) -> &'static str {
    match service {
        Service::Elb => "elb",
        other => other.signing_name(),
    }
}

/// Answers from a recording; a request it has no answer for is an error naming it. Answers
/// can be replaced (`set`) to make AWS misbehave, and every request is counted.
pub(super) struct Replay {
    answers: HashMap<String, (u16, String)>,
    pub asked: Mutex<Vec<String>>,
}

impl Replay {
    pub(super) fn new(recording: &Recording) -> Replay {
        let answers = recording
            .exchanges
            .iter()
            .map(|e| (e.request.clone(), (e.status, e.body.clone())))
            .collect();
        Replay {
            answers,
            asked: Mutex::new(Vec::new()),
        }
    }

    /// The committed recording.
    pub(super) fn recorded() -> Replay {
        Replay::new(&Recording::load(&fixtures_dir().join(RECORDED)))
    }

    /// The recorded answer to `request` (a [`request_key`]).
    pub(super) fn get(&self, request: &str) -> &str {
        match self.answers.get(request) {
            Some((_, body)) => body,
            None => panic!("no recorded answer to {request}"),
        }
    }

    /// The keys of the recorded requests that start with `prefix`.
    pub(super) fn requests(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .answers
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    /// Makes `request` answer `status` and `body`.
    pub(super) fn set(&mut self, request: &str, status: u16, body: String) {
        self.answers.insert(request.to_owned(), (status, body));
    }

    fn answer(&self, key: String) -> Result<String> {
        self.asked.lock().unwrap().push(key.clone());
        match self.answers.get(&key) {
            Some((200, body)) => Ok(body.clone()),
            Some((status, body)) => bail!("AWS answered {status}: {body}"),
            None => bail!("no recorded answer to {key}"),
        }
    }
}

impl Api for Replay {
    fn query(
        &self,
        service: Service,
        region: &str,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<String> {
        self.answer(request_key(
            "query",
            service_name(service),
            region,
            action,
            params,
        ))
    }

    fn rest_get(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<String> {
        self.answer(request_key(
            "get",
            service_name(service),
            region,
            path,
            query,
        ))
    }
}

/// Reads every collection through `api`, failing the test on any failure.
pub(super) fn read_all(api: &dyn Api, regions: &[String]) -> BTreeMap<Collection, Vec<Document>> {
    read_account(api, regions, &Collection::ALL)
        .into_iter()
        .map(|(c, read)| match read {
            Ok(documents) => (c, documents),
            Err(err) => panic!("{}: {err:#}", c.root()),
        })
        .collect()
}

/// `element` written back as XML (enough for AWS's answers: no attributes, escaped text).
pub(super) fn to_xml(element: &Element) -> String {
    let mut out = String::new();
    write(element, &mut out);
    out
}

fn write(element: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    out.push('>');
    out.push_str(
        &element
            .text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    );
    for child in &element.children {
        write(child, out);
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// The element at `path` under `root`, to change.
pub(super) fn at_mut<'a>(root: &'a mut Element, path: &[&str]) -> &'a mut Element {
    path.iter().fold(root, |element, name| {
        element
            .children
            .iter_mut()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("no <{name}>"))
    })
}

/// A leaf element.
pub(super) fn leaf(name: &str, text: &str) -> Element {
    Element {
        name: name.to_owned(),
        text: text.to_owned(),
        children: Vec::new(),
    }
}
