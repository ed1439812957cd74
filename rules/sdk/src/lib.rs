//! The guest SDK for reddalert rules.
//!
//! A rule is a type implementing [`Rule`], registered with [`register!`] and compiled with
//! `cargo build --release --target wasm32-wasip2` into a WebAssembly component that the
//! reddalert host runs in a sandbox. The host fetches the EDDA queries the rule declares and
//! hands their bodies in; [`models`] has typed serde models of the documents, which skip the
//! fields a rule does not read (six times faster than `serde_json::Value`).
//!
//! It is the same example as `docs/writing-a-rule.md`'s, kept here so that it compiles and runs:
//!
//! ```
//! use std::collections::BTreeSet;
//!
//! use reddalert_rule_sdk::prelude::*;
//!
//! struct PublicInstances;
//!
//! /// `[plugin.public-instances]`; its `Default` is the rule's default config.
//! #[derive(Default, Serialize, Deserialize)]
//! #[serde(default)]
//! struct Config {
//!     allowed: BTreeSet<String>,
//! }
//!
//! impl Settings for Config {}
//!
//! impl Rule for PublicInstances {
//!     fn info() -> Info {
//!         Info {
//!             name: "public-instances".into(),
//!             version: String::new(), // register! fills in the crate's version
//!             description: "instances with a public IP".into(),
//!             queries: vec![Query::current(INSTANCES)],
//!             capabilities: vec![],
//!             default_config: default_config::<Config>(),
//!         }
//!     }
//!
//!     fn evaluate(input: Input) -> Result<Output> {
//!         let config: Config = input.config()?;
//!         let instances: Vec<Instance> = input.data.get(INSTANCES)?;
//!         let mut out = Output::new();
//!         for i in instances.iter().filter(|i| i.public_ip_address.is_some()) {
//!             if !config.allowed.contains(&i.instance_id) {
//!                 out.alert(&i.instance_id, json!({"ip": i.public_ip_address}));
//!             }
//!         }
//!         Ok(out)
//!     }
//! }
//!
//! reddalert_rule_sdk::register!(PublicInstances);
//!
//! let out = reddalert_rule_sdk::testing::Harness::<PublicInstances>::new()
//!     .config(json!({"allowed": ["i-1"]}))
//!     .data(INSTANCES, r#"[{"instanceId": "i-1", "publicIpAddress": "192.0.2.1"},
//!                         {"instanceId": "i-2", "publicIpAddress": "192.0.2.2"}]"#)
//!     .run()
//!     .unwrap();
//! assert_eq!(out.alerts.len(), 1);
//! assert_eq!(out.alerts[0].id, "i-2");
//! assert_eq!(PublicInstances::info().default_config, json!({"allowed": []}));
//! ```
//!
//! # Test it
//!
//! Unit-test a rule natively, fixtures in and alerts and state out, in one call with
//! [`testing::Harness`] (or [`testing::run`]); WIT imports have native fallbacks, and the
//! harness answers [`host::edda_query`] and [`host::edda_query_many`] from canned responses.
//! Then run the built module the way the host will, over snapshot files:
//! `reddalert test-rule target/wasm32-wasip2/release/<rule>.wasm --data <dir>` prints its
//! alerts, its new state and the fuel, memory and time it used. `reddalert snapshot` captures
//! such a directory from a real EDDA.
//!
//! # Start one
//!
//! `reddalert new-rule <name>` scaffolds a crate (anywhere) with a rule, its unit tests, test
//! data and a README. Outside the reddalert repository the crate depends on this SDK by path;
//! the SDK carries its own copy of the contract (`wit/rules.wit`, with the frozen versions it
//! imports from in `wit/deps/`), so it builds from there.
//!
//! # Models
//!
//! [`models`] covers the collections the stock rules read: [`models::INSTANCES`]
//! ([`models::Instance`]), [`models::SECURITY_GROUPS`] ([`models::SecurityGroup`]),
//! [`models::LOAD_BALANCERS`] ([`models::LoadBalancer`]), [`models::IAM_USERS`] (user names;
//! one user's document is [`models::IamUser`]) and [`models::HOSTED_RECORDS`]
//! ([`models::HostedRecord`]). [`report`] builds the instance report the instance rules share.
//! The `_SELECTED` paths ([`models::INSTANCES_SELECTED`], [`models::SECURITY_GROUPS_SELECTED`],
//! [`models::LOAD_BALANCERS_SELECTED`]) ask EDDA for only the top-level fields a model reads:
//! the same models, a fraction of the bytes to fetch and parse.
//!
//! A query declared [`Query::archived`] (instances, security groups and Route 53 records, whole
//! or selected) is parsed by the host once per run for every rule that asks, and handed in as an
//! archive of these models that [`Data::archived`] validates and reads in place, without
//! parsing: the way to scan a large collection (interface 0.2.0, [`models::archive`]).

#![deny(missing_docs)]

extern crate self as reddalert_rule_sdk;

#[doc(hidden)]
pub mod bindings;
pub mod chef;
#[doc(hidden)]
pub mod glue;
pub mod host;
/// The typed models of the EDDA documents, and the archive form of the collections that have
/// one (the `reddalert-models` crate).
pub use reddalert_models as models;
pub mod net;
pub mod report;
pub mod s3;
mod settings;
pub mod testing;
mod types;

pub use anyhow;
pub use rkyv;
pub use serde;
pub use serde_json;
pub use settings::{Settings, default_config};
pub use types::{
    Alert, Body, Capability, Data, Form, Info, Input, Output, Query, Window, merge_config,
};

/// The one trait a rule implements.
pub trait Rule {
    /// The rule's name, version, queries, capabilities and default config.
    fn info() -> Info;

    /// One evaluation over the run's data. An error fails this rule alone; its stored state
    /// is kept as it was.
    fn evaluate(input: Input) -> anyhow::Result<Output>;
}

/// Everything a rule usually needs, in one `use`.
pub mod prelude {
    pub use crate::chef::{ChefNode, chef_search_nodes};
    pub use crate::host::{EddaError, Level, edda_query, edda_query_many, log};
    pub use crate::models::*;
    pub use crate::net::{
        HttpRequest, HttpResponse, NetError, http_get, http_get_many, tcp_probe, tcp_probe_many,
    };
    pub use crate::s3::{
        Grant, Grantee, GranteeType, ObjectListing, Permission, s3_bucket_acl, s3_bucket_location,
        s3_list_buckets, s3_list_objects, s3_object_acl,
    };
    pub use crate::{
        Alert, Capability, Data, Form, Info, Input, Output, Query, Rule, Settings, Window,
        default_config,
    };
    pub use anyhow::{Context as _, Result, anyhow, bail};
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}

/// Exports a [`Rule`] type as the component's `reddalert:rules/guest` interface.
#[macro_export]
macro_rules! register {
    ($rule:ty) => {
        #[doc(hidden)]
        pub struct __ReddalertGuest;

        impl $crate::bindings::guest::Guest for __ReddalertGuest {
            fn info() -> $crate::bindings::guest::RuleInfo {
                $crate::__glue::info::<$rule>(env!("CARGO_PKG_VERSION"))
            }

            fn evaluate(
                input: $crate::bindings::guest::RuleInput,
            ) -> ::core::result::Result<$crate::bindings::guest::RuleOutput, String>
            {
                $crate::__glue::evaluate::<$rule>(input)
            }
        }

        // Native builds (a rule's unit tests) have no component exports to link.
        #[cfg(target_family = "wasm")]
        $crate::bindings::export!(__ReddalertGuest with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub use glue as __glue;
