//! Containment at the cluster, for `grant` (before any write) and `check` (as the
//! ServiceAccount): the role's real rules and what they reach; whether an existing namespace
//! admits a node-escaping pod (asked as a dry run, so that every admission mechanism counts);
//! the ServiceAccounts of a namespace that hold more than a grant; and the guard, installed
//! before the grant's access is bound. Returns data; prints nothing.

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, RoleBinding};

use crate::cluster::{Admission, Cluster, WriteMode, is_forbidden};
use crate::error::{Error, GrantError, Result};
use crate::session::Session;
use kscope_core::access::{PathOut, PathProbe};
use kscope_core::containment::{
    GUARD_NAME, Reach, cluster_role_escalations, guard_binding, guard_binding_name, guard_policy,
    node_escaping_pod, refusal_proves,
};
use kscope_core::duration::MIN_TOKEN_SECONDS;
use kscope_core::manifest::{Kind, MANAGED_BY, ObjectResult};
use kscope_core::rules::Permission;
use kscope_core::spec::{Allowances, Enforced, GrantRef, GrantSpec, PodSecurity, RoleSource};

mod beyond;
mod stronger;
pub(crate) use beyond::{Neighbours, neighbours};
pub(crate) use stronger::{Bound, RoleRules, Stronger, stronger_accounts, stronger_among};

