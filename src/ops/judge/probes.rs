//! What `check` tries as the ServiceAccount beside the matrix: each path out of the namespace
//! as a dry run that stores nothing, and kscope's bounds of each namespace of the grant.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleBinding};

use super::{Stronger, guard::endpoints_probe, host_pods};
use crate::cluster::{Admission, Cluster, is_forbidden};
use crate::error::Result;
use kscope_core::access::{PathOut, PathProbe};
use kscope_core::access::{
    named_volume_claim, outside_binding, reaching_service, system_priority_pod,
};
use kscope_core::containment::refusal_proves;
use kscope_core::manifest::{Kind, MANAGED_BY, QuotaHold};
use kscope_core::object::BoundRole;
use kscope_core::rules::Permission;
use kscope_core::spec::{GrantRef, GrantSpec, Opening};

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
/// kscope's label from its own ServiceAccount, a change to its own RoleBinding (a finalizer:
/// RBAC's escalation check, which reads every binding from storage for any other change of a
/// binding, passes such a change at once; the label's removal is proven on the
/// ServiceAccount, under the same rule of the guard), an Endpoints write, a Service of
/// each kind that reaches outside (but those its grant opens, `opened`), a pod of the system's
/// own priority, a claim that names a PersistentVolume, a binding of its
/// `role` to every authenticated user in each namespace of the grant; and
/// `others`, the ServiceAccounts of the namespace it can act as that hold more than it (read
/// as the caller, see [`others_within_reach`]).
pub(crate) async fn probe(
    as_sa: &Cluster,
    spec: &GrantRef,
    also_in: &[String],
    others: &[Stronger],
    opened: &[Opening],
    role: &BoundRole,
) -> Result<Vec<PathProbe>> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let ns = spec.namespace.as_str();
    let sa = spec.service_account.as_str();
    let label_probe = serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "tenant"}}});
    let unlabel = serde_json::json!({"metadata": {"labels": {MANAGED_BY: null}}});
    let finalizer = serde_json::json!({"metadata": {"finalizers": ["kscope.dev/probe"]}});
    let endpoints = endpoints_probe(ns);
    // The namespaces of the grant, home first.
    let namespaces: Vec<&str> = std::iter::once(ns)
        .chain(also_in.iter().map(String::as_str))
        .collect();
    // A Service of each kind that reaches outside, in each namespace of the grant, unless the
    // grant opens it: asked with the home namespace's probes.
    let closed: Vec<Opening> = Opening::ALL
        .into_iter()
        .filter(|o| !opened.contains(o))
        .collect();
    let services: Vec<(&str, Opening, _)> = namespaces
        .iter()
        .flat_map(|&namespace| {
            closed
                .iter()
                .map(move |o| (namespace, *o, reaching_service(namespace, *o)))
        })
        .collect();
    let service_answers = futures::future::try_join_all(
        services
            .iter()
            .map(|(namespace, _, service)| as_sa.try_create(namespace, service)),
    );
    // A binding of the grant's own role to every authenticated user, in each namespace of
    // the grant: RBAC's escalation check passes it (the tenant holds the role), the guard must
    // refuse it.
    let outside: Vec<RoleBinding> = namespaces
        .iter()
        .map(|namespace| outside_binding(namespace, role))
        .collect();
    let outside_answers = futures::future::try_join_all(
        namespaces
            .iter()
            .zip(&outside)
            .map(|(namespace, binding)| as_sa.try_create(namespace, binding)),
    );
    let priority_pod = system_priority_pod(ns, sa);
    let volume_claim = named_volume_claim(ns);
    let (
        pod,
        namespace,
        account,
        binding,
        endpoint,
        (service_answers, outside_answers, priority, volume),
    ) = futures::try_join!(
        host_pods(as_sa, ns, Some(sa)),
        as_sa.try_patch_cluster_scoped::<Namespace>(ns, &label_probe),
        as_sa.try_patch::<ServiceAccount>(ns, sa, &unlabel),
        as_sa.try_patch::<RoleBinding>(ns, sa, &finalizer),
        as_sa.try_create(ns, &endpoints),
        futures::future::try_join4(
            service_answers,
            outside_answers,
            as_sa.try_create(ns, &priority_pod),
            as_sa.try_create(ns, &volume_claim),
        ),
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
            PathOut::RoleBindingChange {
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
        probed(
            PathOut::SystemPriority {
                namespace: ns.to_string(),
            },
            priority,
        ),
        probed(
            PathOut::NamedVolume {
                namespace: ns.to_string(),
            },
            volume,
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
    for ((namespace, opening, _), answer) in services.iter().zip(service_answers) {
        probes.push(probed(
            PathOut::ReachingService {
                namespace: namespace.to_string(),
                opening: *opening,
            },
            answer,
        ));
    }
    for (namespace, answer) in namespaces.iter().zip(outside_answers) {
        probes.push(probed(
            PathOut::OutsideBinding {
                namespace: namespace.to_string(),
            },
            answer,
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

/// kscope's bounds of each namespace of a grant, as `check` proves them: not writable by the
/// tenant (a label change of kscope's ResourceQuota, LimitRange and NetworkPolicy, each as a
/// dry run as the ServiceAccount, must be refused), and present: where kscope's is not there
/// (the dry run answers 404), the caller lists that kind, and an admin's own counts (its change
/// is tried instead). Nothing is asked of what the grant opted out of (`given`).
///
/// `rules` (the grant's, as kscope gave them) only schedule the reads: where they do not let
/// the tenant change a kind, RBAC is expected to refuse it, and the caller's list that then
/// shows what is there is read beside the dry run rather than after it.
pub(crate) async fn bounds_probes(
    caller: &Cluster,
    as_sa: &Cluster,
    grant: &GrantRef,
    namespaces: &[String],
    given: Given,
    rules: &[PolicyRule],
) -> Result<Vec<PathProbe>> {
    let mut asked = Vec::new();
    for ns in namespaces {
        for kind in given.kinds() {
            asked.push((ns.as_str(), kind));
        }
    }
    // A grant made with --always-pull: a pod that may use a node's cached image, as a dry run
    // by the caller (controllers make pods too), must be refused by kscope's policy.
    let pulled = namespaces
        .iter()
        .filter(|_| given.always_pull)
        .map(|ns| async move {
            let answer =
                super::pulls::try_cached_image(caller, ns, grant.service_account.as_str()).await?;
            Ok::<_, crate::error::Error>(probed(
                PathOut::CachedImage {
                    namespace: ns.clone(),
                },
                answer,
            ))
        });
    let (found, pulled) = futures::try_join!(
        futures::future::try_join_all(
            asked
                .iter()
                .map(|(ns, kind)| bound_probe(caller, as_sa, ns, *kind, rules)),
        ),
        futures::future::try_join_all(pulled),
    )?;
    let mut found: Vec<PathProbe> = found.into_iter().flatten().collect();
    found.extend(pulled);
    Ok(found)
}

/// How long `check` waits for a resource quota controller to record a quota it finds
/// unrecorded (a quota written moments before, by the grant just made).
pub(crate) const QUOTA_RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// One of kscope's bounds of `ns`, as [`bounds_probes`] proves it; for the quota, also whether
/// the API server enforces one ([`in_force`]), from the same list of the namespace's quotas.
async fn bound_probe(
    caller: &Cluster,
    as_sa: &Cluster,
    ns: &str,
    kind: Kind,
    rules: &[PolicyRule],
) -> Result<Vec<PathProbe>> {
    use kscope_core::manifest::{LIMITS_NAME, NETWORK_POLICY_NAME, QUOTA_NAME};
    let (ours, group, resource) = match kind {
        Kind::ResourceQuota => (QUOTA_NAME, "", "resourcequotas"),
        Kind::LimitRange => (LIMITS_NAME, "", "limitranges"),
        _ => (NETWORK_POLICY_NAME, "networking.k8s.io", "networkpolicies"),
    };
    // The quotas are always listed, beside the dry run: their list says what is there and
    // what is in force.
    if kind == Kind::ResourceQuota {
        let (changed, quotas) = futures::join!(
            change(as_sa, ns, kind, ours),
            caller.quota_state(ns, QUOTA_RECORD_WAIT)
        );
        let (names, enforced) = match quotas {
            Ok((hold, quotas)) => (
                Ok(quotas.into_iter().filter_map(|q| q.metadata.name).collect()),
                in_force(ns, Some(hold)),
            ),
            Err(e) if is_forbidden(&e) => (Err(e), in_force(ns, None)),
            Err(e) => return Err(e),
        };
        let written = judged(caller, as_sa, ns, kind, changed, Some(names)).await?;
        return Ok([written].into_iter().chain(enforced).collect());
    }
    let unchangeable =
        !kscope_core::rules::allows(rules, &Permission::new(group, resource, "patch"));
    let (changed, early) = match unchangeable {
        true => {
            let (changed, names) =
                futures::join!(change(as_sa, ns, kind, ours), listed(caller, ns, kind));
            (changed, Some(names))
        }
        false => (change(as_sa, ns, kind, ours).await, None),
    };
    Ok(vec![judged(caller, as_sa, ns, kind, changed, early).await?])
}

/// Whether the API server enforces a ResourceQuota of `ns`, from what the caller listed
/// (`None`: it may not list them): refused when one is in force as written, open when quotas
/// exist that none enforces (after waiting [`QUOTA_RECORD_WAIT`] for the controller),
/// unproven when the caller may not list them. Nothing where the namespace has no quota (its
/// `quota-missing` probe says so).
fn in_force(ns: &str, hold: Option<QuotaHold>) -> Option<PathProbe> {
    let probe = |refused: bool, unproven: bool, reason: String| PathProbe {
        path: PathOut::QuotaUnenforced {
            namespace: ns.to_string(),
        },
        expected: "refused",
        refused,
        unproven,
        reason,
    };
    let Some(hold) = hold else {
        return Some(probe(
            false,
            true,
            "you may not list the namespace's ResourceQuotas, so whether the API server enforces one is not known".into(),
        ));
    };
    match hold {
        QuotaHold::None => None,
        QuotaHold::Enforced(name) => Some(probe(
            true,
            false,
            format!(
                "ResourceQuota {ns}/{name} is in force: its limits are recorded in its status, which quota admission reads"
            ),
        )),
        QuotaHold::Unenforced(quotas) => Some(probe(
            false,
            false,
            format!(
                "no ResourceQuota of {ns} is in force after {}s ({}): quota admission reads the limits a resource quota controller records in status.hard; is kube-controller-manager's resourcequota controller running?",
                QUOTA_RECORD_WAIT.as_secs(),
                quotas
                    .iter()
                    .map(|(name, missing)| match missing.is_empty() {
                        true => format!("{name}: none of its limits recorded"),
                        false => format!("{name}: {} not recorded", missing.join(", ")),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
    }
}

/// A bound's probe from the tenant's dry-run change of kscope's object (`changed`) and, where
/// already read, the names of the namespace's objects of that kind (`early`; else listed here
/// when needed): where kscope's is not there, an admin's own counts and its change is tried.
async fn judged(
    caller: &Cluster,
    as_sa: &Cluster,
    ns: &str,
    kind: Kind,
    changed: Result<Admission>,
    early: Option<Result<Vec<String>>>,
) -> Result<PathProbe> {
    let write = PathOut::BoundWrite {
        namespace: ns.to_string(),
        kind,
    };
    let rbac_answer = match changed {
        // The guard refused the change: kscope's object is there (admission saw it).
        Ok(answer @ Admission::Refused { .. }) if !rbac_refused(&answer) => {
            return Ok(probed(write, answer));
        }
        // Admitted: open, whatever else is there.
        Ok(Admission::Admitted) => return Ok(probed(write, Admission::Admitted)),
        // RBAC refused the tenant before looking: that says nothing of whether it is there.
        Ok(answer) => Some(answer),
        Err(crate::error::Error::Api { source, .. }) if crate::error::is_status(&source, 404) => {
            None
        }
        Err(e) => return Err(e),
    };
    let names = match early {
        Some(names) => names,
        None => listed(caller, ns, kind).await,
    };
    if let Some(answer) = rbac_answer
        && names.as_ref().is_ok_and(|names| !names.is_empty())
    {
        return Ok(probed(write, answer));
    }
    // Not kscope's: an admin's own counts, and is tried instead.
    let missing = |unproven: bool, reason: String| PathProbe {
        path: PathOut::BoundMissing {
            namespace: ns.to_string(),
            kind,
        },
        expected: "refused",
        refused: false,
        unproven,
        reason,
    };
    let names = match names {
        Ok(names) => names,
        Err(e) if is_forbidden(&e) => {
            return Ok(missing(
                true,
                format!(
                    "kscope's {kind} is not there, and you may not list the namespace's others"
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    match names.first() {
        Some(theirs) => Ok(probed(write, change(as_sa, ns, kind, theirs).await?)),
        None => Ok(missing(
            false,
            format!("the namespace has no {kind}: run kscope grant again to give it kscope's"),
        )),
    }
}

/// Whether a dry run was refused by RBAC (the tenant may not write that kind at all).
fn rbac_refused(answer: &Admission) -> bool {
    matches!(answer, Admission::Refused { code: 403, reason }
        if reason.contains("User \"") && reason.contains("\" cannot "))
}

/// A label change of the object of `kind` named `name`, as a dry run as the tenant.
async fn change(as_sa: &Cluster, ns: &str, kind: Kind, name: &str) -> Result<Admission> {
    use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let change = serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "tenant"}}});
    match kind {
        Kind::ResourceQuota => as_sa.try_patch::<ResourceQuota>(ns, name, &change).await,
        Kind::LimitRange => as_sa.try_patch::<LimitRange>(ns, name, &change).await,
        _ => as_sa.try_patch::<NetworkPolicy>(ns, name, &change).await,
    }
}

/// The names of the objects of `kind` in `ns`, as the caller lists them.
async fn listed(caller: &Cluster, ns: &str, kind: Kind) -> Result<Vec<String>> {
    use k8s_openapi::api::core::v1::LimitRange;
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    // ResourceQuotas are listed by `Cluster::quota_state`, which also says what is in force.
    let metas = match kind {
        Kind::LimitRange => caller
            .list_in::<LimitRange>(ns)
            .await?
            .into_iter()
            .map(|o| o.metadata)
            .collect::<Vec<_>>(),
        _ => caller
            .list_in::<NetworkPolicy>(ns)
            .await?
            .into_iter()
            .map(|o| o.metadata)
            .collect(),
    };
    Ok(metas.into_iter().filter_map(|m| m.name).collect())
}

/// Which of kscope's bounds a grant gives its namespaces, as its ServiceAccount records them
/// (`kscope.dev/bounds`; a grant without the record is held to all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Given {
    pub(crate) quota: bool,
    pub(crate) network: bool,
    /// kscope's always-pull policy (`--always-pull`; never assumed without the record).
    pub(crate) always_pull: bool,
}

impl Given {
    pub(crate) fn of_record(record: Option<&str>) -> Given {
        match record {
            None => Given {
                quota: true,
                network: true,
                always_pull: false,
            },
            Some(text) => Given {
                quota: text.split(',').any(|t| t == "quota"),
                network: text.split(',').any(|t| t == "network"),
                always_pull: text.split(',').any(|t| t == "always-pull"),
            },
        }
    }

    pub(crate) fn of_spec(spec: &GrantSpec) -> Given {
        Given::of_record(Some(&kscope_core::manifest::bounds_record(spec)))
    }

    fn kinds(self) -> Vec<Kind> {
        let mut kinds = Vec::new();
        if self.quota {
            kinds.extend([Kind::ResourceQuota, Kind::LimitRange]);
        }
        if self.network {
            kinds.push(Kind::NetworkPolicy);
        }
        kinds
    }
}
