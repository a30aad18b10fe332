//! kscope's guard at the cluster: the policy and its one binding as read, their install (and
//! the upgrade from one binding per namespace), and the proof that the guard is in force, as
//! the grant's ServiceAccount.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::Role;

use super::unread;
use crate::cluster::{Admission, Cluster, WriteMode};
use crate::error::{Error, GrantError, Result};
use crate::session::Session;
use kscope_core::access::{named_volume_claim, reaching_service, system_priority_pod};
use kscope_core::containment::{
    GUARD_NAME, Reach, binding_holds, guard_binding, guard_policy, old_binding_namespace,
};
use kscope_core::duration::MIN_TOKEN_SECONDS;
use kscope_core::manifest::{Kind, MANAGED_BY, ObjectResult};
use kscope_core::rules::Permission;
use kscope_core::spec::{GrantRef, Opening};

/// The guard's policy and a namespace's binding, as read before a grant.
#[derive(Default, Clone)]
pub(crate) struct LiveGuard {
    policy: Option<ValidatingAdmissionPolicy>,
    binding: Option<ValidatingAdmissionPolicyBinding>,
}

impl LiveGuard {
    /// The guard's policy and its one binding, as the caller may read them.
    pub(crate) async fn read(cluster: &Cluster) -> Result<LiveGuard> {
        let (policy, binding) = futures::join!(
            cluster.get_cluster_scoped::<ValidatingAdmissionPolicy>(GUARD_NAME),
            cluster.get_cluster_scoped::<ValidatingAdmissionPolicyBinding>(GUARD_NAME),
        );
        // A caller who may not read the guard is taken to find none: whether it may write it
        // is then asked, and a refusal says what it lacks (beside the grant's other reasons).
        Ok(LiveGuard {
            policy: unread(policy)?,
            binding: unread(binding)?,
        })
    }

    /// The policy and binding as kscope writes them.
    pub(crate) fn as_kscope_makes_it() -> LiveGuard {
        LiveGuard {
            policy: Some(guard_policy()),
            binding: Some(guard_binding()),
        }
    }

    /// Whether both are there as kscope makes them.
    pub(crate) fn holds(&self) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|p| kscope_core::manifest::covers(p, &guard_policy()))
            && self.binding.as_ref().is_some_and(binding_holds)
    }
}

/// The permissions installing the guard takes.
fn guard_permissions() -> Vec<Permission> {
    const GROUP: &str = "admissionregistration.k8s.io";
    let mut wanted = Vec::new();
    for resource in [
        "validatingadmissionpolicies",
        "validatingadmissionpolicybindings",
    ] {
        for verb in ["get", "create", "patch"] {
            wanted.push(Permission::new(GROUP, resource, verb));
        }
    }
    wanted
}

pub(super) async fn guard_permissions_missing(cluster: &Cluster) -> Result<Vec<String>> {
    let wanted = guard_permissions();
    let questions: Vec<_> = wanted.iter().cloned().map(|p| (None, p)).collect();
    let answers = cluster.can_i(&questions).await?;
    Ok(wanted
        .iter()
        .zip(answers)
        .filter(|(_, allowed)| !allowed)
        .map(|(p, _)| p.to_string())
        .collect())
}

/// Installs (or restores) the guard's policy and its one binding, each only when it is not
/// as kscope makes it; under a server dry run, only has the server validate them. Before the
/// grant binds its access, so a tenant is never bound without its guard. Then removes the
/// per-namespace bindings of earlier kscope versions, after putting [`TENANT_LABEL`] on each
/// of their namespaces (see [`upgrade`]).
pub(crate) async fn install_guard(
    cluster: &Cluster,
    live: &LiveGuard,
    mode: WriteMode,
) -> Result<Vec<ObjectResult>> {
    if live.holds() {
        return Ok(Vec::new());
    }
    let mut results = upgrade_labels(cluster, mode).await?;
    let policy = guard_policy();
    let binding = guard_binding();
    let (_, policy_outcome) = cluster
        .apply_cluster_scoped(&policy, live.policy.as_ref(), mode)
        .await?;
    let (_, binding_outcome) = cluster
        .apply_cluster_scoped(&binding, live.binding.as_ref(), mode)
        .await?;
    results.push(ObjectResult {
        kind: Kind::ValidatingAdmissionPolicy,
        name: GUARD_NAME.to_string(),
        result: policy_outcome,
    });
    results.push(ObjectResult {
        kind: Kind::ValidatingAdmissionPolicyBinding,
        name: GUARD_NAME.to_string(),
        result: binding_outcome,
    });
    results.extend(upgrade_bindings(cluster, mode).await?);
    Ok(results)
}

