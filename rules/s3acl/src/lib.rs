//! The `s3acl` rule: S3 buckets and objects whose ACL grants something the config does not
//! allow, checked on a random sample, a port of the original reddalert's plugin.
//!
//! Through the host's `s3` capability (which holds the AWS credentials) it lists the buckets,
//! drops those matching `excluded_buckets`, and visits a sample of the rest (see [`sample`]):
//! for each, the bucket's ACL, then a walk down its `/`-delimited prefixes that visits a
//! sample of the keys and sub-prefixes at each level (fewer the deeper), skipping
//! `bucket:key`s that match `excluded_keys`. Every grant that no rule of `allowed` (plus
//! `allowed_specific[bucket]`) allows (see [`config`]) alerts, with id `bucket` or
//! `bucket:key` and details `"<grantee id, group URI or e-mail> <PERMISSION>"`. Alerts follow
//! the walk: buckets in S3's order, each bucket's own grants before its keys'. No state.
//!
//! Config (`plugin.s3acl`): `excluded_buckets`, `excluded_keys` (`[]`, regexes anchored at
//! the start), `allowed` (`[]`), `allowed_specific` (`{}`), `visit_probability` (`0.1`),
//! `visit_max` (`5`), `seed` (none: derived from the run's window; set it to reproduce a
//! run's sample, which is logged). `user` and `key`, the original's AWS credentials, are the
//! host's now: it takes them out of the section before the rule reads it.
//!
//! Without the `s3` capability the check is skipped (logged). A bucket or key whose ACL or
//! listing cannot be read is logged and skipped, as in the original (a key deleted since the
//! listing quietly); once the run's S3 budget is used up the walk stops. Differences from the
//! original: a `uid` rule never allows a group grant (the original's `"uid": "*"` also
//! allowed AllUsers and AuthenticatedUsers), groups are allowed by `gid`, and a rule may name
//! both (either grantee) or neither (every grantee); an e-mail grantee is named by its
//! address (the original said `Everyone`); a `visit_probability` above 1 no longer crashes.

pub mod config;
pub mod sample;
#[cfg(test)]
mod tests;

use reddalert_rule_sdk::prelude::*;

use crate::config::Config;
use crate::sample::Sampler;

/// The rule type registered with the host.
pub struct S3Acl;

impl Rule for S3Acl {
    fn info() -> Info {
        Info {
            name: "s3acl".into(),
            version: String::new(),
            description: "S3 buckets and sampled objects with ACL grants that are not allowed"
                .into(),
            queries: vec![],
            capabilities: vec![Capability::S3],
            default_config: default_config::<Config>(),
        }
    }

    fn evaluate(input: Input) -> Result<Output> {
        let config: Config = input.config()?;
        let seed = config.seed(input.window);
        let buckets = match s3_list_buckets() {
            Ok(buckets) => buckets,
            Err(NetError::Denied) => {
                log(
                    Level::Warn,
                    "s3acl: check skipped: the s3 capability is not granted to this rule",
                );
                return Ok(Output::new());
            }
            Err(err) => bail!("s3acl: listing the buckets failed: {err}"),
        };
        log(
            Level::Info,
            &format!("s3acl: sampling with seed {seed} (config key `seed`)"),
        );
        let buckets: Vec<String> = buckets
            .into_iter()
            .filter(|b| !config.excluded_buckets.iter().any(|re| re.is_match(b)))
            .collect();
        let mut walk = Walk {
            sampler: Sampler::new(seed, config.visit_probability, config.visit_max),
            config: &config,
            out: Output::new(),
            exhausted: false,
        };
        for bucket in walk.sampler.sample(&buckets, 0) {
            if walk.exhausted {
                break;
            }
            walk.bucket(&bucket);
        }
        Ok(walk.out)
    }
}

/// One run's walk over the sampled buckets.
struct Walk<'a> {
    sampler: Sampler,
    config: &'a Config,
    out: Output,
    /// The S3 budget is used up: no more calls.
    exhausted: bool,
}

impl Walk<'_> {
    fn bucket(&mut self, bucket: &str) {
        if let Some(grants) = self.read(bucket, s3_bucket_acl(bucket)) {
            self.check(bucket, bucket, &grants);
        }
        let keys = self.traverse(bucket, "");
        for key in keys {
            let id = format!("{bucket}:{key}");
            if self.config.excluded_keys.iter().any(|re| re.is_match(&id)) {
                continue;
            }
            if self.exhausted {
                return;
            }
            if let Some(grants) = self.read(&id, s3_object_acl(bucket, &key)) {
                self.check(&id, bucket, &grants);
            }
        }
    }

    /// A sample of the keys under `prefix`, and recursively under a sample of its prefixes.
    fn traverse(&mut self, bucket: &str, prefix: &str) -> Vec<String> {
        if self.exhausted {
            return Vec::new();
        }
        let what = format!("{bucket}:{prefix}");
        let Some(listing) = self.read(&what, s3_list_objects(bucket, prefix, Some("/"))) else {
            return Vec::new();
        };
        let depth = prefix.matches('/').count();
        let prefixes = self.sampler.sample(&listing.common_prefixes, depth);
        let mut keys = self.sampler.sample(&listing.keys, 0);
        for sub in prefixes {
            keys.extend(self.traverse(bucket, &sub));
        }
        keys
    }

    /// The answer of a call, or `None` after logging why there is none.
    fn read<T>(&mut self, what: &str, answer: Result<T, NetError>) -> Option<T> {
        match answer {
            Ok(value) => Some(value),
            Err(NetError::LimitExceeded) => {
                if !self.exhausted {
                    log(
                        Level::Warn,
                        "s3acl: the run's S3 budget is used up: the rest of the sample is skipped",
                    );
                }
                self.exhausted = true;
                None
            }
            // Deleted between the listing and the ACL read.
            Err(NetError::Http(404)) => {
                log(Level::Debug, &format!("s3acl: {what} is gone"));
                None
            }
            Err(err) => {
                log(Level::Warn, &format!("s3acl: {what} skipped: {err}"));
                None
            }
        }
    }

    fn check(&mut self, id: &str, bucket: &str, grants: &[Grant]) {
        for grant in grants.iter().filter(|g| !self.config.allows(bucket, g)) {
            let g = &grant.grantee;
            let who =
                (g.id.as_deref().or(g.uri.as_deref()).or(g.email.as_deref())).unwrap_or("Everyone");
            self.out.alert(id, format!("{who} {}", grant.permission));
        }
    }
}

reddalert_rule_sdk::register!(S3Acl);
