//! Converts between wit-bindgen's generated types and the SDK's own, so that
//! [`register!`](crate::register) stays a few lines and rule code never sees generated names.

use crate::Rule;
use crate::bindings::{guest as wit, types};
use crate::models::archive::aligned;
use crate::types::{Body, Capability, Data, Form, Info, Input, Output, Query, Window};

/// The rule's info; an empty `version` is the rule crate's own (`crate_version`, which
/// [`register!`](crate::register) passes from the crate it expands in).
#[doc(hidden)]
pub fn info<R: Rule>(crate_version: &str) -> wit::RuleInfo {
    let Info {
        name,
        version,
        description,
        queries,
        capabilities,
        default_config,
    } = R::info();
    wit::RuleInfo {
        name,
        version: if version.is_empty() {
            crate_version.to_owned()
        } else {
            version
        },
        description,
        queries: queries.into_iter().map(declared_to_wit).collect(),
        capabilities: capabilities.into_iter().map(capability_to_wit).collect(),
        default_config: default_config.to_string(),
    }
}

#[doc(hidden)]
pub fn evaluate<R: Rule>(input: wit::RuleInput) -> Result<wit::RuleOutput, String> {
    let input = input_from_wit(input, R::info().name).map_err(|err| format!("{err:#}"))?;
    let output = R::evaluate(input).map_err(|err| format!("{err:#}"))?;
    Ok(output_to_wit(output))
}

fn input_from_wit(input: wit::RuleInput, rule: String) -> anyhow::Result<Input> {
    use anyhow::Context as _;
    let config =
        serde_json::from_str(&input.config).context("the host passed a config that is not JSON")?;
    let state = match input.state {
        None => None,
        Some(s) => Some(
            serde_json::from_str::<serde_json::Value>(&s)
                .context("the stored state is not JSON")?,
        ),
    };
    Ok(Input {
        config,
        state,
        data: Data::from_bodies(input.data.into_iter().map(body_from_wit).collect()),
        window: Window {
            since_ms: input.window.since_ms,
            until_ms: input.window.until_ms,
        },
        rule,
    })
}

fn output_to_wit(output: Output) -> wit::RuleOutput {
    wit::RuleOutput {
        alerts: output
            .alerts
            .into_iter()
            .map(|a| types::Alert {
                id: a.id,
                details: a.details.to_string(),
            })
            .collect(),
        state: output.state.map(|s| s.to_string()),
    }
}

fn declared_to_wit(q: Query) -> wit::DeclaredQuery {
    let form = match q.form {
        Form::Json => wit::Form::Json,
        Form::Archive => wit::Form::Archive,
    };
    wit::DeclaredQuery {
        query: types::Query {
            path: q.path,
            window: q.window,
            updated_only: q.updated_only,
        },
        form,
    }
}

fn body_from_wit((path, body): (String, wit::Body)) -> (String, Body) {
    let body = match body {
        wit::Body::Json(text) => Body::Json(text),
        wit::Body::Archive(bytes) => Body::Archive(aligned(bytes)),
    };
    (path, body)
}

fn capability_to_wit(c: Capability) -> types::Capability {
    match c {
        Capability::Edda => types::Capability::Edda,
        Capability::Http => types::Capability::Http,
        Capability::TcpProbe => types::Capability::TcpProbe,
        Capability::Chef => types::Capability::Chef,
        Capability::S3 => types::Capability::S3,
    }
}
