//! wasmtime's bindings for interface 0.1.1 (`wit/deps/reddalert-rules-0.1.1`), whose imports
//! 0.2.0 kept, and the conversions between its generated types and the host's plain
//! [`crate::contract`] types. Output, the same in both versions, is checked here: its size
//! against the limit, and its JSON.

use wasmtime::component::{ComponentType, Lower};

use crate::contract::{
    Body, Capability, Declared, Form, MAX_JSON_DEPTH, Query, RuleAlert, RuleInfo, RuleInput,
    RuleOutput, Usage, json_depth,
};

use super::RuleError;

wasmtime::component::bindgen!({
    world: "rule",
    path: "../wit/deps/reddalert-rules-0.1.1/rules.wit",
});

// `self::`: doc tests see this crate as the extern crate `reddalert` too.
use self::reddalert::rules::types as wit;

/// [`info_from_wit`] of plain parts (each query's path, windowed and updated-only), for the
/// fuzz targets.
pub(crate) fn check_info(
    [name, version, description, default_config]: [String; 4],
    queries: Vec<(String, bool, bool)>,
) -> Result<RuleInfo, String> {
    info_from_wit(wit::RuleInfo {
        name,
        version,
        description,
        queries: queries
            .into_iter()
            .map(|(path, window, updated_only)| wit::Query {
                path,
                window,
                updated_only,
            })
            .collect(),
        capabilities: Vec::new(),
        default_config,
    })
}

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
            .map(|q| Declared {
                query: query_from_wit(q),
                form: Form::Json,
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

pub(super) fn query_from_wit(q: wit::Query) -> Query {
    Query {
        path: q.path,
        window: q.window,
        updated_only: q.updated_only,
    }
}

pub(super) fn capability_from_wit(c: wit::Capability) -> Capability {
    match c {
        wit::Capability::Edda => Capability::Edda,
        wit::Capability::Http => Capability::Http,
        wit::Capability::TcpProbe => Capability::TcpProbe,
        wit::Capability::Chef => Capability::Chef,
        wit::Capability::S3 => Capability::S3,
    }
}

/// `rule-input` as the host lowers it into the guest: the declared bodies are the run's
/// shared text, borrowed (bindgen's own record would own a copy of each, per rule).
#[derive(ComponentType, Lower)]
#[component(record)]
pub(super) struct InputRef<'a> {
    config: String,
    state: Option<String>,
    data: Vec<(&'a str, &'a str)>,
    window: wit::Window,
}

/// What `evaluate` returns, as bindgen lifts it.
pub(super) type EvaluateResult = Result<wit::RuleOutput, String>;

/// The input of a 0.1.x rule, whose declared queries are all answered with JSON (its `info`
/// cannot ask otherwise); an archive among them is refused rather than lowered as text.
pub(super) fn input_to_wit(input: &RuleInput) -> Result<InputRef<'_>, String> {
    let mut data = Vec::with_capacity(input.data.len());
    for (path, body) in &input.data {
        match body {
            Body::Json(text) => data.push((path.as_str(), &**text)),
            Body::Archive(_) => {
                return Err(format!(
                    "an archive of {path:?} was prepared for a rule of interface 0.1, which reads JSON"
                ));
            }
        }
    }
    Ok(InputRef {
        config: input.config.to_string(),
        state: input.state.as_ref().map(|s| s.to_string()),
        data,
        window: wit::Window {
            since_ms: input.window.since_ms,
            until_ms: input.window.until_ms,
        },
    })
}

/// [`output_from_wit`] of plain parts, for the fuzz targets.
pub(crate) fn check_output(
    alerts: Vec<(String, String)>,
    state: Option<String>,
    limit: usize,
) -> Result<RuleOutput, RuleError> {
    let alerts = alerts
        .into_iter()
        .map(|(id, details)| wit::Alert { id, details })
        .collect();
    output_from_wit(wit::RuleOutput { alerts, state }, limit)
}

/// Checks the size first (cheap), then that every detail and the state are JSON.
pub(super) fn output_from_wit(
    output: wit::RuleOutput,
    limit: usize,
) -> Result<RuleOutput, RuleError> {
    let size = output
        .alerts
        .iter()
        .map(|a| a.id.len() + a.details.len())
        .sum::<usize>()
        + output.state.as_ref().map_or(0, String::len);
    if size > limit {
        return Err(RuleError::OutputTooLarge { size, limit });
    }
    let mut alerts = Vec::with_capacity(output.alerts.len());
    for alert in output.alerts {
        let details = serde_json::from_str(&alert.details).map_err(|err| {
            RuleError::BadOutput(format!(
                "the details of alert {:?} are not JSON: {err}",
                alert.id
            ))
        })?;
        check_depth(&details, || {
            format!("the details of alert {:?} are", alert.id)
        })?;
        alerts.push(RuleAlert {
            id: alert.id,
            details,
        });
    }
    let state = match output.state {
        None => None,
        Some(s) => Some(
            serde_json::from_str(&s)
                .map_err(|err| RuleError::BadOutput(format!("its state is not JSON: {err}")))?,
        ),
    };
    if let Some(state) = &state {
        check_depth(state, || "its state is".to_owned())?;
    }
    Ok(RuleOutput {
        alerts,
        state,
        usage: Usage::default(),
    })
}

fn check_depth(value: &serde_json::Value, what: impl FnOnce() -> String) -> Result<(), RuleError> {
    let depth = json_depth(value);
    if depth > MAX_JSON_DEPTH {
        return Err(RuleError::BadOutput(format!(
            "{} nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted",
            what()
        )));
    }
    Ok(())
}