/// The rules a grant's role holds: the template's, or the ClusterRole's as the server has it
/// (aggregated). `None` when the caller may not read the ClusterRole.
pub(crate) async fn role_rules(
    cluster: &Cluster,
    role: &RoleSource,
) -> Result<Option<Vec<PolicyRule>>> {
    match role {
        RoleSource::Template(t) => Ok(Some(t.rules.clone())),
        RoleSource::ClusterRole(name) => {
            match cluster.get_cluster_scoped::<ClusterRole>(name).await {
                Ok(Some(role)) => Ok(Some(role.rules.unwrap_or_default())),
                Ok(None) => Err(Error::from(GrantError::ClusterRoleMissing {
                    name: name.clone(),
                })),
                Err(e) if is_forbidden(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// What a grant's containment needs, found before any write.
pub(crate) struct Judgement {
    /// Install or keep the guard (the role reaches what it protects).
    pub(crate) guard: bool,
    /// The guard as read (when `guard`).
    pub(crate) live: LiveGuard,
    /// What the role reaches.
    pub(crate) reach: Reach,
    /// What to tell the user: a privileged namespace, an accepted risk.
    pub(crate) notes: Vec<String>,
}

/// Everything that refuses a grant for containment, all of it in one run (one refusal, or
/// `GrantError::Refused` with each), before anything is written:
/// a ClusterRole that escalates; an existing namespace that admits node-escaping pods when the
/// role makes pods; a more powerful ServiceAccount in the namespace when the role can act as
/// it; the guard that the caller may not install when the role reaches what it protects.
/// `existing` is the namespace as read (`None`: the grant creates it).
/// `rules` are the role's, as [`role_rules`] read them.
pub(crate) async fn judge(
    cluster: &Cluster,
    spec: &GrantSpec,
    rules: Option<&[PolicyRule]>,
    allow: Allowances,
    existing: Option<&Namespace>,
) -> Result<Judgement> {
    let ns = spec.namespace.as_str();
    let mut refusals = Vec::new();
    if let (RoleSource::ClusterRole(name), Some(rules), false) =
        (&spec.role, rules, allow.escalation)
        && let Some(rule) = cluster_role_escalations(name, rules).into_iter().next()
    {
        refusals.push(GrantError::EscalatingClusterRole {
            name: name.clone(),
            rule,
        });
    }
    // A role kscope cannot read is taken to reach everything.
    let reach = match rules {
        Some(rules) => Reach::of(rules),
        None => Reach {
            pods: true,
            other_service_accounts: true,
            namespace: true,
            grant_objects: true,
            endpoints: true,
        },
    };
    let mut notes = Vec::new();
    match existing {
        None if spec.pod_security == PodSecurity::Privileged => notes.push(format!(
            "warning: namespace {ns} is created with {}",
            kscope_core::spec::PRIVILEGED_WARNING
        )),
        None => {}
        Some(namespace) => {
            if reach.pods {
                match host_pods(cluster, ns, None).await? {
                    // Refused by RBAC, the caller's own lack of pod creation says nothing of
                    // what admission would do with the tenant's pods.
                    Admission::Refused { reason, .. }
                        if reason.contains("cannot create resource \"pods\"") =>
                    {
                        if !allow.host_pods {
                            refusals.push(GrantError::HostPodsUnknown {
                                namespace: ns.to_string(),
                                reason,
                            });
                        }
                    }
                    Admission::Refused { .. } => {}
                    // An authorizer or admission webhook that could not decide: unknown.
                    Admission::Unanswered { reason, .. } => {
                        if !allow.host_pods {
                            refusals.push(GrantError::HostPodsUnknown {
                                namespace: ns.to_string(),
                                reason,
                            });
                        }
                    }
                    Admission::Admitted if allow.host_pods => notes.push(format!(
                        "warning: namespace {ns} admits pods that take their node, and the grant can create pods (accepted with --allow-host-pods)"
                    )),
                    Admission::Admitted => refusals.push(GrantError::HostPodsAdmitted {
                        namespace: ns.to_string(),
                        enforced: Enforced::of(namespace.metadata.labels.as_ref()),
                    }),
                }
            }
            if reach.other_service_accounts {
                let stronger = stronger_accounts(cluster, &spec.grant_ref(), rules).await?;
                match stronger.into_iter().next() {
                    None => {}
                    Some(found) if allow.shared_namespace => notes.push(format!(
                        "warning: the grant can act as ServiceAccount {ns}/{}, which holds more through {} (accepted with --allow-shared-namespace)",
                        found.service_account, found.binding
                    )),
                    Some(found) => refusals.push(GrantError::SharedNamespace {
                        namespace: ns.to_string(),
                        service_account: found.service_account,
                        binding: found.binding,
                    }),
                }
            }
        }
    }
    let mut guard = reach.needs_guard();
    let mut live = LiveGuard::default();
    if guard {
        live = LiveGuard::read(cluster, ns).await?;
        // A guard already as kscope makes it needs no write, so no permission to write it.
        let missing = if live.holds(ns) {
            Vec::new()
        } else {
            guard_permissions_missing(cluster).await?
        };
        if !missing.is_empty() {
            if !allow.unguarded {
                refusals.push(GrantError::GuardNotPermitted { missing });
            }
            guard = false;
            notes.push(format!(
                "warning: no guard for namespace {ns} (accepted with --allow-unguarded): the tenant may change its Namespace, kscope's objects of its grant and Endpoints"
            ));
        }
    }
    if let Some(refused) = GrantError::refusal(refusals) {
        return Err(refused.into());
    }
    Ok(Judgement {
        guard,
        live,
        reach,
        notes,
    })
}

/// What was read, or nothing when the caller may not read it.
fn unread<T>(read: Result<Option<T>>) -> Result<Option<T>> {
    match read {
        Err(e) if is_forbidden(&e) => Ok(None),
        other => other,
    }
}

/// The guard's policy and a namespace's binding, as read before a grant.
#[derive(Default)]
pub(crate) struct LiveGuard {
    policy: Option<ValidatingAdmissionPolicy>,
    binding: Option<ValidatingAdmissionPolicyBinding>,
}

impl LiveGuard {
    async fn read(cluster: &Cluster, namespace: &str) -> Result<LiveGuard> {
        let binding_name = guard_binding_name(namespace);
        let (policy, binding) = futures::join!(
            cluster.get_cluster_scoped::<ValidatingAdmissionPolicy>(GUARD_NAME),
            cluster.get_cluster_scoped::<ValidatingAdmissionPolicyBinding>(&binding_name),
        );
        // A caller who may not read the guard is taken to find none: whether it may write it
        // is then asked, and a refusal says what it lacks (beside the grant's other reasons).
        Ok(LiveGuard {
            policy: unread(policy)?,
            binding: unread(binding)?,
        })
    }

    /// Whether both are there as kscope makes them.
    fn holds(&self, namespace: &str) -> bool {
        self.policy
            .as_ref()
            .is_some_and(|p| kscope_core::manifest::covers(p, &guard_policy()))
            && self
                .binding
                .as_ref()
                .is_some_and(|b| kscope_core::manifest::covers(b, &guard_binding(namespace)))
    }
}

/// Would `namespace` admit a pod that takes its node? A dry run as this client: Pod Security
/// labels, the cluster's admission defaults and any policy engine all answer.
pub(crate) async fn host_pods(
    cluster: &Cluster,
    namespace: &str,
    service_account: Option<&str>,
) -> Result<Admission> {
    let pod = node_escaping_pod(namespace, service_account);
    let answer = cluster.try_create(namespace, &pod).await?;
    // The ServiceAccount admission plugin runs before Pod Security: a namespace whose
    // `default` ServiceAccount does not exist yet refuses every pod, which says nothing.
    if let Admission::Refused { reason, .. } = &answer
        && reason.contains("error looking up service account")
    {
        return Err(Error::from(GrantError::HostPodsUnknown {
            namespace: namespace.to_string(),
            reason: reason.clone(),
        }));
    }
    Ok(answer)
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

async fn guard_permissions_missing(cluster: &Cluster) -> Result<Vec<String>> {
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

/// Installs (or restores) the guard's policy and the namespace's binding; under a server dry
/// run, only has the server validate them. Before the grant binds its access, so a tenant is
/// never bound without its guard.
pub(crate) async fn install_guard(
    cluster: &Cluster,
    namespace: &str,
    live: &LiveGuard,
    mode: WriteMode,
) -> Result<Vec<ObjectResult>> {
    let policy = guard_policy();
    let binding = guard_binding(namespace);
    let binding_name = guard_binding_name(namespace);
    let (_, policy_outcome) = cluster
        .apply_cluster_scoped(&policy, live.policy.as_ref(), mode)
        .await?;
    let (_, binding_outcome) = cluster
        .apply_cluster_scoped(&binding, live.binding.as_ref(), mode)
        .await?;
    Ok(vec![
        ObjectResult {
            kind: Kind::ValidatingAdmissionPolicy,
            name: GUARD_NAME.to_string(),
            result: policy_outcome,
        },
        ObjectResult {
            kind: Kind::ValidatingAdmissionPolicyBinding,
            name: binding_name,
            result: binding_outcome,
        },
    ])
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
) -> Result<()> {
    let as_sa = crate::ops::credential::mint(session, grant, MIN_TOKEN_SECONDS).await?;
    let home = grant.namespace.as_str();
    for namespace in std::iter::once(home).chain(also_in.iter().map(String::as_str)) {
        prove_guard_in(&as_sa, grant, namespace, reach).await?;
    }
    Ok(())
}

async fn prove_guard_in(as_sa: &Cluster, grant: &GrantRef, ns: &str, reach: Reach) -> Result<()> {
    let sa = grant.service_account.as_str();
    let home = ns == grant.namespace.as_str();
    let started = std::time::Instant::now();
    loop {
        let answer = if reach.namespace {
            let patch = serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "guard"}}});
            as_sa
                .try_patch_cluster_scoped::<Namespace>(ns, &patch)
                .await?
        } else if reach.grant_objects && home {
            let patch = serde_json::json!({"metadata": {"labels": {MANAGED_BY: null}}});
            as_sa
                .try_patch::<k8s_openapi::api::core::v1::ServiceAccount>(ns, sa, &patch)
                .await?
        } else {
            as_sa.try_create(ns, &endpoints_probe(ns)).await?
        };
        if matches!(answer, Admission::Refused { .. }) {
            return Ok(());
        }
        if started.elapsed() > GUARD_LOAD_TIMEOUT {
            return Err(Error::from(GrantError::GuardNotInForce {
                namespace: ns.to_string(),
                seconds: GUARD_LOAD_TIMEOUT.as_secs(),
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn endpoints_probe(namespace: &str) -> k8s_openapi::api::core::v1::Endpoints {
    k8s_openapi::api::core::v1::Endpoints {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("kscope-endpoints-probe".into()),
            namespace: Some(namespace.to_string()),
            ..Default::default()
        },
        subsets: None,
    }
}

/// A probe's outcome from the server's answer to its dry run: refused only when the refusal
/// proves the path closed; unproven when it was refused for something else, or not answered.
fn probed(path: PathOut, answer: Admission) -> PathProbe {
    let (refused, unproven, reason) = match answer {
        Admission::Admitted => (
            false,
            false,
            "the server would store it (dry run admitted)".to_string(),
        ),
        Admission::Refused { code, reason } if refusal_proves(&path, code, &reason) => {
            (true, false, format!("{code}: {reason}"))
        }
        Admission::Refused { code, reason } => (
            false,
            true,
            format!(
                "{code}: {reason} (not a refusal by RBAC, Pod Security or kscope's guard: the path may be open to a request that avoids it)"
            ),
        ),
        Admission::Unanswered { code, reason } => (
            false,
            true,
            format!("{code}: {reason} (the server could not decide)"),
        ),
    };
    PathProbe {
        path,
        expected: "refused",
        refused,
        unproven,
        reason,
    }
}

/// What `check` proves beside the matrix, as the ServiceAccount (`as_sa`) with dry runs that
/// store nothing: a node-escaping pod, a change to its Namespace's labels, the removal of
/// kscope's label from its own ServiceAccount and RoleBinding, an Endpoints write; and
/// `others`, the ServiceAccounts of the namespace it can act as that hold more than it (read
/// as the caller, see [`others_within_reach`]).
pub(crate) async fn probe(
    as_sa: &Cluster,
    spec: &GrantRef,
    also_in: &[String],
    others: &[Stronger],
) -> Result<Vec<PathProbe>> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let ns = spec.namespace.as_str();
    let sa = spec.service_account.as_str();
    let label_probe = serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "tenant"}}});
    let unlabel = serde_json::json!({"metadata": {"labels": {MANAGED_BY: null}}});
    let endpoints = endpoints_probe(ns);
    let (pod, namespace, account, binding, endpoint) = futures::try_join!(
        host_pods(as_sa, ns, Some(sa)),
        as_sa.try_patch_cluster_scoped::<Namespace>(ns, &label_probe),
        as_sa.try_patch::<ServiceAccount>(ns, sa, &unlabel),
        as_sa.try_patch::<RoleBinding>(ns, sa, &unlabel),
        as_sa.try_create(ns, &endpoints),
    )?;
    let mut probes = vec![
        probed(
            PathOut::HostPod {
                namespace: ns.to_string(),
                home: true,
            },
            pod,
        ),
        probed(
            PathOut::NamespaceRelabel {
                namespace: ns.to_string(),
                home: true,
            },
            namespace,
        ),
        probed(
            PathOut::ServiceAccountUnlabel {
                namespace: ns.to_string(),
                name: sa.to_string(),
            },
            account,
        ),
        probed(
            PathOut::RoleBindingUnlabel {
                namespace: ns.to_string(),
                name: sa.to_string(),
            },
            binding,
        ),
        probed(
            PathOut::EndpointsWrite {
                namespace: ns.to_string(),
            },
            endpoint,
        ),
    ];
    // In each other namespace of the grant: a node-escaping pod, its Namespace, Endpoints.
    for other in also_in {
        let endpoints = endpoints_probe(other);
        let (pod, namespace, endpoint) = futures::try_join!(
            host_pods(as_sa, other, None),
            as_sa.try_patch_cluster_scoped::<Namespace>(other, &label_probe),
            as_sa.try_create(other, &endpoints),
        )?;
        probes.push(probed(
            PathOut::HostPod {
                namespace: other.clone(),
                home: false,
            },
            pod,
        ));
        probes.push(probed(
            PathOut::NamespaceRelabel {
                namespace: other.clone(),
                home: false,
            },
            namespace,
        ));
        probes.push(probed(
            PathOut::EndpointsWrite {
                namespace: other.clone(),
            },
            endpoint,
        ));
    }
    for found in others {
        probes.push(PathProbe {
            path: PathOut::StrongerAccount {
                namespace: found.namespace.clone(),
                service_account: found.service_account.clone(),
            },
            expected: "refused",
            refused: false,
            unproven: false,
            reason: format!(
                "the grant can run pods, mint tokens or read Secrets as it; {} gives it more",
                found.binding
            ),
        });
    }
    Ok(probes)
}

/// The ServiceAccounts of the grant's namespace that a grant with `grant_rules` can act as
/// and that hold more than it; none when its rules cannot act as another ServiceAccount.
pub(crate) async fn others_within_reach(
    caller: &Cluster,
    spec: &GrantRef,
    grant_rules: &[PolicyRule],
) -> Result<Vec<Stronger>> {
    if Reach::of(grant_rules).other_service_accounts {
        stronger_accounts(caller, spec, Some(grant_rules)).await
    } else {
        Ok(Vec::new())
    }
}

/// The enforced Pod Security level of a namespace, read as the caller (`None`: no label, or
/// not readable).
pub(crate) async fn enforced_level(cluster: &Cluster, namespace: &str) -> Option<Enforced> {
    match cluster.get_cluster_scoped::<Namespace>(namespace).await {
        Ok(Some(ns)) => Enforced::of(ns.metadata.labels.as_ref()),
        _ => None,
    }
}
