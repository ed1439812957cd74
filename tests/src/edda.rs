//! A faithful fake of Netflix EDDA's read API (`GET <base>/v2/<collection>[/<id>][;args][:(selector)]`),
//! for integration tests of the EDDA client: the `edda-engine` crate's answers (EDDA's regexes,
//! arguments, time windows, selectors, sorted keys, status codes and messages; see
//! `shared/reference/edda-api.md`) served over a small HTTP/1.1 server. Data comes from a
//! [`Store`] of revisions, usually loaded from a fixture directory
//! (`tests/fixtures/edda/<scenario>/<dotted.collection>.json`). [`Fault`]s let a test make the
//! server misbehave the way proxies and containers do.

mod server;
#[cfg(test)]
mod tests_http;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use edda_engine::{ROOT_COLLECTIONS, Revision, Store};
pub use server::FakeEdda;

/// Misbehaviour injected by a test for the following requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 500 with a servlet container's HTML error page.
    Status500Html,
    /// 200 `text/html` `<html>proxy error</html>`.
    NonJson,
    /// The real response's headers, with a Content-Length larger than the half body that is sent.
    Truncated,
    /// Sleep this long before answering normally.
    Hang(Duration),
    /// Answer with this status and an EDDA-shaped JSON error body.
    Status(u16),
}

/// `tests/fixtures/edda`: each sub-directory is a scenario for [`Store::from_dir`].
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/edda")
}
