//! Bound tokens: a grant whose access ends holds a TokenRequest token bound to its token
//! Secret, which kscope requests and stores there. Minting one (for a grant, a renewal, a
//! rotation or a cluster that fills in no token Secret) and saying what the server granted.

use k8s_openapi::api::core::v1::Secret;

use crate::cluster::Cluster;
use crate::error::{Result, TokenError};
use kscope_core::expiry::{CredentialKind, Expires, rfc3339};
use kscope_core::spec::GrantRef;

/// A bound token minted and stored.
pub(crate) struct Minted {
    /// The token Secret as stored, token included.
    pub(crate) secret: Secret,
    /// When the token expires, as the API server granted it (seconds since the epoch).
    pub(crate) expires: i64,
    /// The lifetime asked for, in seconds.
    pub(crate) asked: u64,
    /// The server granted less than was asked for (its `--service-account-max-token-expiration`).
    pub(crate) shortened: bool,
}

/// Mints a token of the grant's ServiceAccount bound to `secret`, for the lifetime `rule`
/// gives at `now`, and stores it there.
pub(crate) async fn mint(
    cluster: &Cluster,
    grant: &GrantRef,
    secret: &Secret,
    rule: &Expires,
    now: i64,
) -> Result<Minted> {
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let Some(asked) = rule.lifetime_at(now) else {
        return Err(TokenError::Ended {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            at: match rule {
                Expires::At(at) => rfc3339(*at),
                Expires::After(_) => rfc3339(now),
            },
        }
        .into());
    };
    let (token, granted) = cluster.token_request(ns, sa, asked, Some(secret)).await?;
    let wanted = now + i64::try_from(asked).unwrap_or(i64::MAX);
    let expires = granted.unwrap_or(wanted);
    let secret = cluster.store_token(secret, &token, expires).await?;
    Ok(Minted {
        secret,
        expires,
        asked,
        // A minute of slack for the clocks of kscope's machine and the API server.
        shortened: expires < wanted - 60,
    })
}

/// Whether the bound token stored in `secret` still serves `rule` at `now`: there, not
/// inside its renewal window (`renew_before`, by default a third of its life), and not living
/// longer than the rule allows (a shorter `--expires`, or an earlier end).
pub(crate) fn holds(
    secret: &Secret,
    rule: &Expires,
    renew_before: Option<std::time::Duration>,
    now: i64,
) -> bool {
    let kind = CredentialKind::of(secret);
    crate::cluster::has_token(secret)
        && kscope_core::manifest::is_bound(secret)
        && !kind.outlives(rule, now)
        && !kind.renewal_due(renew_before, now)
}

/// What to say when the server granted less than was asked for.
pub(crate) fn shortened_note(grant: &GrantRef, minted: &Minted, now: i64) -> Option<String> {
    minted.shortened.then(|| {
        let granted = u64::try_from(minted.expires - now).unwrap_or(0);
        format!(
            "note: the API server shortened the token of {}/{} to {} (asked {}; its --service-account-max-token-expiration): it expires {}, and a rotation or another apply renews it",
            grant.namespace,
            grant.service_account,
            kscope_core::duration::format(granted),
            kscope_core::duration::format(minted.asked),
            rfc3339(minted.expires)
        )
    })
}
