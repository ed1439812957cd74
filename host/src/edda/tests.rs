//! The client's checks of bodies and its snapshot replays.

use super::*;

fn q(path: &str, window: bool) -> Query {
    Query {
        path: path.into(),
        window,
        updated_only: false,
    }
}

#[test]
fn dedupes_id_listings_of_windows_only() {
    let body = check_body("u", r#"["a","b","a"]"#.into(), &q("aws/iamUsers", true)).unwrap();
    assert_eq!(&*body, r#"["a","b"]"#);
    let body = check_body("u", r#"["a","a"]"#.into(), &q("aws/iamUsers", false)).unwrap();
    assert_eq!(&*body, r#"["a","a"]"#);
}

#[test]
fn classifies_bad_bodies() {
    assert!(matches!(
        check_body("u", "<html>".into(), &q("x", false)),
        Err(EddaError::NotJson { .. })
    ));
    assert!(matches!(
        check_body("u", "[{\"a\":".into(), &q("x", false)),
        Err(EddaError::Truncated { .. })
    ));
    assert!(
        check_body(
            "u",
            "--- a\n+++ b\n".into(),
            &q("aws/iamUsers/a;_diff=200", false)
        )
        .is_ok()
    );
}

fn snapshot_client(files: &[(&str, &str)]) -> (tempfile::TempDir, EddaClient) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let source = EddaSource::Snapshot(dir.path().to_owned());
    (
        dir,
        EddaClient::new(source, Duration::from_secs(1), 1 << 20),
    )
}

#[test]
fn a_selector_reads_the_whole_documents_file_and_selects_from_it() {
    let whole = r#"[{"instanceId":"i-1","imageId":"ami-1","networkInterfaces":[{"x":1}]}]"#;
    let (_dir, client) = snapshot_client(&[("view.instances;_expand.json", whole)]);
    let w = Window {
        since_ms: 0,
        until_ms: 1,
    };
    let body = client
        .fetch(&q("view/instances;_expand:(instanceId,imageId)", false), w)
        .unwrap();
    assert_eq!(&*body, r#"[{"instanceId":"i-1","imageId":"ami-1"}]"#);
    // The same file still serves the query without a selector, whole.
    let body = client
        .fetch(&q("view/instances;_expand", false), w)
        .unwrap();
    assert_eq!(&*body, whole);
    // A filter is EDDA's to answer: its file is the one saved for it, named with it; the
    // whole documents are not filtered here.
    let err = client
        .fetch(&q("view/instances;_expand:(instanceId~/i-/)", false), w)
        .unwrap_err();
    assert!(
        matches!(&err, EddaError::MissingSnapshot { path, .. }
            if path.ends_with("view.instances;_expand:(instanceId~.i-.).json")),
        "{err}"
    );
}

#[test]
fn a_file_saved_for_the_selector_itself_is_read_as_it_is() {
    let (_dir, client) = snapshot_client(&[
        ("view.instances;_expand.json", r#"[{"instanceId":"whole"}]"#),
        (
            "view.instances;_expand:(instanceId).json",
            r#"[{"instanceId":"saved"}]"#,
        ),
    ]);
    let w = Window {
        since_ms: 0,
        until_ms: 1,
    };
    let body = client
        .fetch(&q("view/instances;_expand:(instanceId)", false), w)
        .unwrap();
    assert_eq!(&*body, r#"[{"instanceId":"saved"}]"#);
}

#[test]
fn api_root_accepts_base_with_or_without_api() {
    let c =
        |b: &str| EddaClient::new(EddaSource::Http(b.into()), Duration::from_secs(1), 1).api_root();
    assert_eq!(c("http://h:8080/edda"), "http://h:8080/edda/api/v2/");
    assert_eq!(c("http://h:8080/edda/api"), "http://h:8080/edda/api/v2/");
}
