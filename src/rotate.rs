//! The rotate operation: a new token Secret in place of the old one, its token waited for,
//! the old token proven refused (401) and the new credential proven accepted as the
//! ServiceAccount. Returns the new credential; writes and prints nothing.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};

use crate::cluster::Mode;
use crate::credential::{self, Credential, identity_of, prove_refused, secret_token};
use crate::domain::kubeconfig::Endpoint;
use crate::domain::manifest::{self, belongs_to};
use crate::error::{Error, Result};
use crate::error::{GrantError, TokenError};
use crate::plan::RotatePlan;
use crate::session::Session;

pub(crate) struct Report {
    pub(crate) credential: Credential,
    /// How long the old token took to be refused; `None` when there was none.
    pub(crate) old_refused_after: Option<Duration>,
    /// Who the API server says the new credential is.
    pub(crate) identity: String,
}

pub(crate) async fn execute(
    session: &Session,
    plan: &RotatePlan,
    endpoint: &Endpoint,
) -> Result<Report> {
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
    if old.is_some() {
        cluster.delete::<Secret>(ns, &secret_name).await?;
    }
    let (fresh, _) = cluster
        .apply(
            &manifest::token_secret(grant, manifest::set_of(&account.metadata).as_deref()),
            None,
            false,
            Mode::Apply,
        )
        .await?;
    let spinner = session.progress.start(&format!(
        "waiting for the token controller to fill in the new Secret {ns}/{secret_name}"
    ));
    let filled = cluster.wait_for_token(fresh, plan.timeout).await?;
    spinner.finish(&format!("new token ready in Secret {ns}/{secret_name}"));

    let old_refused_after = match &old_token {
        Some(token) => Some(prove_refused(session, grant, token, plan.timeout).await?),
        None => None,
    };
    let credential = credential::issue(session, grant, Some(&filled), plan.token, endpoint).await?;
    let identity = identity_of(session, &credential.kubeconfig).await?;
    if identity != grant.username() {
        return Err(Error::from(TokenError::NewRefused {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            identity,
        }));
    }
    Ok(Report {
        credential,
        old_refused_after,
        identity,
    })
}
