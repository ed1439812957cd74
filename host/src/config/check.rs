//! Range checks of the config's numbers. Every number a user can write has a documented
//! range (`etc/reddalert.example.toml`), and a value outside it is an error naming the key,
//! the value and the range: a value that is too large must never wrap to 0, panic on
//! conversion, or loop for ever.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::{Result, ensure};

/// The longest timeout any key takes: an hour.
pub const MAX_TIMEOUT_SECONDS: f64 = 3600.0;

/// `value` (or `default`) when it lies in `range`.
pub fn within<T: PartialOrd + Display + Copy>(
    key: &str,
    value: Option<T>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T> {
    let v = value.unwrap_or(default);
    ensure!(
        range.contains(&v),
        "invalid key `{key}`: {v} is outside its range {} to {}",
        range.start(),
        range.end()
    );
    Ok(v)
}

/// A duration in seconds (fractions allowed): more than 0, at most `max`.
pub fn seconds(key: &str, value: Option<f64>, default: f64, max: f64) -> Result<Duration> {
    let secs = value.unwrap_or(default);
    // 1e300 reads better than its 301 digits.
    let shown = if secs.abs() < 1e9 {
        secs.to_string()
    } else {
        format!("{secs:e}")
    };
    ensure!(
        secs.is_finite() && secs > 0.0 && secs <= max,
        "invalid key `{key}`: {shown} is outside its range: more than 0, at most {max} seconds"
    );
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_outside_their_range_name_key_value_and_range() {
        assert_eq!(within("retries", None, 3u32, 0..=20).unwrap(), 3);
        let err = within("retries", Some(1_000_000_000u32), 3, 0..=20)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid key `retries`: 1000000000 is outside its range 0 to 20"
        );
        for bad in [1e300, f64::INFINITY, f64::NAN, 0.0, -1.0] {
            let err = seconds("limits.timeout_seconds", Some(bad), 1.0, 60.0).unwrap_err();
            assert!(err.to_string().contains("limits.timeout_seconds"), "{err}");
        }
        assert_eq!(
            seconds("t", Some(0.5), 1.0, 60.0).unwrap(),
            Duration::from_millis(500)
        );
    }
}
