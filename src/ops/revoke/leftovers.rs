//! What the tenant made in its namespaces during the grant, at revoke and rotate: found from
//! one list per kind and namespace, then each identity among them asked about by the API
//! server (SubjectAccessReview, the caller asking), so that "still holds access" is what the
//! server has just said. `--purge` deletes them (bindings first) and proves it: a token minted
//! for each ServiceAccount before is refused (401), and no identity holds access afterwards.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::Cluster;
use crate::error::{Error, GrantError, Result};
use crate::ops::credential::{present, prove_refused};
use crate::session::Session;
use kscope_core::access::namespaced_questions;
use kscope_core::duration::MIN_TOKEN_SECONDS;
use kscope_core::leftovers::{self, Leftover, Namespaced, makes_identities};
use kscope_core::manifest::{Kind, TOKEN_SECRET_TYPE, also_in_of, belongs_to};
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::spec::GrantRef;

/// What the tenant of `grant` may have made since the grant began, asked about: nothing read
/// when its role cannot make identities. The grant began when the oldest of its objects was
/// made (`rotate` makes the ServiceAccount anew; the RoleBinding stays). Its namespaces are
/// its own and those its ServiceAccount records.
pub(crate) async fn of_grant(
    cluster: &Cluster,
    grant: &GrantRef,
    account: &ServiceAccount,
    role: Option<&Role>,
    binding: Option<&RoleBinding>,
) -> Result<Vec<Leftover>> {
    if !makes_identities(&granted_rules(cluster, role, binding).await?) {
        return Ok(Vec::new());
    }
    let ours = |meta: &ObjectMeta| belongs_to(meta, grant);
    let since = [
        Some(&account.metadata),
        role.map(|r| &r.metadata).filter(|m| ours(m)),
        binding.map(|b| &b.metadata).filter(|m| ours(m)),
    ]
    .into_iter()
    .flatten()
    .filter_map(|meta| meta.creation_timestamp.as_ref())
    .map(|t| t.0)
    .min();
    let Some(since) = since else {
        return Ok(Vec::new());
    };
    let mut namespaces = vec![grant.namespace.to_string()];
    namespaces.extend(
        also_in_of(&account.metadata)
            .unwrap_or_default()
            .iter()
            .map(|n| n.to_string()),
    );
    let mut found = read(cluster, &namespaces, &since.to_string()).await?;
    ask(cluster, &mut found).await?;
    Ok(found)
}

/// The rules the grant's role holds, as read (none when its role is gone).
pub(crate) async fn granted_rules(
    cluster: &Cluster,
    role: Option<&Role>,
    binding: Option<&RoleBinding>,
) -> Result<Vec<PolicyRule>> {
    Ok(match (role, binding) {
        (_, Some(b)) if b.role_ref.kind == "ClusterRole" => cluster
            .get_cluster_scoped::<ClusterRole>(&b.role_ref.name)
            .await?
            .and_then(|r| r.rules),
        (Some(r), _) => r.rules.clone(),
        _ => None,
    }
    .unwrap_or_default())
}

/// Reads `namespaces` (four lists each) and finds what is not kscope's and is as new as the
/// grant (`since`).
pub(crate) async fn read(
    cluster: &Cluster,
    namespaces: &[String],
    since: &str,
) -> Result<Vec<Leftover>> {
    let token_type = format!("type={TOKEN_SECRET_TYPE}");
    let mut read = Vec::new();
    for namespace in namespaces {
        let (service_accounts, role_bindings, roles, token_secrets) = futures::try_join!(
            cluster.list_in::<ServiceAccount>(namespace),
            cluster.list_in::<RoleBinding>(namespace),
            cluster.list_in::<Role>(namespace),
            cluster.list_in_selected::<Secret>(namespace, &token_type),
        )?;
        read.push(Namespaced {
            namespace: namespace.clone(),
            service_accounts,
            role_bindings,
            roles,
            token_secrets,
        });
    }
    Ok(leftovers::find(&read, since))
}

