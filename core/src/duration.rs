//! Durations as kubectl spells them: parsing "90m", "1h30m", "7d" and printing seconds back
//! compactly. Depends on nothing else in kscope.

use std::time::Duration;

/// The shortest TokenRequest the API server accepts.
pub const MIN_TOKEN_SECONDS: u64 = 600;
/// The longest TokenRequest the API server accepts (`expirationSeconds` is capped at 2^32).
pub const MAX_TOKEN_SECONDS: u64 = 1 << 32;

/// Parses a Go-style duration ("90m", "24h", "1h30m", "3600s") plus days ("7d"). The error is
/// why not, as a clause after "it".
pub fn parse(value: &str) -> Result<Duration, String> {
    let text = value.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("has the unknown unit '{c}' (use s, m, h or d)")),
        };
        let amount: u64 = digits
            .parse()
            .map_err(|_| "needs a number before each unit".to_string())?;
        total = amount
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| "is too large".to_string())?;
        digits.clear();
        saw_unit = true;
    }
    if !digits.is_empty() || !saw_unit {
        return Err("needs a unit after the number (e.g. 10m, 24h, 7d)".into());
    }
    Ok(Duration::from_secs(total))
}

/// Formats seconds the way kubectl prints durations: "1h30m0s" becomes "1h30m", whole days
/// as "d" ("7d2h").
pub fn format(seconds: u64) -> String {
    spell(seconds, true)
}

/// Formats a duration as a flag value, in hours at most, the way kubectl and Go spell it
/// ("24h", "1h30m", "168h"), so that a rendered command line reads like a typed one.
pub fn flag(duration: Duration) -> String {
    spell(duration.as_secs(), false)
}

fn spell(seconds: u64, days: bool) -> String {
    let (d, rest) = if days {
        (seconds / 86_400, seconds % 86_400)
    } else {
        (0, seconds)
    };
    let (h, rest) = (rest / 3600, rest % 3600);
    let (m, s) = (rest / 60, rest % 60);
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go_plus_days() {
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse("45s"), Ok(Duration::from_secs(45)));
        for bad in ["10", "h", "10x", "", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(5400), "1h30m");
        assert_eq!(format(86_400 + 1), "1d1s");
        assert_eq!(format(86_400), "1d");
        assert_eq!(flag(Duration::from_secs(86_400)), "24h");
        assert_eq!(flag(Duration::from_secs(5400)), "1h30m");
        assert_eq!(
            parse(&flag(Duration::from_secs(90_061))),
            Ok(Duration::from_secs(90_061))
        );
    }
}
