//! Validated domain values made from user input: names, durations and the role a grant binds.
//!
//! Everything here is pure (no client, no I/O): a value that leaves this module is valid, and
//! a value that is not becomes `Error::Usage` (exit 2) naming the argument or flag, before any
//! request is sent.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// The shortest TokenRequest the API server accepts.
pub const MIN_TOKEN_SECONDS: u64 = 600;
/// The longest TokenRequest the API server accepts (`expirationSeconds` is capped at 2^32).
pub const MAX_TOKEN_SECONDS: u64 = 1 << 32;
/// kscope records the ServiceAccount name in a label, whose values stop at 63 characters.
pub const MAX_SERVICE_ACCOUNT_LEN: usize = 63;

/// A namespace name: an RFC 1123 DNS label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespaceName(String);

/// A ServiceAccount name: an RFC 1123 DNS subdomain of at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAccountName(String);

impl NamespaceName {
    pub fn parse(value: &str) -> Result<Self> {
        dns1123_label(value)
            .map(|()| NamespaceName(value.to_string()))
            .map_err(|reason| invalid("namespace", value, &reason))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ServiceAccountName {
    pub fn parse(value: &str) -> Result<Self> {
        let checked = dns1123_subdomain(value).and_then(|()| {
            if value.len() > MAX_SERVICE_ACCOUNT_LEN {
                Err(format!(
                    "is {} characters long; kscope allows at most {MAX_SERVICE_ACCOUNT_LEN} because it records \
                     the name in the kscope.dev/grant label",
                    value.len()
                ))
            } else {
                Ok(())
            }
        });
        checked
            .map(|()| ServiceAccountName(value.to_string()))
            .map_err(|reason| invalid("serviceaccount", value, &reason))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The name of the long-lived token Secret of this grant.
    pub fn token_secret(&self) -> String {
        format!("{}-token", self.0)
    }
}

impl fmt::Display for NamespaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ServiceAccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(what: &str, value: &str, reason: &str) -> Error {
    let shown = if value.is_empty() {
        "\"\"".to_string()
    } else {
        format!("{value:?}")
    };
    Error::usage(
        format!("invalid {what} name {shown}: it {reason}"),
        "use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. team-a)",
    )
}

/// RFC 1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric. Returns why not.
pub fn dns1123_label(value: &str) -> std::result::Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 63 {
        return Err(format!(
            "is {} characters long; the limit is 63",
            value.len()
        ));
    }
    label_characters(value, false)
}

/// RFC 1123 subdomain: at most 253 characters, dot-separated labels.
pub fn dns1123_subdomain(value: &str) -> std::result::Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 253 {
        return Err(format!(
            "is {} characters long; the limit is 253",
            value.len()
        ));
    }
    label_characters(value, true)
}

fn label_characters(value: &str, dots: bool) -> std::result::Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "contains the uppercase letter '{c}'; names must be lowercase"
        ));
    }
    if let Some(c) = value.chars().find(|&c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.'))
    }) {
        return Err(format!("contains '{c}', which is not allowed"));
    }
    let pieces: Vec<&str> = if dots {
        value.split('.').collect()
    } else {
        vec![value]
    };
    for piece in pieces {
        let first = piece.chars().next();
        let last = piece.chars().last();
        match (first, last) {
            (None, _) => return Err("has an empty part between dots".into()),
            (Some(f), Some(l)) if !f.is_ascii_alphanumeric() || !l.is_ascii_alphanumeric() => {
                return Err("must start and end with a letter or digit".into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses a Go-style duration ("90m", "24h", "1h30m", "3600s") plus days ("7d").
pub fn parse_duration(value: &str) -> std::result::Result<Duration, String> {
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

/// A token lifetime that the TokenRequest API accepts.
pub fn token_duration(value: &str) -> Result<Duration> {
    let hint = "use a duration from 10m to 136y, such as --duration 24h";
    let duration = parse_duration(value).map_err(|reason| {
        Error::usage(format!("invalid --duration {value:?}: it {reason}"), hint)
    })?;
    let seconds = duration.as_secs();
    if seconds < MIN_TOKEN_SECONDS {
        return Err(Error::usage(
            format!("invalid --duration {value:?}: tokens must live at least 10 minutes"),
            hint,
        ));
    }
    if seconds > MAX_TOKEN_SECONDS {
        return Err(Error::usage(
            format!(
                "invalid --duration {value:?}: the API server accepts at most {MAX_TOKEN_SECONDS} seconds"
            ),
            hint,
        ));
    }
    Ok(duration)
}

/// A `--timeout`: any positive duration.
pub fn timeout(value: &str) -> Result<Duration> {
    match parse_duration(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(Error::usage(
            "invalid --timeout \"0s\": it must be positive",
            "e.g. --timeout 60s",
        )),
        Err(reason) => Err(Error::usage(
            format!("invalid --timeout {value:?}: it {reason}"),
            "e.g. --timeout 60s",
        )),
    }
}

/// Formats seconds the way kubectl prints durations: "1h30m0s" becomes "1h30m".
pub fn format_duration(seconds: u64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
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

/// The role a grant binds its ServiceAccount to.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleSource {
    /// A Role named like the ServiceAccount, made from this template.
    Template(crate::templates::Template),
    /// An existing ClusterRole, bound in the namespace only.
    ClusterRole(String),
}

impl RoleSource {
    /// How the grant records its access on the ServiceAccount (`kscope.dev/access`).
    pub fn access_annotation(&self) -> String {
        match self {
            RoleSource::Template(t) => format!("template/{}", t.name),
            RoleSource::ClusterRole(name) => format!("clusterrole/{name}"),
        }
    }
}

/// Validates a `--cluster-role` name (a DNS subdomain or a `system:` style path segment).
pub fn cluster_role(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && !value.contains('/')
        && !value.contains('%')
        && value != "."
        && value != ".."
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::usage(
            format!("invalid --cluster-role {value:?}: not a valid ClusterRole name"),
            "name an existing ClusterRole such as edit or view (kubectl get clusterroles)",
        ))
    }
}

/// Everything `grant` needs, validated.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub namespace: NamespaceName,
    pub service_account: ServiceAccountName,
    pub role: RoleSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_follow_dns1123_labels() {
        for good in ["a", "ask", "team-a", "a1", "1a", &"a".repeat(63)] {
            assert!(NamespaceName::parse(good).is_ok(), "{good}");
        }
        let cases = [
            ("", "is empty"),
            ("Ask", "uppercase letter 'A'"),
            ("a_b", "contains '_'"),
            ("-a", "start and end"),
            ("a-", "start and end"),
            ("a.b", "contains '.'"),
            ("a b", "contains ' '"),
        ];
        for (bad, why) in cases {
            let e = NamespaceName::parse(bad).unwrap_err();
            assert!(e.to_string().contains(why), "{bad}: {e}");
            assert_eq!(e.exit() as u8, 2);
        }
        let long = "a".repeat(64);
        assert!(
            NamespaceName::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("64 characters")
        );
    }

    #[test]
    fn service_account_names_are_subdomains_of_at_most_63() {
        assert!(ServiceAccountName::parse("ci.deployer").is_ok());
        assert!(ServiceAccountName::parse(&"a".repeat(63)).is_ok());
        assert!(
            ServiceAccountName::parse("a..b")
                .unwrap_err()
                .to_string()
                .contains("empty part")
        );
        assert!(
            ServiceAccountName::parse(&"a".repeat(64))
                .unwrap_err()
                .to_string()
                .contains("label")
        );
        assert!(
            ServiceAccountName::parse(&"a".repeat(254))
                .unwrap_err()
                .to_string()
                .contains("253")
        );
        assert_eq!(
            ServiceAccountName::parse("ask-sa").unwrap().token_secret(),
            "ask-sa-token"
        );
    }

    #[test]
    fn durations_parse_like_go_plus_days() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn token_durations_are_bounded_like_the_api() {
        assert!(token_duration("10m").is_ok());
        assert!(token_duration("24h").is_ok());
        assert!(
            token_duration("9m59s")
                .unwrap_err()
                .to_string()
                .contains("at least 10 minutes")
        );
        assert!(token_duration(&format!("{}s", MAX_TOKEN_SECONDS + 1)).is_err());
        assert!(token_duration(&format!("{MAX_TOKEN_SECONDS}s")).is_ok());
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(5400), "1h30m");
        assert_eq!(format_duration(86_400 + 1), "1d1s");
    }
}
