//! The rotate operation: every earlier credential of the grant ended (the ServiceAccount is
//! made anew, which ends its TokenRequest tokens too, and so is its token Secret), the new
//! token waited for, the old ones proven refused (401) and the new credential proven accepted
//! as the ServiceAccount. Returns the new credential; writes and prints nothing.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};

use crate::cluster::WriteMode;
use crate::error::{Error, Result};
use crate::error::{GrantError, TokenError};
use crate::ops::credential::{
    self, Credential, identity_of, prove_refused, prove_refused_if_any, secret_token,
};
use crate::plan::RotatePlan;
use crate::session::Session;
use kscope_core::duration::MIN_TOKEN_SECONDS;
use kscope_core::expiry::{CredentialKind, Expires};
use kscope_core::kubeconfig::Endpoint;
use kscope_core::manifest::{self, belongs_to};

use crate::ops::bound;

pub(crate) struct Rotation {
    pub(crate) credential: Credential,
    /// How long the old token took to be refused; `None` when there was none.
    pub(crate) old_refused_after: Option<Duration>,
    /// How long a token minted just before the rotation took to be refused: every earlier
    /// token of the ServiceAccount is.
    pub(crate) every_refused_after: Duration,
    /// Who the API server says the new credential is.
    pub(crate) identity: String,
    /// What the tenant made during the grant, asked about after the rotation: a rotation
    /// renews the grant's credential, not these.
    pub(crate) tenant_made: Vec<kscope_core::leftovers::Leftover>,
}

/// With `--renew-before`: why the grant is left as it is (a long-lived token, or a bound one
/// outside the window), or `None` when it is due and the rotation goes on.
pub(crate) async fn not_due(session: &Session, plan: &RotatePlan) -> Result<Option<String>> {
    let Some(window) = plan.renew_before else {
        return Ok(None);
    };
    let grant = &plan.grant;
    let secret = session
        .cluster
        .get::<Secret>(
            grant.namespace.as_str(),
            &grant.service_account.token_secret(),
        )
        .await?;
    let kind = secret.as_ref().map(CredentialKind::of);
    let now = crate::plan::now();
    Ok(match kind {
        Some(CredentialKind::LongLived) => Some(format!(
            "the token of {}/{} is a long-lived Secret token: nothing expires, nothing was renewed",
            grant.namespace, grant.service_account
        )),
        Some(kind) if !kind.renewal_due(Some(window), now) => Some(format!(
            "the token of {}/{} is {}: not within --renew-before {}, nothing was renewed",
            grant.namespace,
            grant.service_account,
            kind.describe(now),
            kscope_core::duration::flag(window)
        )),
        // Due, ended, or without a Secret at all (the rotation says what is missing).
        _ => None,
    })
}

