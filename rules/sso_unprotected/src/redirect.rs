//! Whether a redirect keeps a site protected: to the SSO or godauth login page for that very
//! host, or to `https://` of the same host.
//!
//! The login settings are regexes, as in the original (`re.compile(..., re.IGNORECASE)`, then
//! `re.match` on the Location): matched case-insensitively at the start of the Location, and
//! the redirect counts when the regex's first group is the tested host. A setting without a
//! group is the original's earlier form, a login prefix to which the tested URL is appended:
//! the URL must follow the match directly, then end or go on with `/`, `?`, `#` or `&`. Such a
//! prefix is also read literally, because the `?` of a plain `…/auth/?redirect_uri=` is a regex
//! quantifier; read so, a location that the prefix plus URL starts with also counts, so a login
//! redirect that S3 or a proxy cut short is still a login.

use regex::{Regex, RegexBuilder};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};

/// `%XX` sequences decoded (as Python's `urllib.unquote`), invalid UTF-8 replaced.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A login setting, `sso_url` or `godauth_url`.
#[derive(Debug)]
pub struct Login {
    /// The setting as written, also read as a literal URL prefix.
    text: String,
    /// The setting anchored at the start of the Location, as `re.match` is.
    start: Regex,
    /// The setting matching a whole text: the part of the Location before the tested URL.
    whole: Regex,
}

impl Login {
    /// The setting compiled; `None` when it is empty (that login is not in use), the regex
    /// error's reason when it is not a valid regex.
    pub fn new(pattern: &str) -> Result<Option<Login>, String> {
        if pattern.is_empty() {
            return Ok(None);
        }
        let build = |anchored: String| {
            RegexBuilder::new(&anchored)
                .case_insensitive(true)
                .build()
                .map_err(|err| {
                    let reason = err.to_string();
                    let reason = reason.lines().last().unwrap_or_default();
                    reason.trim_start_matches("error: ").to_owned()
                })
        };
        // Checked alone first, so that the reason is about the operator's pattern.
        build(pattern.to_owned())?;
        Ok(Some(Login {
            text: pattern.to_owned(),
            start: build(format!("^(?:{pattern})"))?,
            whole: build(format!("^(?:{pattern})$"))?,
        }))
    }

    /// Whether `location` is this login for `url` (`scheme://host`).
    pub fn accepts(&self, url: &str, location: &str) -> bool {
        if self.start.captures_len() > 1 {
            let host = url.split_once("://").map_or(url, |(_, host)| host);
            return self
                .start
                .captures(location)
                .and_then(|groups| groups.get(1))
                .is_some_and(|group| group.as_str().eq_ignore_ascii_case(host));
        }
        let literal = format!("{}{url}", self.text);
        if literal.starts_with(location)
            || url_follows(location, &literal, |before| before.is_empty())
        {
            return true;
        }
        url_follows(location, url, |before| self.whole.is_match(before))
    }
}

/// Whether `url` occurs in `location` (ASCII case aside), ending it or followed by `/`, `?`,
/// `#` or `&` (so `https://a.example.com.evil.net` is not `https://a.example.com`), with
/// `before` true of the text in front of it.
fn url_follows(location: &str, url: &str, before: impl Fn(&str) -> bool) -> bool {
    // ASCII lowercasing keeps byte offsets, so they index `location` too.
    let (haystack, needle) = (location.to_ascii_lowercase(), url.to_ascii_lowercase());
    haystack.match_indices(&needle).any(|(at, _)| {
        let end = at + needle.len();
        let bounded = matches!(
            haystack.as_bytes().get(end),
            None | Some(b'/' | b'?' | b'#' | b'&')
        );
        bounded && before(&location[..at])
    })
}

/// `location` made absolute against `url` (`scheme://host`, no path): `/login` and `login`
/// stay on the host, `//host/x` takes the URL's scheme.
pub fn absolute(url: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let scheme = url.split("://").next().unwrap_or("http");
    if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{url}{location}")
    } else {
        format!("{url}/{location}")
    }
}

/// A login setting as the config holds it: empty (or `null`) when that login is not in use,
/// read from and written as the operator's text.
#[derive(Debug, Default)]
pub struct LoginSetting(pub Option<Login>);

impl Serialize for LoginSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_ref().map_or("", |login| &login.text))
    }
}

impl<'de> Deserialize<'de> for LoginSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        Login::new(&text)
            .map(LoginSetting)
            .map_err(|reason| D::Error::custom(format!("{text:?} is not a valid regex ({reason})")))
    }
}

/// Whether `location` is `https://` of the host of `url`, on any path. Unlike the original's
/// prefix test, `https://app.example.com.evil.net` is another host.
pub fn is_same_host_https(url: &str, location: &str) -> bool {
    let host = url.split_once("://").map_or(url, |(_, host)| host);
    let target = absolute(url, location);
    let Some(rest) = target.strip_prefix("https://") else {
        return false;
    };
    let end = rest.find(['/', '?', '#', ':']).unwrap_or(rest.len());
    rest[..end].eq_ignore_ascii_case(host)
}

