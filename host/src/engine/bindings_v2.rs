//! wasmtime's bindings for interface 0.2.0 (`wit/rules.wit`), which changes only the `guest`
//! export: its imports are 0.1.1's, taken from [`super::bindings`], so one linker serves rules of
//! both versions. The conversions from its `info` and to its `rule-input` live here; what
//! `evaluate` returns has the same shape as in 0.1.x and is checked by
//! [`super::bindings::output_from_wit`].

use wasmtime::component::{ComponentType, Lower};

use crate::contract::{Body, Declared, Form, RuleInfo, RuleInput};

use super::bindings::{capability_from_wit, query_from_wit};

wasmtime::component::bindgen!({
    world: "reddalert:rules/rule@0.2.0",
    path: ["../wit/deps/reddalert-rules-0.1.1", "../wit/rules.wit"],
    with: {
        "reddalert:rules/types@0.1.1": super::bindings::reddalert::rules::types,
        "reddalert:rules/log@0.1.1": super::bindings::reddalert::rules::log,
        "reddalert:rules/edda@0.1.1": super::bindings::reddalert::rules::edda,
        "reddalert:rules/net@0.1.1": super::bindings::reddalert::rules::net,
        "reddalert:rules/chef@0.1.1": super::bindings::reddalert::rules::chef,
        "reddalert:rules/s3@0.1.1": super::bindings::reddalert::rules::s3,
    },
});

use self::exports::reddalert::rules0_2_0::guest as wit;

pub(super) fn info_from_wit(info: wit::RuleInfo) -> Result<RuleInfo, String> {
    let default_config = serde_json::from_str(&info.default_config)
        .map_err(|err| format!("its default config is not JSON: {err}"))?;
    Ok(RuleInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        queries: info
            .queries
            .into_iter()
            .map(|d| Declared {
                query: query_from_wit(d.query),
                form: match d.form {
                    wit::Form::Json => Form::Json,
                    wit::Form::Archive => Form::Archive,
                },
            })
            .collect(),
        capabilities: info
            .capabilities
            .into_iter()
            .map(capability_from_wit)
            .collect(),
        default_config,
    })
}

/// One declared answer as the host lowers it: the run's shared body or archive, borrowed.
#[derive(ComponentType, Lower)]
#[component(variant)]
pub(super) enum BodyRef<'a> {
    #[component(name = "json")]
    Json(&'a str),
    #[component(name = "archive")]
    Archive(&'a [u8]),
}

/// `rule-input` of 0.2.0 as the host lowers it into the guest (see
/// [`super::bindings::InputRef`]).
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct InputRef<'a> {
    config: String,
    state: Option<String>,
    data: Vec<(&'a str, BodyRef<'a>)>,
    window: super::bindings::reddalert::rules::types::Window,
}

pub(super) fn input_to_wit(input: &RuleInput) -> InputRef<'_> {
    InputRef {
        config: input.config.to_string(),
        state: input.state.as_ref().map(|s| s.to_string()),
        data: input
            .data
            .iter()
            .map(|(path, body)| {
                let body = match body {
                    Body::Json(text) => BodyRef::Json(text),
                    Body::Archive(bytes) => BodyRef::Archive(bytes),
                };
                (path.as_str(), body)
            })
            .collect(),
        window: super::bindings::reddalert::rules::types::Window {
            since_ms: input.window.since_ms,
            until_ms: input.window.until_ms,
        },
    }
}