pub(crate) async fn execute(
    session: &Session,
    plan: &RotatePlan,
    endpoint: &Endpoint,
) -> Result<Rotation> {
    let grant = &plan.grant;
    let cluster = &session.cluster;
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let no_grant = || {
        Error::from(GrantError::NoSuchGrant {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
        })
    };
    let account = cluster
        .get::<ServiceAccount>(ns, sa)
        .await?
        .ok_or_else(no_grant)?;
    if !belongs_to(&account.metadata, grant) {
        return Err(no_grant());
    }
    let secret_name = grant.service_account.token_secret();
    let old = cluster.get::<Secret>(ns, &secret_name).await?;
    if let Some(old) = &old
        && !belongs_to(&old.metadata, grant)
    {
        return Err(Error::from(GrantError::NotManaged {
            objects: vec![format!("Secret {ns}/{secret_name}")],
        }));
    }
    let old_token = old.as_ref().and_then(secret_token);
    // A grant whose token is a bound one gets a bound one again, by the rule its
    // ServiceAccount records; one whose end has come is refused before anything changes.
    let now = crate::plan::now();
    let rule = Expires::recorded(&account.metadata).or_else(|| {
        old.as_ref()
            .filter(|o| manifest::is_bound(o))
            .map(|_| Expires::After(kscope_core::expiry::DEFAULT_LIFETIME))
    });
    if let Some(Expires::At(end)) = rule
        && rule.and_then(|r| r.lifetime_at(now)).is_none()
    {
        return Err(Error::from(TokenError::Ended {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            at: kscope_core::expiry::rfc3339(end),
        }));
    }
    // Minted before anything changes: it is what every earlier token of the ServiceAccount
    // is (self-minted ones, `--duration` ones), and it must end up refused like them.
    let canary = cluster
        .request_token(ns, sa, MIN_TOKEN_SECONDS, None)
        .await?;
    credential::present(session, grant, &canary).await?;
    // A TokenRequest token is tied to the ServiceAccount's UID, not to the Secret: only a new
    // ServiceAccount ends them all. The RoleBinding names it, so it follows; the Role and the
    // RoleBinding stay as they are.
    if old.is_some() {
        cluster.delete::<Secret>(ns, &secret_name).await?;
    }
    cluster.delete::<ServiceAccount>(ns, sa).await?;
    let (account, _) = cluster
        .apply(&renewed(&account), None, false, WriteMode::Apply)
        .await?;
    // The new Secret names the new ServiceAccount's UID: the token controller, still busy
    // with the old one's deletion, deletes the token Secrets of that name that carry no UID
    // or the old one, and would take this one too.
    let set = manifest::set_of(&account.metadata);
    let mut secret = manifest::token_secret(grant, set.as_deref(), rule.is_some());
    if let (Some(annotations), Some(uid)) = (
        secret.metadata.annotations.as_mut(),
        account.metadata.uid.clone(),
    ) {
        annotations.insert("kubernetes.io/service-account.uid".to_string(), uid);
    }
    let (fresh, _) = cluster
        .apply(&secret, None, false, WriteMode::Apply)
        .await?;
    let filled = match &rule {
        Some(rule) => {
            let minted = bound::mint(cluster, grant, &fresh, rule, now).await?;
            if let Some(line) = bound::shortened_note(grant, &minted, now) {
                crate::progress::note(&line);
            }
            minted.secret
        }
        None => {
            let spinner = session.progress.start(&format!(
                "waiting for the token controller to fill in the new Secret {ns}/{secret_name}"
            ));
            let filled = cluster.wait_for_token(fresh, plan.timeout).await?;
            spinner.finish(&format!("new token ready in Secret {ns}/{secret_name}"));
            filled
        }
    };

    let (old_refused_after, every_refused_after) = futures::try_join!(
        prove_refused_if_any(session, grant, old_token.as_ref(), plan.timeout),
        prove_refused(session, grant, &canary, plan.timeout),
    )?;
    let credential = credential::issue(
        session,
        grant,
        credential::Known::secret(Some(&filled)),
        plan.token,
        endpoint,
    )
    .await?;
    let identity = identity_of(session, &credential.kubeconfig).await?;
    if identity != grant.username() {
        return Err(Error::from(TokenError::NewRefused {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            identity,
        }));
    }
    let (role, binding) = futures::try_join!(
        cluster.get::<k8s_openapi::api::rbac::v1::Role>(ns, sa),
        cluster.get::<k8s_openapi::api::rbac::v1::RoleBinding>(ns, sa),
    )?;
    let tenant_made = crate::ops::revoke::leftovers::of_grant(
        cluster,
        grant,
        &account,
        role.as_ref(),
        binding.as_ref(),
    )
    .await?;
    Ok(Rotation {
        credential,
        old_refused_after,
        every_refused_after,
        identity,
        tenant_made,
    })
}

/// The ServiceAccount made anew with the same name, labels and annotations (a new UID):
/// kscope's record of the grant carries over, nothing the API server filled in does.
fn renewed(account: &ServiceAccount) -> ServiceAccount {
    ServiceAccount {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: account.metadata.name.clone(),
            namespace: account.metadata.namespace.clone(),
            labels: account.metadata.labels.clone(),
            annotations: account.metadata.annotations.clone(),
            ..Default::default()
        },
        ..Default::default()
    }
}
