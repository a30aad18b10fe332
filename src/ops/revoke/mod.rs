//! The revoke operation: find what kscope made for a grant; mint a short token for its
//! ServiceAccount (standing for every token issued for it before, self-minted ones included);
//! delete the RoleBinding first (no token holds the grant's access from then on, wherever the
//! revoke is stopped), then the token Secret, the Role and the ServiceAccount; then prove the
//! old Secret token and the minted one dead by presenting them until the API server answers
//! 401. Objects of the same names that kscope does not manage are left and named. What the
//! tenant made in its namespaces during the grant (its own ServiceAccounts, tokens, Roles and
//! RoleBindings) is found, asked about by the API server, and with `--purge` deleted and
//! proven refused ([`leftovers`]). Returns data; prints nothing.

pub(crate) mod leftovers;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::is_managed;
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::ops::credential::{present, prove_refused_if_any, secret_token};
use crate::plan::RevokePlan;
use crate::session::Session;
use crate::state;
use kscope_core::containment::Reach;
use kscope_core::duration::MIN_TOKEN_SECONDS;
use kscope_core::manifest::{Kind, ObjectResult, Outcome, belongs_to};
use kscope_core::report::revoke::{NamespaceFate, Revocation, Survey, Target};

/// Reads the grant's objects and decides what goes. A grant with nothing of kscope's left is
/// an error.
pub(crate) async fn survey(session: &Session, plan: &RevokePlan) -> Result<Survey> {
    let grant = &plan.grant;
    let cluster = &session.cluster;
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let secret_name = grant.service_account.token_secret();
    let (secret, binding, role, account) = futures::try_join!(
        cluster.get::<Secret>(ns, &secret_name),
        cluster.get::<RoleBinding>(ns, sa),
        cluster.get::<Role>(ns, sa),
        cluster.get::<ServiceAccount>(ns, sa),
    )?;
    // The order of deletion: the RoleBinding first, so that from the first deletion on no
    // token of the ServiceAccount holds the grant's access, whatever interrupts the rest.
    let found: [(Kind, Option<&ObjectMeta>); 4] = [
        (Kind::RoleBinding, binding.as_ref().map(|o| &o.metadata)),
        (Kind::Secret, secret.as_ref().map(|o| &o.metadata)),
        (Kind::Role, role.as_ref().map(|o| &o.metadata)),
        (Kind::ServiceAccount, account.as_ref().map(|o| &o.metadata)),
    ];
    let (mut delete, mut keep) = (Vec::new(), Vec::new());
    for (kind, meta) in found {
        let Some(meta) = meta else { continue };
        let target = Target {
            kind,
            namespace: ns.to_string(),
            name: meta.name.clone().unwrap_or_default(),
        };
        if belongs_to(meta, grant) {
            delete.push(target);
        } else {
            keep.push(target);
        }
    }
    // The grant's Roles and RoleBindings in its other namespaces: its bindings go first
    // (with the home one), its Roles after.
    let selector = kscope_core::manifest::also_in_selector(grant);
    let (extra_bindings, extra_roles) = match futures::try_join!(
        cluster.list_labelled::<RoleBinding>(&selector),
        cluster.list_labelled::<Role>(&selector),
    ) {
        Err(e) if crate::cluster::is_forbidden(&e) => (Vec::new(), Vec::new()),
        other => other?,
    };
    let extra = |kind: Kind, meta: &ObjectMeta| Target {
        kind,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
    };
    if !delete.is_empty() {
        let bindings = extra_bindings
            .iter()
            .filter(|b| is_managed(&b.metadata))
            .map(|b| extra(Kind::RoleBinding, &b.metadata));
        delete.splice(0..0, bindings);
        delete.extend(
            extra_roles
                .iter()
                .filter(|r| is_managed(&r.metadata))
                .map(|r| extra(Kind::Role, &r.metadata)),
        );
    }
    if delete.is_empty() {
        return Err(GrantError::NoSuchGrant {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
        }
        .into());
    }
    let token = secret
        .as_ref()
        .filter(|s| belongs_to(&s.metadata, grant))
        .and_then(secret_token);
    let namespace = if !plan.delete_namespace {
        NamespaceFate::Kept
    } else {
        let created = cluster
            .get_cluster_scoped::<Namespace>(ns)
            .await?
            .is_some_and(|n| is_managed(&n.metadata));
        // kscope's marks on the Namespace prove kscope made it only if the tenant could not
        // write them: its role does not reach the Namespace, or kscope's guard holds it.
        if created {
            let rules = leftovers::granted_rules(cluster, role.as_ref(), binding.as_ref()).await?;
            let reaches = Reach::of(&rules).namespace;
            if reaches && !guarded(cluster, ns).await? {
                return Err(Error::from(GrantError::NamespaceOriginUnknown {
                    namespace: ns.to_string(),
                }));
            }
        }
        let others = cluster
            .grants(Some(ns))
            .await?
            .into_iter()
            .any(|(_, other)| other != sa);
        match (created, others, keep.is_empty()) {
            (false, _, _) => NamespaceFate::KeptNotCreatedByKscope,
            (true, true, _) => NamespaceFate::KeptOtherGrants,
            (true, false, false) => NamespaceFate::KeptUnmanagedObjects,
            (true, false, true) => NamespaceFate::Deleted,
        }
    };
    // What the tenant may have made since the grant began: found, and asked about, before
    // anything is deleted (for the preview).
    let tenant_made = match account.as_ref().filter(|a| belongs_to(&a.metadata, grant)) {
        Some(account) => {
            leftovers::of_grant(cluster, grant, account, role.as_ref(), binding.as_ref()).await?
        }
        None => Vec::new(),
    };
    Ok(Survey {
        grant: grant.clone(),
        delete,
        keep,
        namespace,
        token,
        tenant_made,
        purge: plan.purge,
    })
}

