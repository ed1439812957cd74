//! Helpers shared by the stock rules that reach beyond EDDA, as the original shared its
//! `plugins/route53.py` between `route53unknown`, `route53changed`, `sso_unprotected` and
//! `security_headers`: reading a config section with errors that name the rule, the key and
//! the value ([`config`]; a config type's regular expressions are [`pattern::Pattern`]); choosing the Route 53 names that point outside the account
//! ([`dns`]); and fetching both URLs of many names in one concurrent batch ([`web`]).
//!
//! With the `fixtures` feature, [`fixtures`] has EDDA-shaped documents for unit tests.

#![deny(missing_docs)]

pub mod config;
pub mod dns;
pub mod pattern;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(any(test, feature = "fixtures"))]
pub mod report_fixtures;
pub mod web;