/// Asks the API server what each identity of `found` may do in the leftover's namespace (the
/// fixed matrix), and records the first allow. A ServiceAccount that does not exist holds
/// nothing: no token of it authenticates.
pub(crate) async fn ask(cluster: &Cluster, found: &mut [Leftover]) -> Result<()> {
    for leftover in found.iter_mut() {
        leftover.holds = None;
        let questions = namespaced_questions(&leftover.namespace);
        for identity in &leftover.identities {
            if let Some((ns, name)) = &identity.service_account
                && cluster.get::<ServiceAccount>(ns, name).await?.is_none()
            {
                continue;
            }
            let reviews = cluster
                .reviews_of(&identity.user, &identity.groups, &questions)
                .await?;
            if let Some(((_, permission), review)) =
                questions.iter().zip(&reviews).find(|(_, r)| r.allowed)
            {
                leftover.holds = Some(format!(
                    "{} may {permission} in {} ({})",
                    identity.shown(),
                    leftover.namespace,
                    review.reason.as_deref().unwrap_or("no reason given")
                ));
                break;
            }
        }
    }
    Ok(())
}

/// Deletes every leftover (RoleBindings first, then token Secrets, ServiceAccounts, Roles),
/// then proves it: each deleted ServiceAccount's token minted just before is refused (401),
/// and, within `timeout`, no identity of them holds access any more. Returns how long the
/// proof took.
pub(crate) async fn purge(
    session: &Session,
    found: &mut [Leftover],
    timeout: Duration,
) -> Result<Duration> {
    let cluster = &session.cluster;
    let start = Instant::now();
    let mut canaries = Vec::new();
    for leftover in found.iter().filter(|l| l.kind == Kind::ServiceAccount) {
        let (ns, name) = (leftover.namespace.as_str(), leftover.name.as_str());
        if let (Ok(namespace), Ok(account)) =
            (NamespaceName::parse(ns), ServiceAccountName::parse(name))
        {
            let token = cluster
                .request_token(ns, name, MIN_TOKEN_SECONDS, None)
                .await?;
            let account = GrantRef {
                namespace,
                service_account: account,
            };
            present(session, &account, &token).await?;
            canaries.push((account, token));
        }
    }
    for kind in [
        Kind::RoleBinding,
        Kind::Secret,
        Kind::ServiceAccount,
        Kind::Role,
    ] {
        for leftover in found.iter_mut().filter(|l| l.kind == kind) {
            let (ns, name) = (leftover.namespace.as_str(), leftover.name.as_str());
            match kind {
                Kind::RoleBinding => cluster.delete::<RoleBinding>(ns, name).await?,
                Kind::Secret => cluster.delete::<Secret>(ns, name).await?,
                Kind::ServiceAccount => cluster.delete::<ServiceAccount>(ns, name).await?,
                _ => cluster.delete::<Role>(ns, name).await?,
            };
            leftover.purged = true;
        }
    }
    for (account, token) in &canaries {
        prove_refused(session, account, token, timeout).await?;
    }
    // RBAC sees a deleted binding within moments; ask until nothing holds, or time is up.
    loop {
        ask(cluster, found).await?;
        if found.iter().all(|l| l.holds.is_none()) {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return Err(Error::from(GrantError::TenantAccessRemains {
                held: held(found),
                commands: Vec::new(),
            }));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Each leftover that still holds access, in words.
pub(crate) fn held(found: &[Leftover]) -> Vec<String> {
    found
        .iter()
        .filter_map(|l| l.holds.as_ref().map(|h| format!("{}: {h}", l.described())))
        .collect()
}

/// What still holds access, as an error that says how to remove it (`None`: nothing does).
pub(crate) fn remaining(found: &[Leftover]) -> Option<GrantError> {
    let held = held(found);
    if held.is_empty() {
        return None;
    }
    let commands = found
        .iter()
        .map(|l| {
            format!(
                "kubectl -n {} delete {} {}",
                l.namespace,
                l.kind.to_string().to_lowercase(),
                l.name
            )
        })
        .collect();
    Some(GrantError::TenantAccessRemains { held, commands })
}
