use serde_json::{Value, json};

use super::{Selector, split};

fn apply(selector: &str, body: Value) -> Value {
    let out = Selector::parse(selector)
        .unwrap()
        .apply(&body.to_string())
        .unwrap();
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_selector_is_split_off_the_path() {
    assert_eq!(
        split("view/instances;_expand:(instanceId,tags:(key))"),
        ("view/instances;_expand", Some(":(instanceId,tags:(key))"))
    );
    assert_eq!(
        split("view/instances;_expand"),
        ("view/instances;_expand", None)
    );
}

#[test]
fn records_keep_the_listed_keys_that_exist_and_nothing_is_invented() {
    let body = json!([
        {"instanceId": "i-1", "imageId": "ami-1", "networkInterfaces": [{"big": 1}], "keyName": null},
        {"instanceId": "i-2", "tags": []}
    ]);
    assert_eq!(
        apply(":(instanceId, keyName,tags)", body),
        json!([{"instanceId": "i-1", "keyName": null}, {"instanceId": "i-2", "tags": []}])
    );
}

#[test]
fn values_keep_their_meaning() {
    let out = Selector::parse(":(a)")
        .unwrap()
        .apply(r#"[{"a": 1.50, "b": 2}, {"a": "\u00e9\n", "b": {"c": [1]}}, {"a": {"x": null}}]"#)
        .unwrap();
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out, json!([{"a": 1.5}, {"a": "é\n"}, {"a": {"x": null}}]));
}

#[test]
fn nested_lists_follow_edda_arrays_filter_and_a_non_object_does_not_match() {
    let body = json!([
        {"id": "a", "tags": [{"key": "k", "value": "v", "class": "Tag"}, "stray"], "state": {"name": "running", "code": 16}},
        {"id": "b", "tags": [], "state": null},
        {"id": "c", "tags": []}
    ]);
    // `b` is left out: a nested key list meeting `null` does not match, and neither does the
    // record. `c` has no `state`, so nothing fails to match.
    assert_eq!(
        apply(":(id,tags:(key,value),state:(name))", body),
        json!([
            {"id": "a", "tags": [{"key": "k", "value": "v"}], "state": {"name": "running"}},
            {"id": "c", "tags": []}
        ])
    );
}

#[test]
fn a_single_document_is_selected_too_and_id_lists_are_left_alone() {
    assert_eq!(
        apply(":(name)", json!({"name": "bob", "groups": ["a"]})),
        json!({"name": "bob"})
    );
    assert_eq!(apply(":(name)", json!(["a", "b"])), json!(["a", "b"]));
}

#[test]
fn what_only_edda_can_answer_is_an_error_naming_it() {
    for selector in [
        ":(state:(name=\"running\"))",
        ":(a~/x/)",
        ":(a::(b))",
        ":(a",
        "(a)",
        ":(a))",
    ] {
        let err = Selector::parse(selector).unwrap_err();
        assert!(!err.is_empty(), "{selector}");
    }
    let err = Selector::parse(":(a=1)").unwrap_err();
    assert!(err.contains("answered by EDDA itself"), "{err}");
}

#[test]
fn a_body_that_is_not_json_is_an_error() {
    let selector = Selector::parse(":(a)").unwrap();
    assert!(selector.apply("[{\"a\": 1}").is_err());
    assert!(selector.apply("[{\"a\": 1}] trailing").is_err());
}

#[test]
fn values_kept_whole_are_copied_as_written_and_escaped_keys_are_matched() {
    let selector = Selector::parse(":(tags,n,state:(name))").unwrap();
    let body = "[ {\"t\\u0061gs\" : [ {\"key\": \"a\\\"b\"} ],\n \"n\": 12345678901234567890,\
                \"skip\": {\"x\": [1, \"]\"]}, \"state\": {\"name\": \"up\", \"code\": 16}} ]";
    let out = selector.apply(body).unwrap();
    // The kept list is the very text of the document; the key is written as selected.
    assert!(out.contains("\"tags\":[ {\"key\": \"a\\\"b\"} ]"), "{out}");
    assert!(out.contains("\"n\":12345678901234567890"), "{out}");
    let value: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        value,
        json!([{"tags": [{"key": "a\"b"}], "n": 12345678901234567890u64, "state": {"name": "up"}}])
    );
}
