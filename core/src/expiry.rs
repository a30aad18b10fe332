//! Access that ends: when a grant's access ends (`--expires`), where its token comes from
//! (`--token-source`), and what a bound token Secret records of the token it holds. Pure: the
//! time of day is always handed in (`now`, seconds since the epoch).
//!
//! A grant with an end holds a TokenRequest token bound to its token Secret, stored in that
//! Secret (type [`BOUND_TOKEN_TYPE`], which no controller fills in). The API server refuses
//! the token after its `exp`, and at once when the Secret is deleted. The rule (a lifetime, or
//! a time of day) is recorded on the ServiceAccount; the token's own expiry, as the server
//! granted it, and its credential id (`jti`) on the Secret.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use crate::duration::{self, MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS};
use crate::invalid::Invalid;

/// On the ServiceAccount: the grant's expiry rule, as `--expires` took it ("2h", or an RFC 3339
/// time of day).
pub const EXPIRES_ANNOTATION: &str = "kscope.dev/expires";
/// On a bound token Secret: when the token it holds expires (RFC 3339), as the server granted.
pub const TOKEN_EXPIRES_ANNOTATION: &str = "kscope.dev/token-expires";
/// On a bound token Secret: when the token it holds was issued (RFC 3339).
pub const TOKEN_ISSUED_ANNOTATION: &str = "kscope.dev/token-issued";
/// On a bound token Secret: the `jti` of the token it holds, which API server audit logs carry
/// as `authentication.kubernetes.io/credential-id`.
pub const CREDENTIAL_ID_ANNOTATION: &str = "kscope.dev/credential-id";
/// The type of a token Secret that holds a bound token kscope stored (no controller touches it).
pub const BOUND_TOKEN_TYPE: &str = "kscope.dev/bound-token";
/// The field manager of the token kscope stores, apart from the grant's own (`kscope`), so that
/// applying the grant again never takes the token away.
pub const TOKEN_FIELD_MANAGER: &str = "kscope-token";
/// The lifetime of a bound token that no `--expires` asked for: a cluster that fills in no
/// token Secrets (`--token-source auto` falls back), or `--token-source bound` alone.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// How long `--token-source auto` waits for the token controller before it falls back.
pub const AUTO_WAIT: Duration = Duration::from_secs(10);

/// When a grant's access ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expires {
    /// Each token lives this long; `rotate` and `apply` renew it.
    After(Duration),
    /// Access ends at this time of day (seconds since the epoch); renewals never reach past it.
    At(i64),
}

impl Expires {
    /// `--expires 2h` or `--expires 2026-12-31T18:00:00Z`. A lifetime must be one the
    /// TokenRequest API accepts (10m and more); a time of day must be at least 10 minutes
    /// after `now`.
    pub fn parse(flag: &'static str, value: &str, now: i64) -> Result<Expires, Invalid> {
        let text = value.trim();
        if let Ok(at) = text.parse::<Timestamp>() {
            let left = at.as_second() - now;
            if left < MIN_TOKEN_SECONDS as i64 {
                return Err(Invalid::flag(
                    flag,
                    value.to_string(),
                    "is less than 10 minutes from now (the shortest token the API server issues)",
                ));
            }
            return Ok(Expires::At(at.as_second()));
        }
        let lifetime = duration::parse(text).map_err(|reason| {
            Invalid::flag(
                flag,
                value.to_string(),
                &format!("is neither a duration nor an RFC 3339 time (it {reason})"),
            )
        })?;
        match lifetime.as_secs() {
            s if s < MIN_TOKEN_SECONDS => Err(Invalid::flag(
                flag,
                value.to_string(),
                "is shorter than 10m (the shortest token the API server issues)",
            )),
            s if s > MAX_TOKEN_SECONDS => Err(Invalid::flag(
                flag,
                value.to_string(),
                "is longer than the API server issues tokens for (2^32 seconds)",
            )),
            _ => Ok(Expires::After(lifetime)),
        }
    }

    /// As recorded on the ServiceAccount and in a TenantSet: "2h", or the time of day.
    pub fn record(&self) -> String {
        match self {
            Expires::After(lifetime) => duration::flag(*lifetime),
            Expires::At(at) => rfc3339(*at),
        }
    }

