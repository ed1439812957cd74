//! Whether a redirect keeps a site protected: to the SSO or godauth login page for that very
//! URL, or to `https://` of the same host. The login pages are compared as prefixes both ways,
//! as the original did, so a login redirect that carries extra parameters, or that S3 or a
//! proxy cut short, still counts.

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

/// Whether one of the two texts starts with the other.
pub fn one_starts_with_another(one: &str, two: &str) -> bool {
    one.starts_with(two) || two.starts_with(one)
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

/// Whether a redirect from `url` to `location` keeps it protected. An empty login prefix in
/// the config means that login is not in use (the original's empty prefix matched anything).
pub fn is_protected(url: &str, location: &str, logins: &[&str]) -> bool {
    logins
        .iter()
        .filter(|login| !login.is_empty())
        .any(|login| one_starts_with_another(&format!("{login}{url}"), location))
        || is_same_host_https(url, location)
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

    #[test]
    fn login_redirects_for_this_url_are_protected() {
        let url = "http://app.example.com";
        let logins = [SSO, GOD];
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
        assert!(!is_protected(url, "https://evil.example.net/", &logins));
    }

    #[test]
    fn empty_login_prefixes_protect_nothing() {
        let url = "http://app.example.com";
        assert!(!is_protected(
            url,
            "http://app.example.com/login",
            &["", ""]
        ));
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
