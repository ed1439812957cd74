//! Run a rule natively, without wasm or a host: the way rule authors unit-test their logic.
//!
//! ```
//! # use reddalert_rule_sdk::prelude::*;
//! # struct MyRule;
//! # impl Rule for MyRule {
//! #     fn info() -> Info { Info { name: "x".into(), version: "0".into(), description: "".into(),
//! #         queries: vec![Query::current("view/instances;_expand")], capabilities: vec![],
//! #         default_config: json!({}) } }
//! #     fn evaluate(input: Input) -> Result<Output> { Ok(Output::new()) }
//! # }
//! use reddalert_rule_sdk::testing::Harness;
//! let out = Harness::<MyRule>::new()
//!     .data("view/instances;_expand", "[]")
//!     .window(0, 1_000)
//!     .run()
//!     .unwrap();
//! assert!(out.alerts.is_empty());
//! ```

use std::collections::HashMap;
use std::marker::PhantomData;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;

use crate::Rule;
use crate::host::EddaError;
use crate::models::archive::{Aligned, Collection};
use crate::net::{HttpResponse, NetError};
use crate::s3::ObjectListing;
use crate::types::{Body, Capability, Data, Form, Input, Output, Query, Window, merge_config};

/// The answers as the host hands them in: the JSON of each query the rule declared
/// [`Form::Archive`] parsed into its models and archived once (failing, as the host does, when
/// it does not fit them), the others as they are.
fn bodies(queries: &[Query], data: Vec<(String, String)>) -> Result<Data> {
    let mut out = Vec::with_capacity(data.len());
    for (path, json) in data {
        let archive = queries
            .iter()
            .any(|q| q.path == path && q.form == Form::Archive);
        let body = if archive {
            let collection = Collection::of_query(&path).ok_or_else(|| {
                anyhow!("query {path:?} has no archive form: declare it without Query::archived")
            })?;
            let bytes = collection
                .archive(json.as_bytes())
                .with_context(|| format!("failed to archive the data of query {path:?}"))?;
            Body::Archive(Aligned::Copied(bytes))
        } else {
            Body::Json(json)
        };
        out.push((path, body));
    }
    Ok(Data::from_bodies(out))
}

/// Builds the input of one evaluation and runs a rule natively.
pub struct Harness<R> {
    config: Option<Value>,
    state: Option<Value>,
    data: Vec<(String, String)>,
    window: Window,
    edda: HashMap<String, Result<String, EddaError>>,
    net: crate::net::Canned,
    chef: crate::chef::Canned,
    s3: crate::s3::Canned,
    denied: Vec<Capability>,
    rule: PhantomData<R>,
}

impl<R: Rule> Default for Harness<R> {
    fn default() -> Self {
        Harness {
            config: None,
            state: None,
            data: Vec::new(),
            window: Window::default(),
            edda: HashMap::new(),
            net: Default::default(),
            chef: Default::default(),
            s3: Default::default(),
            denied: Vec::new(),
            rule: PhantomData,
        }
    }
}

impl<R: Rule> Harness<R> {
    /// A harness with the rule's default config, no state and an empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rule's config section (merged over its defaults, as the host does).
    pub fn config(mut self, section: Value) -> Self {
        self.config = Some(section);
        self
    }

    /// The state from a previous run.
    pub fn state(mut self, state: Value) -> Self {
        self.state = Some(state);
        self
    }

    /// The body of a declared query.
    pub fn data(mut self, path: &str, body: impl Into<String>) -> Self {
        self.data.push((path.to_owned(), body.into()));
        self
    }

    /// The body of a declared query, from a JSON value.
    pub fn data_json(self, path: &str, body: Value) -> Self {
        self.data(path, body.to_string())
    }

    /// The run's window, epoch ms.
    pub fn window(mut self, since_ms: u64, until_ms: u64) -> Self {
        self.window = Window { since_ms, until_ms };
        self
    }

    /// A canned answer for a data-dependent query made through [`crate::host::edda_query`]
    /// or, as one item of a batch, [`crate::host::edda_query_many`].
    pub fn edda(mut self, path: &str, response: Result<String, EddaError>) -> Self {
        self.edda.insert(path.to_owned(), response);
        self
    }

    /// A canned answer for [`crate::net::http_get`] of `url` (whether or not redirects are
    /// followed); a response without a `final_url` gets `url`.
    pub fn http(mut self, url: &str, response: Result<HttpResponse, NetError>) -> Self {
        self.net.http.insert(url.to_owned(), response);
        self
    }

