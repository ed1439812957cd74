//! Helpers shared by the stock rules that reach beyond EDDA, as the original shared its
//! `plugins/route53.py` between `route53unknown`, `route53changed`, `sso_unprotected` and
//! `security_headers`: the config values an operator writes as text (a regular expression
//! applied as the original's `re.match`, [`pattern::Pattern`]; a domain of the DNS rules,
//! [`dns::Domain`]); choosing the Route 53 names that point outside the account ([`dns`]);
//! and fetching both URLs of many names in one concurrent batch ([`web`]).
//!
//! With the `fixtures` feature, [`fixtures`] has EDDA-shaped documents for unit tests.

#![deny(missing_docs)]

pub mod dns;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod pattern;
#[cfg(any(test, feature = "fixtures"))]
pub mod report_fixtures;
pub mod web;