    /// Reads a record back (`None`: not one kscope writes).
    pub fn of_record(text: &str) -> Option<Expires> {
        if let Ok(at) = text.parse::<Timestamp>() {
            return Some(Expires::At(at.as_second()));
        }
        duration::parse(text).ok().map(Expires::After)
    }

    /// The lifetime to ask the TokenRequest API for at `now`: the whole lifetime, or what is
    /// left until the end. `None` once less than the API's minimum is left (the grant ended).
    pub fn lifetime_at(&self, now: i64) -> Option<u64> {
        let seconds = match self {
            Expires::After(lifetime) => lifetime.as_secs(),
            Expires::At(at) => u64::try_from(at - now).ok()?,
        };
        (seconds >= MIN_TOKEN_SECONDS).then_some(seconds.min(MAX_TOKEN_SECONDS))
    }

    /// The rule a grant's ServiceAccount records (`None`: none, or not one kscope writes).
    pub fn recorded(account: &ObjectMeta) -> Option<Expires> {
        let record = account.annotations.as_ref()?.get(EXPIRES_ANNOTATION)?;
        Expires::of_record(record)
    }

    /// In words, for reports: "2h" or "at 2026-12-31T18:00:00Z".
    pub fn describe(&self) -> String {
        match self {
            Expires::After(lifetime) => format!("after {}", duration::format(lifetime.as_secs())),
            Expires::At(at) => format!("at {}", rfc3339(*at)),
        }
    }
}

/// Where a grant's token comes from (`--token-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// The token controller fills in a `kubernetes.io/service-account-token` Secret: a token
    /// that lives as long as the Secret.
    Secret,
    /// A TokenRequest token bound to the grant's Secret, which kscope stores there.
    Bound,
    /// A Secret token where the token controller fills one in (within [`AUTO_WAIT`]), else a
    /// bound token; always bound with `--expires`.
    #[default]
    Auto,
}

impl TokenSource {
    pub fn id(self) -> &'static str {
        match self {
            TokenSource::Secret => "secret",
            TokenSource::Bound => "bound",
            TokenSource::Auto => "auto",
        }
    }

    pub fn parse(flag: &'static str, value: &str) -> Result<TokenSource, Invalid> {
        match value.trim() {
            "secret" => Ok(TokenSource::Secret),
            "bound" => Ok(TokenSource::Bound),
            "auto" => Ok(TokenSource::Auto),
            _ => Err(Invalid::flag(
                flag,
                value.to_string(),
                "is not secret, bound or auto",
            )),
        }
    }
}

/// The kind of credential a grant's token Secret holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind")]
pub enum CredentialKind {
    /// The token controller's token of a `kubernetes.io/service-account-token` Secret: it
    /// lives as long as the Secret.
    #[serde(rename = "secret")]
    LongLived,
    /// A bound token kscope stored, ending at `expires` (as the server granted it).
    #[serde(rename = "bound", rename_all = "camelCase")]
    Bound {
        #[serde(serialize_with = "as_rfc3339")]
        expires: Option<i64>,
        #[serde(serialize_with = "as_rfc3339")]
        issued: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        credential_id: Option<String>,
    },
}

impl CredentialKind {
    /// What the token Secret says it holds.
    pub fn of(secret: &Secret) -> CredentialKind {
        if secret.type_.as_deref() != Some(BOUND_TOKEN_TYPE) {
            return CredentialKind::LongLived;
        }
        let annotation = |key: &str| {
            secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .cloned()
        };
        let time = |key: &str| {
            annotation(key)
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map(|t| t.as_second())
        };
        CredentialKind::Bound {
            expires: time(TOKEN_EXPIRES_ANNOTATION),
            issued: time(TOKEN_ISSUED_ANNOTATION),
            credential_id: annotation(CREDENTIAL_ID_ANNOTATION),
        }
    }

    /// The token's end, for a bound token whose Secret records it.
    pub fn expires(&self) -> Option<i64> {
        match self {
            CredentialKind::Bound { expires, .. } => *expires,
            CredentialKind::LongLived => None,
        }
    }

    /// Whether the token has ended at `now` (a bound token whose end is unrecorded is taken
    /// to have ended: nothing says it has not).
    pub fn expired(&self, now: i64) -> bool {
        match self {
            CredentialKind::LongLived => false,
            CredentialKind::Bound { expires, .. } => expires.is_none_or(|e| e <= now),
        }
    }

