//! The list operation: every kscope grant the caller can see, from four list requests
//! (ServiceAccounts, Secrets, Roles, RoleBindings, each by kscope's label) and one read of the
//! namespaces' Pod Security labels, however many grants there are. Returns data; prints
//! nothing. The rows themselves are `kscope_core::grants::rows`, pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

use crate::cluster::is_forbidden;
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::plan::ListPlan;
use crate::session::Session;
use kscope_core::grants::{GrantRow, Listed, rows};
use kscope_core::spec::Enforced;

pub(crate) async fn execute(session: &Session, plan: &ListPlan) -> Result<Vec<GrantRow>> {
    let namespace = plan.namespace.as_ref().map(|n| n.as_str());
    let cluster = &session.cluster;
    let forbidden = |e: Error| {
        if is_forbidden(&e) && namespace.is_none() {
            GrantError::ListForbidden {
                detail: e.to_string(),
            }
            .into()
        } else {
            e
        }
    };
    let (service_accounts, secrets, roles, role_bindings, namespaces) = futures::join!(
        cluster.list_managed::<ServiceAccount>(namespace),
        cluster.list_managed::<Secret>(namespace),
        cluster.list_managed::<Role>(namespace),
        cluster.list_managed::<RoleBinding>(namespace),
        pod_security_levels(cluster, namespace),
    );
    Ok(rows(&Listed {
        service_accounts: service_accounts.map_err(forbidden)?,
        secrets: secrets.map_err(forbidden)?,
        roles: roles.map_err(forbidden)?,
        role_bindings: role_bindings.map_err(forbidden)?,
        pod_security: namespaces,
    }))
}

/// The enforced Pod Security level of each namespace (one request: a list, or the one
/// namespace of `-n`). A caller who may not read namespaces gets none.
async fn pod_security_levels(
    cluster: &crate::cluster::Cluster,
    namespace: Option<&str>,
) -> BTreeMap<String, Enforced> {
    let found = match namespace {
        Some(ns) => cluster
            .get_cluster_scoped::<Namespace>(ns)
            .await
            .map(|n| n.into_iter().collect()),
        None => cluster.list_all::<Namespace>(None).await,
    };
    found
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| {
            let level = Enforced::of(n.metadata.labels.as_ref())?;
            Some((n.metadata.name?, level))
        })
        .collect()
}