/// The per-namespace guard bindings of earlier kscope versions (`kscope-tenant-guard.<ns>`),
/// as kscope made them.
async fn old_bindings(cluster: &Cluster) -> Result<Vec<ValidatingAdmissionPolicyBinding>> {
    let selector = format!(
        "{}={}",
        kscope_core::manifest::MANAGED_BY,
        kscope_core::manifest::FIELD_MANAGER
    );
    let found = cluster
        .list_labelled_visible::<ValidatingAdmissionPolicyBinding>(&selector)
        .await?;
    Ok(found
        .into_iter()
        .filter(|b| {
            b.metadata
                .name
                .as_deref()
                .and_then(old_binding_namespace)
                .is_some()
        })
        .collect())
}

/// The upgrade from one guard binding per namespace, first step: every namespace such a
/// binding guards gets [`TENANT_LABEL`] before the new policy (which reads it) is written.
///
/// Why nothing is unguarded in between: kube-apiserver compiles the policies and bindings it
/// has seen, in the order its informers saw them, at most once a second, while a Namespace's
/// labels reach its namespace informer within moments. The labels are written first, then the
/// policy, then the one binding, and the old bindings are deleted last ([`upgrade_bindings`]):
/// any state the API server compiles holds the old bindings or the new one, and a policy that
/// reads the label finds it.
async fn upgrade_labels(cluster: &Cluster, mode: WriteMode) -> Result<Vec<ObjectResult>> {
    let mut results = Vec::new();
    for old in old_bindings(cluster).await? {
        let name = old.metadata.name.unwrap_or_default();
        let Some(namespace) = old_binding_namespace(&name) else {
            continue;
        };
        if let Some(labelled) = cluster.mark_tenant_namespace(namespace, mode).await? {
            results.push(ObjectResult {
                kind: Kind::Namespace,
                name: namespace.to_string(),
                result: labelled,
            });
        }
    }
    Ok(results)
}

/// The upgrade's last step: the per-namespace bindings go, once the one binding is written.
async fn upgrade_bindings(cluster: &Cluster, mode: WriteMode) -> Result<Vec<ObjectResult>> {
    let mut results = Vec::new();
    for old in old_bindings(cluster).await? {
        let name = old.metadata.name.unwrap_or_default();
        if mode == WriteMode::Apply {
            cluster
                .delete_cluster_scoped::<ValidatingAdmissionPolicyBinding>(&name)
                .await?;
        }
        results.push(ObjectResult {
            kind: Kind::ValidatingAdmissionPolicyBinding,
            name,
            result: kscope_core::manifest::Outcome::Deleted,
        });
    }
    Ok(results)
}

/// How long a guard that was just installed may take to be in force: the API server loads
/// admission policies from its informers and refreshes them about every second.
const GUARD_LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Proves a guard that was just installed or changed in force before the grant is reported
/// made, in the grant's namespace and in each of its other namespaces: as the grant's
/// ServiceAccount (a short token), one write the role reaches and the guard refuses is sent
/// as a dry run until the server refuses it.
pub(crate) async fn prove_guard(
    session: &Session,
    grant: &GrantRef,
    also_in: &[String],
    reach: Reach,
    may_impersonate: bool,
) -> Result<()> {
    // A caller that may impersonate (a cluster administrator) acts as the ServiceAccount over
    // its own connection: the API server then sees the ServiceAccount's user and groups, as
    // with its token, without a token to mint and a connection to open. Anyone else, with a
    // short token of the ServiceAccount.
    let impersonated = may_impersonate
        .then(|| {
            session
                .cluster
                .impersonating(grant.namespace.as_str(), grant.service_account.as_str())
        })
        .flatten();
    let as_sa = match impersonated {
        Some(cluster) => cluster,
        None => crate::ops::credential::mint(session, grant, MIN_TOKEN_SECONDS).await?,
    };
    let home = grant.namespace.as_str();
    for namespace in std::iter::once(home).chain(also_in.iter().map(String::as_str)) {
        prove_guard_in(&as_sa, grant, namespace, reach).await?;
    }
    Ok(())
}

