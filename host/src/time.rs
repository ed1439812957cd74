//! Time as the host keeps it: epoch milliseconds, as EDDA, the status file and the contract
//! count it. Now; the ISO 8601 text outputs show; and what `--since` / `--until` accept:
//! epoch seconds, epoch milliseconds, or ISO 8601 date/time (the original's `YYYY-MM-DD
//! HH:MM:SS` included; a time without an offset is UTC).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// An epoch-millisecond time as UTC ISO 8601 with a `Z`.
pub fn iso_time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(|| ms.to_string(), |t| t.to_string())
}

/// Numbers below this are epoch seconds, above it milliseconds: 10^11 seconds is the year
/// 5138, while 10^11 milliseconds is March 1973, before any EDDA data.
const SECONDS_CEILING: u64 = 100_000_000_000;

/// The latest time the host takes: the last that ISO 8601 text (and jiff) can show,
/// 9999-12-30T22:00:00.999Z. A later one could only be a mistake, and the arithmetic on a
/// window (its next start is its end plus 1 ms) must never wrap.
pub const MAX_TIME_MS: u64 = 253_402_207_200_999;

/// Parses one time argument into epoch milliseconds, at most [`MAX_TIME_MS`].
pub fn parse_time(text: &str) -> Result<u64> {
    let ms = parse_any(text)?;
    if ms > MAX_TIME_MS {
        bail!(
            "{:?} is later than {} ({MAX_TIME_MS} ms), the latest time taken",
            text.trim(),
            iso_time(MAX_TIME_MS)
        );
    }
    Ok(ms)
}

fn parse_any(text: &str) -> Result<u64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = text
            .parse()
            .map_err(|_| anyhow::anyhow!("{text:?} is too large"))?;
        return Ok(if n < SECONDS_CEILING { n * 1000 } else { n });
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return to_ms(ts, text);
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return to_ms(dt.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp(), text);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return to_ms(date.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp(), text);
    }
    bail!(
        "{text:?} is not a time: use epoch seconds (1700000000), epoch milliseconds (1700000000000) \
         or ISO 8601 (2026-11-25, 2026-11-25 10:00:00, 2026-11-25T10:00:00Z, 2026-11-25T10:00:00+01:00)"
    )
}

fn to_ms(ts: jiff::Timestamp, text: &str) -> Result<u64> {
    match u64::try_from(ts.as_millisecond()) {
        Ok(ms) => Ok(ms),
        Err(_) => bail!("{text:?} is before 1970"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn accepts_every_documented_form() {
        let ms = 1_514_764_800_000; // 2018-01-01T00:00:00Z
        for text in [
            "1514764800",
            "1514764800000",
            "2018-01-01",
            "2018-01-01 00:00:00",
            "2018-01-01T00:00:00",
            "2018-01-01T00:00:00Z",
            "2018-01-01T01:00:00+01:00",
        ] {
            assert_eq!(parse_time(text).unwrap(), ms, "{text}");
        }
    }

    #[test]
    fn rejects_times_past_the_latest_rather_than_wrap() {
        for text in [
            "18446744073709551615",
            "253402300800000",
            "99999999999999999",
        ] {
            let err = parse_time(text).unwrap_err().to_string();
            assert!(err.contains("the latest time taken"), "{text}: {err}");
        }
        assert_eq!(
            parse_time("9999-12-30T22:00:00.999Z").unwrap(),
            super::MAX_TIME_MS
        );
        assert_eq!(
            super::MAX_TIME_MS as i64,
            jiff::Timestamp::MAX.as_millisecond()
        );
    }

    #[test]
    fn rejects_garbage_with_the_accepted_forms() {
        let err = parse_time("yesterday").unwrap_err().to_string();
        assert!(
            err.contains("epoch seconds") && err.contains("ISO 8601"),
            "{err}"
        );
        assert!(parse_time("1969-12-31").is_err());
    }
}
