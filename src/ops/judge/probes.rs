//! What `check` tries as the ServiceAccount beside the matrix: each path out of the namespace
//! as a dry run that stores nothing, and kscope's bounds of each namespace of the grant.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::RoleBinding;

use super::{Stronger, guard::endpoints_probe, host_pods};
use crate::cluster::{Admission, Cluster, is_forbidden};
use crate::error::Result;
use kscope_core::access::{PathOut, PathProbe};
use kscope_core::containment::{reaching_service, refusal_proves};
use kscope_core::manifest::{Kind, MANAGED_BY};
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
/// kscope's label from its own ServiceAccount and RoleBinding, an Endpoints write, a Service of
/// each kind that reaches outside (but those its grant opens, `opened`); and
/// `others`, the ServiceAccounts of the namespace it can act as that hold more than it (read
/// as the caller, see [`others_within_reach`]).
pub(crate) async fn probe(
    as_sa: &Cluster,
    spec: &GrantRef,
    also_in: &[String],
    others: &[Stronger],
    opened: &[Opening],
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
    // A Service of each kind that reaches outside, in each namespace of the grant, unless the
    // grant opens it.
    for namespace in std::iter::once(ns).chain(also_in.iter().map(String::as_str)) {
        let closed: Vec<Opening> = Opening::ALL
            .into_iter()
            .filter(|o| !opened.contains(o))
            .collect();
        let services: Vec<_> = closed
            .iter()
            .map(|o| reaching_service(namespace, *o))
            .collect();
        let answers = futures::future::try_join_all(
            services
                .iter()
                .map(|service| as_sa.try_create(namespace, service)),
        )
        .await?;
        for (opening, answer) in closed.into_iter().zip(answers) {
            probes.push(probed(
                PathOut::ReachingService {
                    namespace: namespace.to_string(),
                    opening,
                },
                answer,
            ));
        }
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

/// kscope's bounds of each namespace of a grant, as `check` proves them: present (read as the
/// caller: kscope's ResourceQuota and LimitRange unless the grant gave none, its NetworkPolicy
/// unless `--network open`; an admin's own counts as present), and not writable by the tenant
/// (a label change of each, as a dry run as the ServiceAccount, must be refused).
pub(crate) async fn bounds_probes(
    caller: &Cluster,
    as_sa: &Cluster,
    namespaces: &[String],
    given: Given,
) -> Result<Vec<PathProbe>> {
    use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let mut probes = Vec::new();
    for ns in namespaces {
        let read = futures::try_join!(
            caller.list_in::<ResourceQuota>(ns),
            caller.list_in::<LimitRange>(ns),
            caller.list_in::<NetworkPolicy>(ns),
        );
        let (quotas, limits, policies) = match read {
            Ok(read) => read,
            Err(e) if is_forbidden(&e) => {
                for kind in given.kinds() {
                    probes.push(PathProbe {
                        path: PathOut::BoundMissing {
                            namespace: ns.clone(),
                            kind,
                        },
                        expected: "refused",
                        refused: false,
                        unproven: true,
                        reason: "you may not list the namespace's quotas, limit ranges and network policies".into(),
                    });
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let names = |metas: Vec<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>| {
            metas
                .into_iter()
                .filter_map(|m| m.name.clone())
                .collect::<Vec<_>>()
        };
        let present = [
            (
                Kind::ResourceQuota,
                names(quotas.iter().map(|q| &q.metadata).collect()),
            ),
            (
                Kind::LimitRange,
                names(limits.iter().map(|l| &l.metadata).collect()),
            ),
            (
                Kind::NetworkPolicy,
                names(policies.iter().map(|p| &p.metadata).collect()),
            ),
        ];
        let change = serde_json::json!({"metadata": {"labels": {"kscope.dev/probe": "tenant"}}});
        for (kind, found) in present {
            if !given.kinds().contains(&kind) {
                continue;
            }
            let Some(first) = found.first() else {
                probes.push(PathProbe {
                    path: PathOut::BoundMissing {
                        namespace: ns.clone(),
                        kind,
                    },
                    expected: "refused",
                    refused: false,
                    unproven: false,
                    reason: format!(
                        "the namespace has no {kind}: run kscope grant again to give it kscope's"
                    ),
                });
                continue;
            };
            let answer = match kind {
                Kind::ResourceQuota => as_sa.try_patch::<ResourceQuota>(ns, first, &change).await?,
                Kind::LimitRange => as_sa.try_patch::<LimitRange>(ns, first, &change).await?,
                _ => as_sa.try_patch::<NetworkPolicy>(ns, first, &change).await?,
            };
            probes.push(probed(
                PathOut::BoundWrite {
                    namespace: ns.clone(),
                    kind,
                },
                answer,
            ));
        }
    }
    Ok(probes)
}

/// Which of kscope's bounds a grant gives its namespaces, as its ServiceAccount records them
/// (`kscope.dev/bounds`; a grant without the record is held to all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Given {
    pub(crate) quota: bool,
    pub(crate) network: bool,
}

impl Given {
    pub(crate) fn of_record(record: Option<&str>) -> Given {
        match record {
            None => Given {
                quota: true,
                network: true,
            },
            Some(text) => Given {
                quota: text.split(',').any(|t| t == "quota"),
                network: text.split(',').any(|t| t == "network"),
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