async fn prove_guard_in(as_sa: &Cluster, grant: &GrantRef, ns: &str, reach: Reach) -> Result<()> {
    let home = ns == grant.namespace.as_str();
    // The writes the role may reach, in turn, until the guard itself refuses one (RBAC
    // refusing a write the role cannot make proves nothing of the guard). Those of the guard's
    // newest rules go first, and one of them admitted means the API server still enforces an
    // earlier version of the policy (a guard kscope just upgraded takes up to a second to
    // load): asked again, rather than proven by a rule both versions hold.
    let mut attempts = Vec::new();
    if reach.pods {
        attempts.push(Attempt::Priority);
    }
    if reach.claims {
        attempts.push(Attempt::Volume);
    }
    if reach.namespace {
        attempts.push(Attempt::Relabel);
    }
    if reach.grant_objects {
        if home {
            attempts.push(Attempt::Unlabel);
        }
        attempts.extend([Attempt::Role, Attempt::Account, Attempt::Secret]);
    }
    if reach.endpoints {
        attempts.push(Attempt::Endpoints);
    }
    if reach.shared {
        attempts.extend(Opening::ALL.map(Attempt::Service));
        attempts.extend([Attempt::Quota, Attempt::Policy]);
    }
    let started = std::time::Instant::now();
    // The first answer may come before the API server's RBAC cache has the grant's binding
    // (a write RBAC refuses proves nothing): asked again soon, then every 100 ms.
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        for attempt in &attempts {
            let answer = attempt.send(as_sa, grant, ns).await?;
            if guard_refused(&answer) {
                return Ok(());
            }
            if attempt.newest() && matches!(answer, Admission::Admitted) {
                break;
            }
        }
        if started.elapsed() > GUARD_LOAD_TIMEOUT {
            return Err(Error::from(GrantError::GuardNotInForce {
                namespace: ns.to_string(),
                seconds: GUARD_LOAD_TIMEOUT.as_secs(),
            }));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

/// One write the guard refuses a tenant, sent as a dry run to prove it in force.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    /// A label on the Namespace.
    Relabel,
    /// kscope's label off the grant's ServiceAccount.
    Unlabel,
    /// A Role, ServiceAccount or Secret wearing kscope's label.
    Role,
    Account,
    Secret,
    Endpoints,
    /// A Service that reaches outside.
    Service(Opening),
    /// A ResourceQuota; a NetworkPolicy wearing kscope's label.
    Quota,
    Policy,
    /// A pod of the system's own priority.
    Priority,
    /// A claim that names a PersistentVolume.
    Volume,
}

impl Attempt {
    /// Whether only the guard's newest rules refuse it (no grant opens them), so that its
    /// refusal proves this version of the policy loaded.
    fn newest(self) -> bool {
        matches!(self, Attempt::Priority | Attempt::Volume)
    }

    async fn send(self, as_sa: &Cluster, grant: &GrantRef, ns: &str) -> Result<Admission> {
        use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
        match self {
            Attempt::Relabel => {
                let relabel =
                    serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "guard"}}});
                as_sa
                    .try_patch_cluster_scoped::<Namespace>(ns, &relabel)
                    .await
            }
            Attempt::Unlabel => {
                let unlabel = serde_json::json!({"metadata": {"labels": {MANAGED_BY: null}}});
                let sa = grant.service_account.as_str();
                as_sa.try_patch::<ServiceAccount>(ns, sa, &unlabel).await
            }
            Attempt::Role => as_sa.try_create(ns, &bound_probe::<Role>(ns)).await,
            Attempt::Account => {
                as_sa
                    .try_create(ns, &bound_probe::<ServiceAccount>(ns))
                    .await
            }
            Attempt::Secret => as_sa.try_create(ns, &bound_probe::<Secret>(ns)).await,
            Attempt::Endpoints => as_sa.try_create(ns, &endpoints_probe(ns)).await,
            Attempt::Service(opening) => as_sa.try_create(ns, &reaching_service(ns, opening)).await,
            Attempt::Quota => {
                as_sa
                    .try_create(ns, &bound_probe::<ResourceQuota>(ns))
                    .await
            }
            Attempt::Volume => as_sa.try_create(ns, &named_volume_claim(ns)).await,
            Attempt::Priority => {
                let sa = grant.service_account.as_str();
                as_sa.try_create(ns, &system_priority_pod(ns, sa)).await
            }
            Attempt::Policy => {
                let mut policy = bound_probe::<NetworkPolicy>(ns);
                policy.spec = Some(k8s_openapi::api::networking::v1::NetworkPolicySpec {
                    pod_selector: Some(Default::default()),
                    ..Default::default()
                });
                as_sa.try_create(ns, &policy).await
            }
        }
    }
}

/// An object wearing kscope's label (a Role, ServiceAccount, Secret, ResourceQuota or
/// NetworkPolicy), for a dry run the guard refuses (a tenant may write neither kscope's objects
/// nor quotas).
fn bound_probe<K: kube::Resource<DynamicType = ()> + Default>(namespace: &str) -> K {
    let mut object = K::default();
    let meta = object.meta_mut();
    meta.name = Some("kscope-guard-probe".into());
    meta.namespace = Some(namespace.to_string());
    meta.labels = Some(std::collections::BTreeMap::from([(
        MANAGED_BY.to_string(),
        kscope_core::manifest::FIELD_MANAGER.to_string(),
    )]));
    object
}

/// Whether a dry run was refused by kscope's guard.
fn guard_refused(answer: &Admission) -> bool {
    matches!(answer, Admission::Refused { reason, .. }
        if reason.contains(&format!("ValidatingAdmissionPolicy '{GUARD_NAME}'")))
}

pub(super) fn endpoints_probe(namespace: &str) -> k8s_openapi::api::core::v1::Endpoints {
    k8s_openapi::api::core::v1::Endpoints {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("kscope-endpoints-probe".into()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        subsets: None,
    }
}