/// Deletes what the survey found, RoleBinding first; proves the old long-lived token and a
/// token minted just before (standing for every token of the ServiceAccount issued before,
/// self-minted ones included) refused; forgets the grant locally. A ServiceAccount that is
/// not kscope's survives and is an error: its tokens may still act.
pub(crate) async fn execute(
    session: &Session,
    survey: &Survey,
    timeout: Duration,
) -> Result<Revocation> {
    let cluster = &session.cluster;
    let grant = &survey.grant;
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let account_deleted = survey.delete.iter().any(|t| t.kind == Kind::ServiceAccount);
    // Minted before anything is deleted: it is what an earlier token of the ServiceAccount is.
    let canary = if account_deleted {
        match cluster.request_token(ns, sa, MIN_TOKEN_SECONDS, None).await {
            Ok(token) => {
                present(session, grant, &token).await?;
                Some(token)
            }
            // Without create on serviceaccounts/token the proof is left out; deleting the
            // ServiceAccount still ends every token of it (the API server checks its UID).
            Err(e) if crate::cluster::is_forbidden(&e) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let mut objects = Vec::new();
    for target in &survey.delete {
        let (at, name) = (target.namespace.as_str(), target.name.as_str());
        let gone = match target.kind {
            Kind::Secret => cluster.delete::<Secret>(at, name).await?,
            Kind::RoleBinding => cluster.delete::<RoleBinding>(at, name).await?,
            Kind::Role => cluster.delete::<Role>(at, name).await?,
            Kind::ServiceAccount => cluster.delete::<ServiceAccount>(at, name).await?,
            Kind::Namespace
            | Kind::ResourceQuota
            | Kind::LimitRange
            | Kind::NetworkPolicy
            | Kind::Service
            | Kind::ValidatingAdmissionPolicy
            | Kind::ValidatingAdmissionPolicyBinding
            | Kind::ClusterRole
            | Kind::ClusterRoleBinding => {
                return Err(Error::bug(format!(
                    "a revoke surveyed a {} as a namespaced object of the grant",
                    target.kind
                )));
            }
        };
        objects.push(ObjectResult {
            kind: target.kind,
            name: target.shown(),
            result: if gone {
                Outcome::Deleted
            } else {
                Outcome::Gone
            },
        });
    }
    if survey.account_survives() {
        return Err(Error::from(GrantError::AccountSurvives {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
            left: survey.keep.iter().map(Target::described).collect(),
        }));
    }
    let spinner = session.progress.start(&format!(
        "waiting for the API server to refuse every earlier token of {ns}/{sa}"
    ));
    let (token_refused_after, every_token_refused_after) = futures::try_join!(
        prove_refused_if_any(session, grant, survey.token.as_ref(), timeout),
        prove_refused_if_any(session, grant, canary.as_ref(), timeout),
    )?;
    spinner.finish("every earlier token is refused (401)");
    if survey.namespace == NamespaceFate::Deleted {
        cluster.delete_namespace(ns).await?;
        objects.push(ObjectResult {
            kind: Kind::Namespace,
            name: ns.to_string(),
            result: Outcome::Deleted,
        });
    }
    // What the tenant made: gone with the namespace, purged and proven, or asked about again
    // now that the grant is revoked.
    let mut tenant_made = survey.tenant_made.clone();
    let mut purged_refused_after = None;
    if survey.namespace != NamespaceFate::Deleted && !tenant_made.is_empty() {
        if survey.purge {
            let took = leftovers::purge(session, &mut tenant_made, timeout).await?;
            purged_refused_after = Some(took.as_secs_f64());
        } else {
            leftovers::ask(cluster, &mut tenant_made).await?;
        }
    }
    // Best effort: a stale memory only means `kscope kubeconfig` names a revoked grant.
    let _ = state::forget(&session.caller.context, grant);
    Ok(Revocation {
        namespace: ns.to_string(),
        service_account: sa.to_string(),
        objects,
        left: survey.keep.clone(),
        namespace_fate: survey.namespace,
        token_refused_after: token_refused_after.map(|d| d.as_secs_f64()),
        every_token_refused_after: every_token_refused_after.map(|d| d.as_secs_f64()),
        account_deleted,
        tenant_made,
        purged_refused_after,
    })
}

/// Whether kscope's guard (its policy and its binding, as kscope makes them) is in the cluster
/// and applies to `namespace` (its tenant label).
async fn guarded(cluster: &crate::cluster::Cluster, namespace: &str) -> Result<bool> {
    let live = crate::ops::judge::LiveGuard::read(cluster).await?;
    let labelled = cluster
        .get_cluster_scoped::<Namespace>(namespace)
        .await?
        .and_then(|n| n.metadata.labels)
        .is_some_and(|l| l.contains_key(kscope_core::manifest::TENANT_LABEL));
    Ok(live.holds() && labelled)
}