    /// A canned answer for [`crate::net::tcp_probe`] of `host:port`.
    pub fn probe(mut self, host: &str, port: u16, open: Result<bool, NetError>) -> Self {
        self.net.probes.insert((host.to_owned(), port), open);
        self
    }

    /// A canned answer for [`crate::chef::chef_search_nodes`] with `query`: the JSON rows.
    pub fn chef(mut self, query: &str, rows: Result<Value, NetError>) -> Self {
        let rows = rows.map(|rows| rows.to_string());
        self.chef.searches.insert(query.to_owned(), rows);
        self
    }

    /// A canned answer for [`crate::s3::s3_list_buckets`].
    pub fn s3_list_buckets(mut self, buckets: Result<Vec<String>, NetError>) -> Self {
        self.s3.buckets = Some(buckets);
        self
    }

    /// A canned answer for [`crate::s3::s3_bucket_location`].
    pub fn s3_bucket_location(mut self, bucket: &str, region: Result<String, NetError>) -> Self {
        self.s3.locations.insert(bucket.to_owned(), region);
        self
    }

    /// A canned answer for [`crate::s3::s3_list_objects`] of `prefix` (any delimiter).
    pub fn s3_list_objects(
        mut self,
        bucket: &str,
        prefix: &str,
        listing: Result<ObjectListing, NetError>,
    ) -> Self {
        let key = (bucket.to_owned(), prefix.to_owned());
        self.s3.listings.insert(key, listing);
        self
    }

    /// A canned answer for [`crate::s3::s3_bucket_acl`]: the grants as the host's JSON.
    pub fn s3_bucket_acl(mut self, bucket: &str, grants: Result<Value, NetError>) -> Self {
        let grants = grants.map(|g| g.to_string());
        self.s3.bucket_acls.insert(bucket.to_owned(), grants);
        self
    }

    /// A canned answer for [`crate::s3::s3_object_acl`]: the grants as the host's JSON.
    pub fn s3_object_acl(
        mut self,
        bucket: &str,
        key: &str,
        grants: Result<Value, NetError>,
    ) -> Self {
        let grants = grants.map(|g| g.to_string());
        let key = (bucket.to_owned(), key.to_owned());
        self.s3.object_acls.insert(key, grants);
        self
    }

    /// Every call of this capability answers [`NetError::Denied`], as when the operator has
    /// not granted it. Capabilities the rule does not declare are always denied.
    pub fn deny(mut self, capability: Capability) -> Self {
        self.denied.push(capability);
        self
    }

    /// Runs the rule once. Fails, as the host would, when a declared query has no data.
    pub fn run(mut self) -> Result<Output> {
        let info = R::info();
        for q in &info.queries {
            if !self.data.iter().any(|(p, _)| *p == q.path) {
                bail!(
                    "no data for declared query {:?}: add it with Harness::data",
                    q.path
                );
            }
        }
        let data = bodies(&info.queries, self.data)?;
        let input = Input {
            config: merge_config(&info.default_config, self.config.as_ref()),
            state: self.state,
            data,
            window: self.window,
            rule: info.name.clone(),
        };
        let granted = |c: Capability| info.capabilities.contains(&c) && !self.denied.contains(&c);
        self.net.http_denied = !granted(Capability::Http);
        self.net.probe_denied = !granted(Capability::TcpProbe);
        self.chef.denied = !granted(Capability::Chef);
        self.s3.denied = !granted(Capability::S3);
        crate::host::install_canned_edda(self.edda);
        crate::net::install(self.net);
        crate::chef::install(self.chef);
        crate::s3::install(self.s3);
        let result = R::evaluate(input);
        crate::host::install_canned_edda(HashMap::new());
        crate::net::install(Default::default());
        crate::chef::install(Default::default());
        crate::s3::install(Default::default());
        result
    }
}

/// Runs a rule natively in one call: config section, previous state, query bodies, window.
pub fn run<R: Rule>(
    config: Value,
    state: Option<Value>,
    data: &[(&str, &str)],
    window: Window,
) -> Result<Output> {
    let mut harness = Harness::<R>::new()
        .config(config)
        .window(window.since_ms, window.until_ms);
    if let Some(state) = state {
        harness = harness.state(state);
    }
    for (path, body) in data {
        harness = harness.data(path, *body);
    }
    harness.run()
}

/// Runs `f` and returns what it logged through [`crate::host::log`], in order, instead of
/// printing it: for tests of a rule's warnings.
#[cfg(not(target_family = "wasm"))]
pub fn capture_logs(f: impl FnOnce()) -> Vec<(crate::host::Level, String)> {
    crate::host::capture_logs(f)
}