    /// In words: "long-lived Secret token", "bound token, expires 2026-... (in 1h59m)",
    /// "bound token, expired 2026-...".
    pub fn describe(&self, now: i64) -> String {
        match self {
            CredentialKind::LongLived => "long-lived Secret token (ends only when revoked)".into(),
            CredentialKind::Bound { expires: None, .. } => {
                "bound token, its expiry not recorded".into()
            }
            CredentialKind::Bound {
                expires: Some(at), ..
            } if *at <= now => format!("bound token, expired {}", rfc3339(*at)),
            CredentialKind::Bound {
                expires: Some(at), ..
            } => format!(
                "bound token, expires {} (in {})",
                rfc3339(*at),
                duration::format(u64::try_from(at - now).unwrap_or(0))
            ),
        }
    }

    /// Whether the token lives longer than `rule` allows at `now` (a grant made again with a
    /// shorter `--expires`, or an earlier end): it must be replaced, not kept. A minute of slack
    /// for the clocks of kscope's machine and the API server.
    pub fn outlives(&self, rule: &Expires, now: i64) -> bool {
        let Some(expires) = self.expires() else {
            return false;
        };
        let end = match rule {
            Expires::At(end) => *end,
            Expires::After(lifetime) => {
                now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
            }
        };
        expires > end.saturating_add(60)
    }

    /// Whether the token is due for renewal at `now`: inside `renew_before` of its end, or, by
    /// default, inside a third of its whole life (from its issue to its end) of it. An ended
    /// token, or one whose times are unrecorded, is due.
    pub fn renewal_due(&self, renew_before: Option<Duration>, now: i64) -> bool {
        match self {
            CredentialKind::LongLived => false,
            CredentialKind::Bound {
                expires: Some(expires),
                issued,
                ..
            } => {
                let lifetime = issued.map_or(0, |i| expires - i).max(0);
                let window = renew_before.map_or(lifetime / 3, |d| {
                    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
                });
                expires - now <= window
            }
            CredentialKind::Bound { expires: None, .. } => true,
        }
    }
}

/// The annotations a bound token Secret carries for the token it holds.
pub fn token_annotations(
    expires: i64,
    issued: i64,
    credential_id: Option<&str>,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([
        (TOKEN_EXPIRES_ANNOTATION.to_string(), rfc3339(expires)),
        (TOKEN_ISSUED_ANNOTATION.to_string(), rfc3339(issued)),
    ]);
    if let Some(id) = credential_id {
        annotations.insert(CREDENTIAL_ID_ANNOTATION.to_string(), id.to_string());
    }
    annotations
}

