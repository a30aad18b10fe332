//! The audit operation: reads what the audit's rules look at, with fourteen list requests
//! (bindings, roles, ServiceAccounts, token Secrets, namespaces, admission policies, quotas,
//! limit ranges, network policies, Services) however
//! many objects exist, one rules review of the caller (does authorization go beyond RBAC?),
//! plus one dry run per namespace that may admit node-escaping pods.
//! The rules themselves are `kscope_core::audit`, pure.

use std::collections::BTreeSet;

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::{
    LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};

use crate::cluster::Admission;
use crate::error::Result;
use crate::session::Session;
use kscope_core::audit::{Inventory, host_pod_candidates};
use kscope_core::expiry::BOUND_TOKEN_TYPE;
use kscope_core::manifest::TOKEN_SECRET_TYPE;

/// Reads the cluster with fourteen list requests, then asks admission once (a dry run) for each
/// namespace where a binding lets someone make pods and no Pod Security label refuses host
/// pods already.
pub(crate) async fn inventory(session: &Session) -> Result<Inventory> {
    let cluster = &session.cluster;
    let token_type = format!("type={TOKEN_SECRET_TYPE}");
    let bound_type = format!("type={BOUND_TOKEN_TYPE}");
    let (
        (cluster_role_bindings, role_bindings, cluster_roles, roles, service_accounts),
        (token_secrets, bound_secrets, namespaces, guard_policies, guard_bindings),
        (resource_quotas, limit_ranges, network_policies, services),
    ) = futures::try_join!(
        async {
            futures::try_join!(
                cluster.list_all::<ClusterRoleBinding>(None),
                cluster.list_all::<RoleBinding>(None),
                cluster.list_all::<ClusterRole>(None),
                cluster.list_all::<Role>(None),
                cluster.list_all::<ServiceAccount>(None),
            )
        },
        async {
            futures::try_join!(
                cluster.list_all::<Secret>(Some(&token_type)),
                cluster.list_all::<Secret>(Some(&bound_type)),
                cluster.list_all::<Namespace>(None),
                cluster.list_all::<ValidatingAdmissionPolicy>(None),
                cluster.list_all::<ValidatingAdmissionPolicyBinding>(None),
            )
        },
        async {
            futures::try_join!(
                cluster.list_all::<ResourceQuota>(None),
                cluster.list_all::<LimitRange>(None),
                cluster.list_all::<NetworkPolicy>(None),
                cluster.list_all::<Service>(None),
            )
        },
    )?;
    let mut inventory = Inventory {
        cluster_role_bindings,
        role_bindings,
        cluster_roles,
        roles,
        service_accounts,
        token_secrets,
        bound_secrets,
        namespaces,
        guard_policies,
        guard_bindings,
        admit_host_pods: BTreeSet::new(),
        resource_quotas,
        limit_ranges,
        network_policies,
        services,
        beyond_rbac: cluster.caller_rules("kube-system").await?.evaluation_error,
    };
    let candidates = host_pod_candidates(&inventory);
    let answers = futures::future::join_all(
        candidates
            .iter()
            .map(|ns| crate::ops::judge::host_pods(cluster, ns, None)),
    )
    .await;
    // A namespace that cannot be asked (its `default` ServiceAccount missing) is left out;
    // the others' answers stand.
    inventory.admit_host_pods = candidates
        .into_iter()
        .zip(answers)
        .filter(|(_, a)| matches!(a, Ok(Admission::Admitted)))
        .map(|(ns, _)| ns)
        .collect();
    // A quota written moments ago (a grant just made) is not recorded by the resource quota
    // controller yet: its namespace's quotas are watched for a while before they are judged.
    let unrecorded = kscope_core::audit::unrecorded_quota_namespaces(&inventory);
    let seen = futures::future::try_join_all(
        unrecorded
            .iter()
            .map(|ns| cluster.quota_state(ns, crate::ops::judge::QUOTA_RECORD_WAIT)),
    )
    .await?;
    for (ns, (_, quotas)) in unrecorded.iter().zip(seen) {
        inventory
            .resource_quotas
            .retain(|q| q.metadata.namespace.as_deref() != Some(ns.as_str()));
        inventory.resource_quotas.extend(quotas);
    }
    Ok(inventory)
}
