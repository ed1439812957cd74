//! The shared files: `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`) and
//! `~/.aws/config` (`AWS_CONFIG_FILE`), profile `AWS_PROFILE` (else `default`; `[name]` in the
//! credentials file, `[profile name]` in the config file, whose keys the credentials file's
//! override). Static keys are supported. A profile that needs what reddalert does not do (SSO,
//! `credential_process`, a role chained from another profile) is an error naming the profile,
//! the file and the key: skipping it would silently crawl as another identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Credentials;
use super::chain::Lookup;
use crate::aws::env::Env;
use crate::aws::error::AwsError;

/// Profile keys that ask for a way of getting credentials reddalert does not implement.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("credential_process", "an external credential process"),
    ("sso_session", "IAM Identity Center (SSO)"),
    ("sso_start_url", "IAM Identity Center (SSO)"),
    ("sso_account_id", "IAM Identity Center (SSO)"),
    (
        "role_arn",
        "a role assumed from the profile (set `role_arn` under [crawl] instead)",
    ),
    (
        "source_profile",
        "a role assumed from the profile (set `role_arn` under [crawl] instead)",
    ),
    (
        "credential_source",
        "a role assumed from the profile (set `role_arn` under [crawl] instead)",
    ),
    (
        "web_identity_token_file",
        "web identity from the profile (set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN instead)",
    ),
];

/// The largest shared file read.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// The named profile's static keys.
pub(super) fn load(env: &Env) -> Result<Lookup, AwsError> {
    let home = env.home();
    let path = |var: &str, name: &str| {
        env.var(var)
            .map(|p| expand_home(&p, home.as_deref()))
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
    };
    let credentials_file = path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = path("AWS_CONFIG_FILE", "config");
    let named = env.var("AWS_PROFILE");
    let profile = named.clone().unwrap_or_else(|| "default".into());
    let fail = |file: &Path, why: String| AwsError::Credentials {
        from: format!("profile {profile:?} in {}", file.display()),
        why,
    };
    // (file, its keys of the profile), config file first so the credentials file wins.
    let mut found: Vec<(PathBuf, BTreeMap<String, String>)> = Vec::new();
    for (file, credentials_style) in [(&config_file, false), (&credentials_file, true)] {
        let Some(file) = file else { continue };
        let Some(text) = read(file).map_err(|why| fail(file, why))? else {
            continue;
        };
        if let Some(keys) = section(&text, &profile, credentials_style) {
            found.push((file.clone(), keys));
        }
    }
    let files: Vec<String> = [&credentials_file, &config_file]
        .into_iter()
        .flatten()
        .map(|f| f.display().to_string())
        .collect();
    if found.is_empty() {
        let why = format!("no profile {profile:?} in {}", files.join(" or "));
        if named.is_some() {
            // A profile asked for by name and missing is a mistake to report, not skip.
            return Err(AwsError::Credentials {
                from: "AWS_PROFILE".into(),
                why,
            });
        }
        return Ok(Lookup::Absent(why));
    }
    for (file, keys) in &found {
        if let Some((key, what)) = UNSUPPORTED.iter().find(|(k, _)| keys.contains_key(*k)) {
            return Err(fail(
                file,
                format!(
                    "it sets `{key}`: {what}, which reddalert does not support; give the \
                     profile static keys, or use another source of the chain"
                ),
            ));
        }
    }
    let mut merged = BTreeMap::new();
    for (_, keys) in &found {
        merged.extend(keys.clone());
    }
    let from_file = &found.last().expect("found is not empty").0;
    let id = merged.get("aws_access_key_id");
    let secret = merged.get("aws_secret_access_key");
    match (id, secret) {
        (None, None) => Ok(Lookup::Absent(format!(
            "profile {profile:?} has no aws_access_key_id"
        ))),
        (Some(id), Some(secret)) => Ok(Lookup::Found(
            Credentials::new(id, secret, merged.get("aws_session_token").cloned(), None),
            format!("profile {profile:?} in {}", from_file.display()),
        )),
        (Some(_), None) => Err(fail(
            from_file,
            "it sets aws_access_key_id but not aws_secret_access_key".into(),
        )),
        (None, Some(_)) => Err(fail(
            from_file,
            "it sets aws_secret_access_key but not aws_access_key_id".into(),
        )),
    }
}

fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// A shared file's text; `None` when it does not exist.
fn read(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("failed to open it: {e}")),
    };
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("failed to read it: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {} MiB", MAX_FILE_BYTES >> 20));
    }
    Ok(Some(text))
}

/// The keys of profile `name` in an INI file: `[name]` in the credentials file; `[profile
/// name]` in the config file (`[default]` too). Keys are lower-cased; indented lines (a
/// sub-section's keys) and comments are skipped. Several sections of one name merge, as in
/// the SDKs.
pub(crate) fn section(
    text: &str,
    name: &str,
    credentials_style: bool,
) -> Option<BTreeMap<String, String>> {
    let mut keys: Option<BTreeMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            let header = header.split(']').next().unwrap_or_default().trim();
            let header: Vec<&str> = header.split_whitespace().collect();
            inside = match header.as_slice() {
                [only] => *only == name && (credentials_style || name == "default"),
                ["profile", profile] => !credentials_style && *profile == name,
                _ => false,
            };
            if inside {
                keys.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let (Some(keys), Some((key, value))) = (keys.as_mut(), trimmed.split_once('=')) {
            keys.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_profile_of_either_file_style() {
        let credentials = "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n\
                           aws_secret_access_key=s1\n\n[prod]\nAWS_ACCESS_KEY_ID = AKIDPROD\n\
                           ; comment\naws_secret_access_key = s2\naws_session_token = t\n";
        let prod = section(credentials, "prod", true).unwrap();
        assert_eq!(prod["aws_access_key_id"], "AKIDPROD");
        assert_eq!(prod["aws_session_token"], "t");
        assert_eq!(
            section(credentials, "default", true).unwrap()["aws_secret_access_key"],
            "s1"
        );
        assert_eq!(section(credentials, "staging", true), None);
        let config = "[default]\nregion = eu-west-1\n[profile prod]\nregion = us-east-1\n\
                      s3 =\n  max_concurrent_requests = 10\n[prod]\nignored = yes\n\
                      [sso-session corp]\nsso_start_url = https://x\n";
        let prod = section(config, "prod", false).unwrap();
        assert_eq!(prod.len(), 2, "{prod:?}");
        assert_eq!(prod["region"], "us-east-1");
        assert!(!prod.contains_key("max_concurrent_requests"));
        assert_eq!(
            section(config, "default", false).unwrap()["region"],
            "eu-west-1"
        );
        assert_eq!(section(config, "corp", false), None);
    }
}
