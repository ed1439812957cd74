//! Matrix arguments (reference §2.1) and the flags EDDA derives from them (§2.3, `ReqDetails`):
//! `;k=v` pieces split with Java's `String.split` quirks (`k=a=b` gives `=a=b`, the last repeated
//! key wins), flags true only bare or `=1`, time arguments only as decimal epoch milliseconds.
//! Whatever EDDA would throw on (bad numbers, an empty key) comes back as `Err`, i.e. a 500.

use std::collections::BTreeMap;

use super::query::java_split;

pub(crate) type Args = BTreeMap<String, Option<String>>;

/// `Utils.parseMatrixArguments`: Java `split` quirks included, the last repeated key wins.
pub(crate) fn parse_matrix(matrix: &str) -> Result<Args, String> {
    let mut args = Args::new();
    for piece in java_split(matrix.get(1..).unwrap_or_default(), ';') {
        let kv: Vec<String> = java_split(&piece, '=').collect();
        match kv.as_slice() {
            [k, v] => args.insert(k.clone(), Some(v.clone())),
            [k] if !k.is_empty() => args.insert(k.clone(), None),
            [k, rest @ ..] if rest.len() > 1 => {
                args.insert(k.clone(), Some(format!("={}", rest.join("="))))
            }
            _ => None,
        };
    }
    if args.contains_key("") {
        return Err("java.util.NoSuchElementException: next on empty iterator".into());
    }
    Ok(args)
}

/// `ReqDetails`: the modifier flags derived from the matrix arguments.
#[derive(Debug, Clone)]
pub(crate) struct Details {
    pub id: Option<String>,
    pub args: Args,
    pub select_args: Vec<(String, Option<String>)>,
    pub at: i64,
    pub since: i64,
    pub until: i64,
    pub meta: bool,
    pub live: bool,
    pub updated: bool,
    pub pp: bool,
    pub diff: Option<Option<String>>,
    pub callback: Option<String>,
    pub single: bool,
    pub limit: usize,
    pub expand: bool,
    pub time_travelling: bool,
}

impl Details {
    pub(crate) fn new(id: Option<String>, args: Args) -> Result<Details, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let time = |k: &str| match args.get(k) {
            None => Ok(now),
            Some(None) => Err("java.lang.NullPointerException".to_string()),
            Some(Some(v)) => v
                .parse::<i64>()
                .map_err(|_| format!("For input string: \"{v}\"")),
        };
        let flag =
            |k: &str| matches!(args.get(k), Some(None)) || args.get(k) == Some(&Some("1".into()));
        let has = |k: &str| args.contains_key(k);
        let (at, since, until) = (time("_at")?, time("_since")?, time("_until")?);
        let all = flag("_all") || (id.is_some() && (has("_since") || has("_until")));
        let single = id.as_ref().is_some_and(|i| !i.contains(',')) && !all;
        let limit = match args.get("_limit") {
            _ if single => 1,
            None | Some(None) => 0,
            Some(Some(v)) => v
                .parse::<i32>()
                .map_err(|_| format!("For input string: \"{v}\""))?
                .max(0) as usize,
        };
        let meta = flag("_meta");
        let diff = args.get("_diff").cloned();
        Ok(Details {
            select_args: args
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            at,
            since,
            until,
            meta,
            live: flag("_live"),
            updated: flag("_updated"),
            pp: diff.is_some() || flag("_pp"),
            callback: args.get("_callback").cloned().flatten(),
            single,
            limit,
            expand: id.is_some() || meta || all || flag("_expand"),
            time_travelling: all || has("_at") || has("_since"),
            diff,
            id,
            args: args.clone(),
        })
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.args.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(m: &str) -> Vec<(String, Option<String>)> {
        parse_matrix(m).expect("parses").into_iter().collect()
    }

    #[test]
    fn java_split_quirks() {
        let some = |k: &str, v: &str| (k.to_string(), Some(v.to_string()));
        assert_eq!(parsed(""), []);
        assert_eq!(parsed(";;_expand;"), [("_expand".to_string(), None)]);
        assert_eq!(parsed(";k="), [("k".to_string(), None)]);
        assert_eq!(parsed(";k=a=b"), [some("k", "=a=b")]);
        assert_eq!(parsed(";k=1;k=2"), [some("k", "2")]);
        assert!(parse_matrix(";=v").is_err());
    }

    #[test]
    fn derived_flags() {
        let details = |id: Option<&str>, m: &str| {
            Details::new(id.map(str::to_string), parse_matrix(m).expect("parses"))
        };
        let d = details(None, ";_expand=true;_pp=1;_limit").expect("valid");
        assert!(!d.expand && d.pp && d.limit == 0 && !d.time_travelling);
        // An id with `_until` means `_all`, hence not single, hence `_limit` is parsed.
        let d = details(Some("x"), ";_until=5").expect("valid");
        assert!(!d.single && d.expand && d.time_travelling);
        assert!(details(Some("x"), ";_until=5;_limit=junk").is_err());
        assert!(details(Some("x"), ";_limit=junk").is_ok_and(|d| d.single && d.limit == 1));
        assert!(details(None, ";_limit=junk").is_err());
        let d = details(Some("a,b"), ";_limit=3").expect("valid");
        assert!(!d.single && d.limit == 3);
        assert!(details(None, ";_at=+17").is_ok_and(|d| d.at == 17));
        assert!(details(None, ";_since=1.5").is_err());
    }
}
