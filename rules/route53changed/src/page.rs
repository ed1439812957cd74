//! What the rule remembers of a page: a SHA-224 of a slice of its body and the "does not
//! exist" patterns its start matches, kept in the original's state shape
//! `{"hash": "<hex>", "matches": ["<pattern>", …]}` (or a bare hash string, the original's
//! older shape, still read).
//!
//! The hash covers bytes 255..512 of the body (the whole body when it has 255 bytes or fewer),
//! as the original's did: that skips the `<head>` boilerplate where timestamps and request ids
//! often live, so a page that only changes its nonce does not alert every run.

use reddalert_rule_sdk::prelude::*;
use regex::bytes::Regex;
use sha2::{Digest, Sha224};

/// Patterns of a dangling S3 bucket, an expired domain or a generic "does not exist" page,
/// searched in the first 2 KiB of the body.
pub const PATTERNS: [&str; 3] = [
    "NoSuchBucket|NoSuchKey|NoSuchVersion",
    "[Ee]xpir(ed|y|es)",
    "not exists?",
];

/// The hash of a page that could not be fetched.
pub const UNREACHABLE: &str = "-";

/// A page as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// SHA-224 hex of the hashed slice, or `-` when the fetch failed.
    pub hash: String,
    /// The [`PATTERNS`] the start of the body matched.
    #[serde(default)]
    pub matches: Vec<String>,
}

/// A state entry: the current shape, or the original's older bare hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    /// `{"hash": …, "matches": […]}`.
    Page(Page),
    /// `"<hex>"`.
    Hash(String),
}

impl Stored {
    /// The stored hash.
    pub fn hash(&self) -> &str {
        match self {
            Stored::Page(page) => &page.hash,
            Stored::Hash(hash) => hash,
        }
    }
}

/// Compiles [`PATTERNS`] once per run.
pub struct Matcher(Vec<Regex>);

impl Matcher {
    /// The compiled patterns.
    pub fn new() -> Result<Matcher> {
        let patterns = PATTERNS.iter().map(|p| Regex::new(p));
        Ok(Matcher(patterns.collect::<Result<_, _>>()?))
    }

    /// What the rule keeps of a fetched body.
    pub fn page(&self, body: &[u8]) -> Page {
        let top = if body.len() <= 255 {
            body
        } else {
            &body[255..body.len().min(512)]
        };
        let start = &body[..body.len().min(2048)];
        Page {
            hash: hex(&Sha224::digest(top)),
            matches: PATTERNS
                .iter()
                .zip(&self.0)
                .filter(|(_, re)| re.is_match(start))
                .map(|(p, _)| (*p).to_owned())
                .collect(),
        }
    }
}

/// A page that could not be fetched.
pub fn unreachable() -> Page {
    Page {
        hash: UNREACHABLE.to_owned(),
        matches: Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reddalert_rule_sdk::serde_json;

    #[test]
    fn short_pages_hash_whole_and_long_ones_their_middle_slice() {
        let m = Matcher::new().expect("patterns compile");
        assert_eq!(
            m.page(b"<html>Welcome to app</html>").hash,
            "092816feda7f43e791f51a960aad2811727e019c9c38a32c447a9698"
        );
        let mut a = vec![b'a'; 600];
        let b = a.clone();
        a[10] = b'x'; // before the slice
        a[550] = b'x'; // after it
        assert_eq!(m.page(&a).hash, m.page(&b).hash);
        a[300] = b'x';
        assert_ne!(m.page(&a).hash, m.page(&b).hash);
    }

    #[test]
    fn patterns_are_searched_in_the_first_two_kib() {
        let m = Matcher::new().expect("patterns compile");
        assert_eq!(
            m.page(b"<Code>NoSuchBucket</Code> this domain expired")
                .matches,
            vec![PATTERNS[0], PATTERNS[1]]
        );
        assert_eq!(
            m.page(b"the page does not exist").matches,
            vec![PATTERNS[2]]
        );
        let mut late = vec![b' '; 2048];
        late.extend_from_slice(b"NoSuchKey");
        assert_eq!(m.page(&late).matches, Vec::<String>::new());
    }

    #[test]
    fn both_state_shapes_are_read() {
        let page: Stored =
            serde_json::from_value(json!({"hash": "ab", "matches": []})).expect("current shape");
        let bare: Stored = serde_json::from_value(json!("ab")).expect("older shape");
        assert_eq!((page.hash(), bare.hash()), ("ab", "ab"));
    }
}
