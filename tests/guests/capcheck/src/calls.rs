//! The calls of the capcheck rules, shared by both: each configured call becomes one alert
//! whose details are `{"ok": <answer>}` or `{"err": "denied" | "timeout" | "limit-exceeded" |
//! {"http": status} | {"transport": message}}`.

use serde_json::{Value, json};

use crate::reddalert::rules::types::{Alert, HttpResponse, NetError, RuleOutput};
use crate::reddalert::rules::{chef, net, s3};

pub fn run(config: &str) -> Result<RuleOutput, String> {
    let config: Value = serde_json::from_str(config).map_err(|e| e.to_string())?;
    let list = |key: &str| config[key].as_array().cloned().unwrap_or_default();
    let mut alerts = Vec::new();
    let mut push = |id: String, details: Value| {
        alerts.push(Alert {
            id,
            details: details.to_string(),
        })
    };

    for (i, call) in list("http").iter().enumerate() {
        let url = call["url"].as_str().unwrap_or_default();
        let follow = call["follow"].as_bool().unwrap_or(false);
        push(
            format!("http:{i}"),
            answer(net::http_get(url, follow).map(response)),
        );
    }
    let many: Vec<net::HttpRequest> = list("http_many")
        .iter()
        .map(|c| net::HttpRequest {
            url: c["url"].as_str().unwrap_or_default().to_owned(),
            follow_redirects: c["follow"].as_bool().unwrap_or(false),
        })
        .collect();
    if !many.is_empty() {
        for (i, r) in net::http_get_many(&many).into_iter().enumerate() {
            push(format!("http_many:{i}"), answer(r.map(response)));
        }
    }
    let targets = |key: &str| -> Vec<(String, u16)> {
        list(key)
            .iter()
            .map(|t| {
                let host = t[0].as_str().unwrap_or_default().to_owned();
                (host, t[1].as_u64().unwrap_or(0) as u16)
            })
            .collect()
    };
    for (i, (host, port)) in targets("probe").iter().enumerate() {
        push(
            format!("probe:{i}"),
            answer(net::tcp_probe(host, *port).map(Value::Bool)),
        );
    }
    let probes = targets("probe_many");
    if !probes.is_empty() {
        for (i, r) in net::tcp_probe_many(&probes).into_iter().enumerate() {
            push(format!("probe_many:{i}"), answer(r.map(Value::Bool)));
        }
    }
    for (i, call) in list("chef").iter().enumerate() {
        let query = call["query"].as_str().unwrap_or("*:*");
        let attributes = match &call["attributes"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        push(
            format!("chef:{i}"),
            answer(chef::search_nodes(query, &attributes).map(parsed)),
        );
    }
    for (i, call) in list("s3").iter().enumerate() {
        let bucket = call["bucket"].as_str().unwrap_or_default();
        let result = match call["op"].as_str().unwrap_or_default() {
            "list_buckets" => s3::list_buckets().map(|b| json!(b)),
            "location" => s3::bucket_location(bucket).map(Value::String),
            "list" => s3::list_objects(
                bucket,
                call["prefix"].as_str().unwrap_or_default(),
                call["delimiter"].as_str(),
            )
            .map(|l| json!({"keys": l.keys, "common_prefixes": l.common_prefixes})),
            "bucket_acl" => s3::get_bucket_acl(bucket).map(parsed),
            "object_acl" => {
                s3::get_object_acl(bucket, call["key"].as_str().unwrap_or_default()).map(parsed)
            }
            other => Err(NetError::Transport(format!(
                "capcheck: unknown s3 op {other:?}"
            ))),
        };
        push(format!("s3:{i}"), answer(result));
    }
    Ok(RuleOutput {
        alerts,
        state: None,
    })
}

fn parsed(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn response(r: HttpResponse) -> Value {
    let headers: serde_json::Map<String, Value> = r
        .headers
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), Value::String(v)))
        .collect();
    json!({
        "status": r.status,
        "headers": headers,
        "body_len": r.body.len(),
        "body": String::from_utf8_lossy(&r.body),
        "final_url": r.final_url,
    })
}

fn answer(result: Result<Value, NetError>) -> Value {
    match result {
        Ok(v) => json!({"ok": v}),
        Err(NetError::Denied) => json!({"err": "denied"}),
        Err(NetError::Timeout) => json!({"err": "timeout"}),
        Err(NetError::LimitExceeded) => json!({"err": "limit-exceeded"}),
        Err(NetError::Http(status)) => json!({"err": {"http": status}}),
        Err(NetError::Transport(m)) => json!({"err": {"transport": m}}),
    }
}