/// Serializes seconds since the epoch as RFC 3339 (`null` when there are none).
pub fn as_rfc3339<S: serde::Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match value.and_then(|v| Timestamp::from_second(v).ok()) {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

/// Seconds since the epoch as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(seconds: i64) -> String {
    Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;

    #[test]
    fn expires_takes_a_lifetime_or_a_time_of_day_and_refuses_what_the_api_cannot_issue() {
        assert_eq!(
            Expires::parse("--expires", "2h", NOW).unwrap(),
            Expires::After(Duration::from_secs(7200))
        );
        let at = rfc3339(NOW + 3600);
        assert_eq!(
            Expires::parse("--expires", &at, NOW).unwrap(),
            Expires::At(NOW + 3600)
        );
        for (bad, why) in [
            ("5m", "shorter than 10m"),
            ("soon", "neither a duration nor an RFC 3339 time"),
            ("200000d", "longer than"),
        ] {
            let err = Expires::parse("--expires", bad, NOW)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let close = rfc3339(NOW + 60);
        let err = Expires::parse("--expires", &close, NOW)
            .unwrap_err()
            .to_string();
        assert!(err.contains("less than 10 minutes from now"), "{err}");
        let past = rfc3339(NOW - 60);
        assert!(Expires::parse("--expires", &past, NOW).is_err());
    }

    #[test]
    fn a_record_reads_back_as_written() {
        for rule in [Expires::After(Duration::from_secs(5400)), Expires::At(NOW)] {
            assert_eq!(Expires::of_record(&rule.record()), Some(rule));
        }
        assert_eq!(Expires::After(Duration::from_secs(5400)).record(), "1h30m");
        assert_eq!(Expires::of_record("whenever"), None);
        let meta = ObjectMeta {
            annotations: Some(BTreeMap::from([(
                EXPIRES_ANNOTATION.to_string(),
                "30d".to_string(),
            )])),
            ..Default::default()
        };
        assert_eq!(
            Expires::recorded(&meta),
            Some(Expires::After(Duration::from_secs(30 * 86_400)))
        );
        assert_eq!(Expires::recorded(&ObjectMeta::default()), None);
    }

    #[test]
    fn a_renewal_never_reaches_past_a_time_of_day() {
        let rule = Expires::At(NOW + 7200);
        assert_eq!(rule.lifetime_at(NOW), Some(7200));
        assert_eq!(rule.lifetime_at(NOW + 7000), None, "less than 10m left");
        assert_eq!(rule.lifetime_at(NOW + 8000), None, "ended");
        let each = Expires::After(Duration::from_secs(3600));
        assert_eq!(each.lifetime_at(NOW + 1_000_000), Some(3600));
    }

    #[test]
    fn renewal_is_due_inside_the_window() {
        let bound = |expires: i64, issued: i64| CredentialKind::Bound {
            expires: Some(expires),
            issued: Some(issued),
            credential_id: None,
        };
        // A third of a 3h life by default: due from 1h before the end.
        let token = bound(NOW + 3601, NOW + 3601 - 3 * 3600);
        assert!(!token.renewal_due(None, NOW));
        assert!(token.renewal_due(None, NOW + 1));
        assert!(token.renewal_due(None, NOW + 4000), "ended");
        let window = Some(Duration::from_secs(600));
        assert!(!token.renewal_due(window, NOW + 3000));
        assert!(token.renewal_due(window, NOW + 3001));
        assert!(!CredentialKind::LongLived.renewal_due(None, NOW));
        let unrecorded = CredentialKind::Bound {
            expires: None,
            issued: None,
            credential_id: None,
        };
        assert!(unrecorded.renewal_due(None, NOW));
    }

    #[test]
    fn a_token_that_outlives_a_shorter_rule_is_replaced() {
        let month = CredentialKind::Bound {
            expires: Some(NOW + 30 * 86_400),
            issued: Some(NOW),
            credential_id: None,
        };
        let hour = Expires::After(Duration::from_secs(3600));
        assert!(month.outlives(&hour, NOW));
        assert!(month.outlives(&Expires::At(NOW + 86_400), NOW));
        assert!(!month.outlives(&Expires::After(Duration::from_secs(30 * 86_400)), NOW));
        assert!(!CredentialKind::LongLived.outlives(&hour, NOW));
    }

    #[test]
    fn the_kind_of_a_credential_is_read_from_its_secret() {
        let mut secret = Secret {
            type_: Some("kubernetes.io/service-account-token".into()),
            ..Default::default()
        };
        assert_eq!(CredentialKind::of(&secret), CredentialKind::LongLived);
        assert!(!CredentialKind::of(&secret).expired(NOW));
        secret.type_ = Some(BOUND_TOKEN_TYPE.into());
        let unrecorded = CredentialKind::of(&secret);
        assert!(
            unrecorded.expired(NOW),
            "an end nobody recorded proves nothing"
        );
        secret.metadata.annotations = Some(token_annotations(NOW + 90, NOW - 10, Some("abc")));
        let bound = CredentialKind::of(&secret);
        assert_eq!(
            bound,
            CredentialKind::Bound {
                expires: Some(NOW + 90),
                issued: Some(NOW - 10),
                credential_id: Some("abc".into())
            }
        );
        assert!(!bound.expired(NOW));
        assert!(bound.expired(NOW + 90));
        assert!(
            bound.describe(NOW).contains("(in 1m30s)"),
            "{}",
            bound.describe(NOW)
        );
        assert!(
            bound
                .describe(NOW + 91)
                .starts_with("bound token, expired ")
        );
        let json = serde_json::to_value(&bound).unwrap();
        assert_eq!(json["kind"], "bound");
        assert_eq!(json["credentialId"], "abc");
        assert_eq!(json["expires"], rfc3339(NOW + 90));
    }
}
