//! Where the AWS access module reads its settings: the process's environment variables and
//! home directory, or, in tests, a fixed map. Every variable the credential chain and the
//! endpoint rules honour is read through [`Env`], so a test can give each client its own
//! environment without touching the process's (which every test thread shares).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The environment of one client.
#[derive(Clone, Default)]
pub(crate) struct Env {
    /// `None`: the process's own.
    fixed: Option<Arc<BTreeMap<String, String>>>,
}

impl Env {
    /// The process's environment.
    pub(crate) fn process() -> Env {
        Env { fixed: None }
    }

    /// Exactly these variables and nothing else (`HOME` among them when a test wants one).
    #[allow(dead_code, reason = "for the tests, here and in the crawl")]
    pub(crate) fn fixed<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            fixed: Some(Arc::new(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// A variable's value; an empty one counts as unset, as in the AWS SDKs.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Whether a variable is set to `true` (any case), as the SDKs read their switches.
    pub(crate) fn is_true(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// The home directory, where `~/.aws/` lives.
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .or_else(|| self.var("USERPROFILE"))
            .map(PathBuf::from)
    }
}

impl std::fmt::Debug for Env {
    /// Names only: values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fixed {
            None => f.write_str("Env(process)"),
            Some(map) => f
                .debug_tuple("Env")
                .field(&map.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}
