//! The plain Rust types a rule works with: what it declares ([`Info`], [`Query`]), what it
//! receives ([`Input`], [`Data`], [`Window`]) and what it returns ([`Output`], [`Alert`]).
//! They mirror `wit/rules.wit` without wit-bindgen's generated names, and own their JSON.

use anyhow::{Context as _, Result, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::models::archive::{Aligned, Archived, Collection};
use rkyv::vec::ArchivedVec;

/// One EDDA query, relative to the API root (`view/instances;_expand`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The collection path with its matrix arguments and field selector.
    pub path: String,
    /// Append the run's window (`;_since=<ms>;_until=<ms>`).
    pub window: bool,
    /// Also append `;_updated`: only revisions created inside the window.
    pub updated_only: bool,
    /// How the host hands in the answer to a declared query ([`Query::archived`]); a query
    /// made at run time ([`crate::host::edda_query`]) is always answered with JSON.
    pub form: Form,
}

/// How the host hands in the answer to a declared query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    /// EDDA's JSON body: [`Data::get`] parses it, [`Data::raw`] gives it as it came.
    #[default]
    Json,
    /// The collection in the typed [`models`](crate::models), parsed once by the host for every
    /// rule that asks and archived: [`Data::archived`] reads it in place, without parsing.
    /// Only for the collections [`Collection::of_query`] names; the host refuses to load a
    /// rule that asks it of another query.
    Archive,
}

impl Query {
    /// The current state of a collection (no window).
    pub fn current(path: impl Into<String>) -> Query {
        Query {
            path: path.into(),
            window: false,
            updated_only: false,
            form: Form::Json,
        }
    }

    /// Every revision alive at some point inside the run's window.
    pub fn windowed(path: impl Into<String>) -> Query {
        Query {
            path: path.into(),
            window: true,
            updated_only: false,
            form: Form::Json,
        }
    }

    /// Only the revisions created inside the run's window (`;_updated`).
    pub fn updated(path: impl Into<String>) -> Query {
        Query {
            path: path.into(),
            window: true,
            updated_only: true,
            form: Form::Json,
        }
    }

    /// The same query, answered as an archive of the typed models ([`Form::Archive`]).
    pub fn archived(self) -> Query {
        Query {
            form: Form::Archive,
            ..self
        }
    }
}

/// A host service a rule may call at run time; the operator grants each per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// EDDA queries that depend on data (not declared in [`Info::queries`]).
    Edda,
    /// HTTP GET.
    Http,
    /// TCP connect probes.
    TcpProbe,
    /// Chef server node search.
    Chef,
    /// S3 bucket and object ACL reads.
    S3,
}

/// What a rule tells the host about itself.
#[derive(Debug, Clone)]
pub struct Info {
    /// Unique rule name (`secgroups`), used on the command line and in `plugin.<name>`.
    pub name: String,
    /// The rule's version (semver); left empty, `register!` fills in the rule crate's.
    pub version: String,
    /// One line on what the rule alerts about.
    pub description: String,
    /// Queries the host prefetches and hands in through [`Input::data`].
    pub queries: Vec<Query>,
    /// Capabilities the rule may call.
    pub capabilities: Vec<Capability>,
    /// The config keys the rule reads, with their defaults (a JSON object).
    pub default_config: Value,
}

/// The run's time window, epoch milliseconds. `since_ms` is 0 on a first run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// Start of the window (inclusive).
    pub since_ms: u64,
    /// End of the window (inclusive).
    pub until_ms: u64,
}

/// Everything a rule gets for one evaluation.
#[derive(Debug, Clone)]
pub struct Input {
    /// The rule's config section merged over its default config.
    pub config: Value,
    /// The state the rule returned last time, if any.
    pub state: Option<Value>,
    /// The bodies of the declared queries.
    pub data: Data,
    /// The run's window.
    pub window: Window,
    /// The rule's name, for messages.
    pub(crate) rule: String,
}

impl Input {
    /// The previous state as a typed struct, or its default on a first run.
    pub fn state<T: DeserializeOwned + Default>(&self) -> Result<T> {
        match &self.state {
            None | Some(Value::Null) => Ok(T::default()),
            Some(state) => T::deserialize(state).context("failed to read the stored state"),
        }
    }
}

/// The answers to the declared queries, keyed by query path.
#[derive(Debug, Clone, Default)]
pub struct Data {
    entries: Vec<(String, Body)>,
}

