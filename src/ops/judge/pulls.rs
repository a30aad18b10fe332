//! kscope's always-pull policy at the cluster: installed once, by the first grant made with
//! `--always-pull` (or when it was changed), and proven in force by a dry run of a pod that
//! may use a node's cached image, refused by the policy itself.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};

use super::unread;
use crate::cluster::{Admission, Cluster, WriteMode};
use crate::error::{Error, GrantError, Result};
use kscope_core::manifest::{Kind, ObjectResult};
use kscope_core::pulls::{
    ALWAYS_PULL_NAME, always_pull_binding, always_pull_holds, always_pull_policy, cached_image_pod,
    refused_by_policy,
};

/// How long the API server may take to load a policy it was just given.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Installs the policy and its binding unless both are there as kscope makes them; what
/// happened to each (nothing when they were).
pub(crate) async fn install_always_pull(
    cluster: &Cluster,
    mode: WriteMode,
) -> Result<Vec<ObjectResult>> {
    let (policy, binding) = futures::join!(
        cluster.get_cluster_scoped::<ValidatingAdmissionPolicy>(ALWAYS_PULL_NAME),
        cluster.get_cluster_scoped::<ValidatingAdmissionPolicyBinding>(ALWAYS_PULL_NAME),
    );
    let (policy, binding) = (unread(policy)?, unread(binding)?);
    if always_pull_holds(policy.as_ref(), binding.as_ref()) {
        return Ok(Vec::new());
    }
    let (_, policy_outcome) = cluster
        .apply_cluster_scoped(&always_pull_policy(), policy.as_ref(), mode)
        .await?;
    let (_, binding_outcome) = cluster
        .apply_cluster_scoped(&always_pull_binding(), binding.as_ref(), mode)
        .await?;
    Ok(vec![
        ObjectResult {
            kind: Kind::ValidatingAdmissionPolicy,
            name: ALWAYS_PULL_NAME.to_string(),
            result: policy_outcome,
        },
        ObjectResult {
            kind: Kind::ValidatingAdmissionPolicyBinding,
            name: ALWAYS_PULL_NAME.to_string(),
            result: binding_outcome,
        },
    ])
}

/// A pod that may use a node's cached image, in `ns`, as a dry run by `caller` (running as the
/// grant's ServiceAccount `service_account`).
pub(crate) async fn try_cached_image(
    caller: &Cluster,
    ns: &str,
    service_account: &str,
) -> Result<Admission> {
    caller
        .try_create(ns, &cached_image_pod(ns, service_account))
        .await
}

/// Proves the policy in force in each of `namespaces`: the dry run is sent until the policy
/// itself refuses it (a policy just installed takes up to a second or so to load).
pub(crate) async fn prove_always_pull(
    caller: &Cluster,
    namespaces: &[String],
    service_account: &str,
) -> Result<()> {
    for ns in namespaces {
        let started = std::time::Instant::now();
        loop {
            if let Admission::Refused { reason, .. } =
                try_cached_image(caller, ns, service_account).await?
                && refused_by_policy(&reason)
            {
                break;
            }
            if started.elapsed() > LOAD_TIMEOUT {
                return Err(Error::from(GrantError::AlwaysPullNotInForce {
                    namespace: ns.clone(),
                    seconds: LOAD_TIMEOUT.as_secs(),
                }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