/// Whether a redirect from `url` to `location` keeps it protected. No location (a page served
/// directly) never does.
pub fn is_protected(url: &str, location: &str, logins: &[&Login]) -> bool {
    !location.is_empty()
        && (logins.iter().any(|login| login.accepts(url, location))
            || is_same_host_https(url, location))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSO: &str = "https://sso.example.net/auth/?redirect_uri=";
    const GOD: &str = "https://example.com/api/v2/auth/godauth/?ref=";

    #[test]
    fn percent_sequences_are_decoded() {
        assert_eq!(
            percent_decode("https://sso/?r=https%3A%2F%2Fa.example.com%2Fx%zz%"),
            "https://sso/?r=https://a.example.com/x%zz%"
        );
        assert_eq!(percent_decode("%C3%A9"), "é");
    }

    fn login(pattern: &str) -> Login {
        Login::new(pattern).expect("valid").expect("not empty")
    }

    #[test]
    fn login_prefixes_for_this_url_are_protected() {
        let url = "http://app.example.com";
        let (sso, god) = (login(SSO), login(GOD));
        let logins = [&sso, &god];
        assert!(is_protected(url, &format!("{SSO}{url}"), &logins));
        assert!(is_protected(
            url,
            &format!("{SSO}{url}/dashboard&x=1"),
            &logins
        ));
        assert!(is_protected(url, &format!("{GOD}{url}"), &logins));
        assert!(
            is_protected(url, SSO, &logins),
            "a login cut short still counts"
        );
        assert!(!is_protected(
            url,
            &format!("{SSO}http://other.example.com"),
            &logins
        ));
        assert!(!is_protected(url, &format!("{SSO}{url}.evil.net"), &logins));
        assert!(!is_protected(url, "https://evil.example.net/", &logins));
        assert!(!is_protected(url, "", &logins), "no location, no login");
    }

    #[test]
    fn regex_logins_compare_their_first_group_with_the_host() {
        let sso = login(r"^https://sso\.example\.net/auth/\?redirect_uri=https?://([^/]+)/?");
        let accepts = |url, location| sso.accepts(url, location);
        let location = "https://SSO.example.net/auth/?redirect_uri=https://app.example.com/x";
        assert!(accepts("http://app.example.com", location));
        assert!(accepts("https://APP.example.com", location));
        assert!(!accepts("http://example.com", location));
        assert!(!accepts(
            "http://app.example.com",
            "https://sso.example.net/auth/?redirect_uri=https://app.example.com.evil.net/"
        ));
        assert!(!accepts(
            "http://app.example.com",
            "https://evil.net/?https://sso.example.net/auth/?redirect_uri=https://app.example.com"
        ));
    }

    #[test]
    fn regex_logins_without_a_group_need_the_url_after_their_match() {
        let sso = login(r"^https://sso\.example\.net/(?:auth|login)/\?(?:next|redirect_uri)=");
        let url = "https://app.example.com";
        assert!(sso.accepts(url, &format!("https://sso.example.net/login/?next={url}")));
        assert!(sso.accepts(
            url,
            &format!("https://sso.example.net/auth/?next={url}?x=1")
        ));
        assert!(!sso.accepts(url, &format!("https://sso.example.net/auth/?next=/{url}")));
        assert!(!sso.accepts(url, "https://sso.example.net/auth/?next="));
    }

    #[test]
    fn empty_logins_are_not_in_use_and_bad_ones_are_reported() {
        assert!(Login::new("").expect("valid").is_none());
        assert_eq!(
            Login::new("https://sso/(").err().as_deref(),
            Some("unclosed group")
        );
    }

    #[test]
    fn https_on_the_same_host_is_protected() {
        let url = "http://app.example.com";
        assert!(is_same_host_https(url, "https://app.example.com"));
        assert!(is_same_host_https(
            url,
            "https://APP.example.com/login?next=/"
        ));
        assert!(is_same_host_https(url, "https://app.example.com:443/"));
        assert!(!is_same_host_https(url, "http://app.example.com/"));
        assert!(!is_same_host_https(
            url,
            "https://app.example.com.evil.net/"
        ));
        assert!(!is_same_host_https(url, "https://www.example.com/"));
    }

    #[test]
    fn relative_locations_stay_on_the_host() {
        assert!(is_same_host_https("https://app.example.com", "/login"));
        assert!(is_same_host_https("https://app.example.com", "login"));
        assert!(!is_same_host_https("http://app.example.com", "/login"));
        assert!(is_same_host_https(
            "https://app.example.com",
            "//app.example.com/x"
        ));
        assert_eq!(absolute("http://a", "//b/x"), "http://b/x");
    }
}