/// The answer to one declared query, in the form the rule declared.
#[derive(Debug, Clone)]
pub enum Body {
    /// EDDA's JSON body.
    Json(String),
    /// An archive of the collection's typed models, aligned for reading in place.
    Archive(Aligned),
}

impl Data {
    /// Wraps (query path, JSON body) pairs.
    pub fn new(entries: Vec<(String, String)>) -> Data {
        Data {
            entries: entries
                .into_iter()
                .map(|(path, body)| (path, Body::Json(body)))
                .collect(),
        }
    }

    /// Wraps (query path, answer) pairs.
    pub fn from_bodies(entries: Vec<(String, Body)>) -> Data {
        Data { entries }
    }

    fn body(&self, path: &str) -> Result<&Body> {
        self.entries
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, body)| body)
            .ok_or_else(|| anyhow!("no data for query {path:?}: declare it in the rule's info()"))
    }

    /// The raw JSON body of a declared query.
    pub fn raw(&self, path: &str) -> Result<&str> {
        match self.body(path)? {
            Body::Json(body) => Ok(body),
            Body::Archive(_) => Err(anyhow!(
                "query {path:?} is declared as an archive: read it with Data::archived, or \
                 declare it without Query::archived to get its JSON"
            )),
        }
    }

    /// The JSON body of a declared query parsed into `T` (typed models skip unneeded fields).
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        serde_json::from_str(self.raw(path)?)
            .with_context(|| format!("failed to parse the EDDA response for {path:?}"))
    }

    /// The archived models of a query declared with [`Query::archived`], validated and read
    /// in place: `data.archived::<Instance>(INSTANCES)?` is a list of `ArchivedInstance`,
    /// whose fields read like the model's (`&str` for strings, `Option` for options).
    pub fn archived<T>(&self, path: &str) -> Result<&ArchivedVec<T::Archived>>
    where
        T: Archived,
        T::Archived: for<'a> rkyv::bytecheck::CheckBytes<
                rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>,
            >,
    {
        let Body::Archive(bytes) = self.body(path)? else {
            return Err(anyhow!(
                "query {path:?} is declared with JSON: declare it with Query::archived, or \
                 read it with Data::get"
            ));
        };
        if Collection::of_query(path) != Some(T::COLLECTION) {
            return Err(anyhow!(
                "query {path:?} is not archived as a list of {}",
                T::COLLECTION.model()
            ));
        }
        crate::models::archive::access::<T>(bytes.bytes())
            .with_context(|| format!("the host's archive for {path:?} is not valid"))
    }
}

/// One finding. The host adds the rule's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// What the alert is about (a group, an AMI, a user).
    pub id: String,
    /// Structured details (or a plain string).
    pub details: Value,
}

impl Alert {
    /// An alert with details serialised from any serde value.
    pub fn new(id: impl Into<String>, details: impl Serialize) -> Alert {
        let details = serde_json::to_value(details)
            .unwrap_or_else(|err| Value::String(format!("unserialisable details: {err}")));
        Alert {
            id: id.into(),
            details,
        }
    }
}

/// What one evaluation returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// The findings, in a stable order.
    pub alerts: Vec<Alert>,
    /// The state for the next run; `None` keeps none.
    pub state: Option<Value>,
}

impl Output {
    /// An empty output.
    pub fn new() -> Output {
        Output::default()
    }

    /// No alerts, and the state handed in kept as it was: what a rule returns when it skips
    /// its check (say, a capability it needs was not granted), so the next run starts from
    /// the same state.
    pub fn unchanged(input: &Input) -> Output {
        Output {
            alerts: Vec::new(),
            state: input.state.clone(),
        }
    }

    /// Adds one alert.
    pub fn alert(&mut self, id: impl Into<String>, details: impl Serialize) {
        self.alerts.push(Alert::new(id, details));
    }

    /// Sets the state to keep for the next run.
    pub fn with_state(mut self, state: impl Serialize) -> Result<Output> {
        self.state = Some(serde_json::to_value(state).context("failed to serialise the state")?);
        Ok(self)
    }
}

/// Top-level keys of `section` replace those of `defaults`; the result is what a rule sees.
pub fn merge_config(defaults: &Value, section: Option<&Value>) -> Value {
    let mut merged = match defaults {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    if let Some(Value::Object(section)) = section {
        merged.extend(section.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(merged)
}
