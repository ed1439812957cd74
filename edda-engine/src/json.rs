//! EDDA's JSON writer: object keys sorted in Java `String` order (UTF-16 code units), compact
//! output without whitespace, or Jackson's `DefaultPrettyPrinter` with the `Lf2SpacesIndenter`
//! for arrays (`"key" : value`, arrays one element per line, empty containers as `[ ]` / `{ }`).
//! Under `_pp` EDDA also renders dates as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`; fixtures are plain
//! JSON, so [`pp_dates`] converts integers under known date keys instead.

use serde_json::Value;

/// Compact JSON with sorted keys, independent of serde_json's `preserve_order` feature.
pub fn compact(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v, None);
    out
}

/// Jackson-style pretty JSON with sorted keys (no trailing newline).
pub(crate) fn pretty(v: &Value) -> String {
    let mut out = String::new();
    write(&mut out, v, Some(0));
    out
}

fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    entries
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    out.push_str(&"  ".repeat(level));
}

fn write(out: &mut String, v: &Value, level: Option<usize>) {
    match v {
        Value::Object(map) => {
            out.push('{');
            let entries = sorted_entries(map);
            if entries.is_empty() && level.is_some() {
                out.push(' ');
            }
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(l) = level {
                    newline(out, l + 1);
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push_str(if level.is_some() { " : " } else { ":" });
                write(out, val, level.map(|l| l + 1));
            }
            if let (Some(l), false) = (level, entries.is_empty()) {
                newline(out, l);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            if items.is_empty() && level.is_some() {
                out.push(' ');
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(l) = level {
                    newline(out, l + 1);
                }
                write(out, item, level.map(|l| l + 1));
            }
            if let (Some(l), false) = (level, items.is_empty()) {
                newline(out, l);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Data keys that hold `java.util.Date`s in the AWS SDK v1 beans EDDA serialises.
const DATE_KEYS: &[&str] = &[
    "attachTime",
    "createDate",
    "createTime",
    "createdTime",
    "creationDate",
    "creationTime",
    "enableDate",
    "launchTime",
    "lastUpdatedTime",
    "passwordLastUsed",
    "startTime",
    "updateDate",
];

/// Envelope keys that are Joda `DateTime`s (`_meta`).
const ENVELOPE_DATE_KEYS: &[&str] = &["ctime", "ftime", "ltime", "mtime", "stime"];

/// Convert dates to ISO strings as `_pp` does; `envelope` says `v` is a `_meta` envelope.
pub(crate) fn pp_dates(v: &Value, envelope: bool) -> Value {
    match v {
        Value::Object(map) if envelope => Value::Object(
            map.iter()
                .map(|(k, val)| {
                    let new = match (k.as_str(), val.as_i64()) {
                        ("data", _) => pp_dates(val, false),
                        (key, Some(ms)) if ENVELOPE_DATE_KEYS.contains(&key) => {
                            Value::String(iso_millis(ms))
                        }
                        _ => val.clone(),
                    };
                    (k.clone(), new)
                })
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, val)| match val.as_i64() {
                    Some(ms) if DATE_KEYS.contains(&k.as_str()) => {
                        (k.clone(), Value::String(iso_millis(ms)))
                    }
                    _ => (k.clone(), pp_dates(val, false)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| pp_dates(i, false)).collect()),
        other => other.clone(),
    }
}

/// Epoch milliseconds as `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (UTC).
pub(crate) fn iso_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_in_java_order() {
        let v = json!({"b": 1, "VPCId": 2, "DNSName": 3, "a": {"z": [], "y": {}}});
        assert_eq!(
            compact(&v),
            r#"{"DNSName":3,"VPCId":2,"a":{"y":{},"z":[]},"b":1}"#
        );
    }

    #[test]
    fn pretty_matches_jackson() {
        let v = json!({"groups": ["developers", "devops"], "userPolicies": [], "o": {}, "n": null});
        let expected = "{\n  \"groups\" : [\n    \"developers\",\n    \"devops\"\n  ],\n  \"n\" : null,\n  \"o\" : { },\n  \"userPolicies\" : [ ]\n}";
        assert_eq!(pretty(&v), expected);
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso_millis(1_514_764_800_000), "2018-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(1_371_673_183_000), "2013-06-19T20:19:43.000Z");
        assert_eq!(iso_millis(1_391_699_439_200), "2014-02-06T15:10:39.200Z");
    }
}
