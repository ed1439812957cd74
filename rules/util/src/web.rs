//! Fetching many URLs in one batch through the host's `http` capability, which runs them
//! concurrently (the original used a pool of 16 processes), and telling a denied capability
//! apart from a site that did not answer: the first means the operator chose not to grant the
//! check, and a rule then skips it without touching its state.
//!
//! The host also answers `denied` for one URL its host policy refuses (a name outside
//! `allow_hosts`, or resolving to a private address): only a batch denied as a whole means
//! the capability is not granted. A rule treats a single denied URL as not checked this run.

use reddalert_rule_sdk::prelude::*;

/// What one batch brought back.
#[derive(Debug)]
pub enum Fetched {
    /// Every request was denied: the `http` capability is not granted (or the host's policy
    /// refused every target); nothing was fetched.
    Denied,
    /// Each URL with its response or error, in request order.
    Done(Vec<(String, Result<HttpResponse, NetError>)>),
}

/// GETs every URL in one batch, following redirects or not.
pub fn fetch(rule: &str, urls: Vec<String>, follow_redirects: bool) -> Fetched {
    if urls.is_empty() {
        return Fetched::Done(Vec::new());
    }
    log(
        Level::Info,
        &format!("{rule}: fetching {} URLs", urls.len()),
    );
    let requests: Vec<HttpRequest> = urls
        .iter()
        .map(|url| HttpRequest::get(url.as_str(), follow_redirects))
        .collect();
    let results = http_get_many(&requests);
    let denied = |r: &Result<HttpResponse, NetError>| matches!(r, Err(NetError::Denied));
    if results.iter().all(denied) {
        log(
            Level::Warn,
            &format!(
                "{rule}: check skipped: every request was denied (the http capability is not granted to this rule, or the host policy refuses every target)"
            ),
        );
        return Fetched::Denied;
    }
    let refused = results.iter().filter(|r| denied(r)).count();
    if refused > 0 {
        log(
            Level::Warn,
            &format!(
                "{rule}: the host policy refused {refused} of {} URLs; they are not checked this run",
                results.len()
            ),
        );
    }
    Fetched::Done(urls.into_iter().zip(results).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reddalert_rule_sdk::serde_json;
    use reddalert_rule_sdk::testing::Harness;

    struct Probe;

    impl Rule for Probe {
        fn info() -> Info {
            Info {
                name: "probe".into(),
                version: "0".into(),
                description: String::new(),
                queries: vec![],
                capabilities: vec![Capability::Http],
                default_config: json!({}),
            }
        }

        fn evaluate(input: Input) -> Result<Output> {
            let urls: Vec<String> = serde_json::from_value(input.config["urls"].clone())?;
            let mut out = Output::new();
            match fetch("probe", urls, false) {
                Fetched::Denied => out.alert("denied", json!(null)),
                Fetched::Done(results) => {
                    for (url, result) in results {
                        out.alert(
                            url,
                            json!(result.map(|r| r.status).map_err(|e| e.to_string())),
                        );
                    }
                }
            }
            Ok(out)
        }
    }

    fn run(harness: Harness<Probe>, urls: Value) -> Vec<(String, Value)> {
        let out = harness.config(json!({"urls": urls})).run().expect("runs");
        out.alerts.into_iter().map(|a| (a.id, a.details)).collect()
    }

    #[test]
    fn answers_come_back_in_request_order() {
        let h = Harness::<Probe>::new()
            .http("http://b", Ok(HttpResponse::new(301)))
            .http("http://a", Err(NetError::Timeout));
        assert_eq!(
            run(h, json!(["http://b", "http://a"])),
            vec![
                ("http://b".into(), json!({"Ok": 301})),
                ("http://a".into(), json!({"Err": "timed out"})),
            ]
        );
    }

    #[test]
    fn a_denied_capability_is_reported_once() {
        let h = Harness::<Probe>::new().deny(Capability::Http);
        assert_eq!(
            run(h, json!(["http://a"])),
            vec![("denied".into(), Value::Null)]
        );
    }

    #[test]
    fn a_url_refused_by_the_host_policy_is_denied_alone() {
        let h = Harness::<Probe>::new()
            .http("http://a", Err(NetError::Denied))
            .http("http://b", Ok(HttpResponse::new(200)));
        assert_eq!(
            run(h, json!(["http://a", "http://b"])),
            vec![
                (
                    "http://a".into(),
                    json!({"Err": "the capability is not granted to this rule"})
                ),
                ("http://b".into(), json!({"Ok": 200})),
            ]
        );
    }

    #[test]
    fn nothing_to_fetch_asks_nothing() {
        let h = Harness::<Probe>::new().deny(Capability::Http);
        assert_eq!(run(h, json!([])), vec![]);
    }
}
