//! What every ServiceAccount of a namespace may do without a grant: the rules Kubernetes' own
//! ClusterRoleBindings (`rbac-defaults`) give the groups its tokens carry.

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule};

use crate::cluster::{Cluster, is_forbidden};
use crate::error::Result;

/// The bootstrapping label of the bindings and roles that come with Kubernetes.
const BOOTSTRAP_SELECTOR: &str = "kubernetes.io/bootstrapping=rbac-defaults";

/// Kubernetes' own ClusterRoleBindings and ClusterRoles (`rbac-defaults`), as the caller may
/// read them; empty when it may not.
pub(crate) async fn bootstrap(
    cluster: &Cluster,
) -> Result<(Vec<ClusterRoleBinding>, Vec<ClusterRole>)> {
    let found = futures::try_join!(
        cluster.list_labelled::<ClusterRoleBinding>(BOOTSTRAP_SELECTOR),
        cluster.list_labelled::<ClusterRole>(BOOTSTRAP_SELECTOR),
    );
    match found {
        Ok(found) => Ok(found),
        Err(e) if is_forbidden(&e) => Ok((Vec::new(), Vec::new())),
        Err(e) => Err(e),
    }
}

/// What every ServiceAccount of `namespace` may do without a grant: the rules of the
/// ClusterRoles that Kubernetes' own ClusterRoleBindings give to the groups it is in.
pub(crate) fn baseline_rules(
    bindings: &[ClusterRoleBinding],
    roles: &[ClusterRole],
    namespace: &str,
) -> Vec<PolicyRule> {
    let groups = [
        "system:authenticated".to_string(),
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{namespace}"),
    ];
    let bound: Vec<&str> = bindings
        .iter()
        .filter(|b| {
            b.subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "Group" && groups.contains(&s.name))
        })
        .filter(|b| b.role_ref.kind == "ClusterRole")
        .map(|b| b.role_ref.name.as_str())
        .collect();
    roles
        .iter()
        .filter(|r| {
            r.metadata
                .name
                .as_deref()
                .is_some_and(|n| bound.contains(&n))
        })
        .flat_map(|r| r.rules.clone().unwrap_or_default())
        .collect()
}
