//! kscope's bounds of a grant's namespaces: its ResourceQuota and LimitRange (the namespace's
//! share of the cluster) and its NetworkPolicy (traffic in only from the grant's own
//! namespaces). Pure builders, applied beside the grant's objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{FIELD_MANAGER, MANAGED_BY, object_yaml};
use crate::invalid::Unrenderable;
use crate::spec::GrantSpec;

/// kscope's ResourceQuota, LimitRange and NetworkPolicy for one namespace of a grant (each
/// absent when the grant opts out).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    pub quota: Option<ResourceQuota>,
    pub limits: Option<LimitRange>,
    pub network: Option<NetworkPolicy>,
}

/// On the ServiceAccount: which of kscope's bounds the grant gives its namespaces (`quota`,
/// `network`, comma-separated; `none`).
pub const BOUNDS_ANNOTATION: &str = "kscope.dev/bounds";

/// The value of [`BOUNDS_ANNOTATION`] for a grant.
pub fn bounds_record(spec: &GrantSpec) -> String {
    let mut given = Vec::new();
    if spec.capacity != crate::spec::Capacity::Unbounded {
        given.push("quota");
    }
    if spec.network != crate::spec::Network::Open {
        given.push("network");
    }
    if spec.always_pull {
        given.push("always-pull");
    }
    if given.is_empty() {
        "none".into()
    } else {
        given.join(",")
    }
}

/// The names of kscope's ResourceQuota, LimitRange and NetworkPolicy in a grant's namespace
/// (one each per namespace, whatever the number of grants there).
pub const QUOTA_NAME: &str = "kscope-quota";
pub const LIMITS_NAME: &str = "kscope-limits";
pub const NETWORK_POLICY_NAME: &str = "kscope-isolation";

/// The hard limits of kscope's ResourceQuota before a grant's overrides: enough for a team's
/// services, far from a whole cluster.
pub fn default_quota() -> BTreeMap<String, String> {
    [
        ("requests.cpu", "4"),
        ("requests.memory", "8Gi"),
        ("limits.cpu", "8"),
        ("limits.memory", "16Gi"),
        ("requests.ephemeral-storage", "20Gi"),
        ("limits.ephemeral-storage", "40Gi"),
        ("requests.storage", "100Gi"),
        ("persistentvolumeclaims", "10"),
        ("pods", "50"),
        ("services", "20"),
        ("secrets", "100"),
        ("configmaps", "100"),
        ("replicationcontrollers", "20"),
        ("count/deployments.apps", "50"),
        ("count/statefulsets.apps", "20"),
        ("count/jobs.batch", "50"),
        ("count/cronjobs.batch", "20"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// What the API server enforces of one namespace's ResourceQuotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaHold {
    /// The namespace has no ResourceQuota.
    None,
    /// This quota is in force as written.
    Enforced(String),
    /// None is in force as written: each quota, with the limits not (yet) recorded (empty:
    /// none of them is).
    Unenforced(Vec<(String, Vec<String>)>),
}

/// What the API server enforces of a namespace's ResourceQuotas (`quotas`, all of one
/// namespace).
pub fn quota_hold<'a>(quotas: impl IntoIterator<Item = &'a ResourceQuota>) -> QuotaHold {
    let mut waiting = Vec::new();
    for quota in quotas {
        let name = quota.metadata.name.clone().unwrap_or_default();
        let mut missing = unenforced(quota);
        if missing.is_empty() {
            return QuotaHold::Enforced(name);
        }
        let recorded = quota.status.as_ref().and_then(|s| s.hard.as_ref());
        if recorded.is_none_or(|r| r.is_empty()) {
            missing.clear();
        }
        waiting.push((name, missing));
    }
    match waiting.is_empty() {
        true => QuotaHold::None,
        false => QuotaHold::Unenforced(waiting),
    }
}

/// The hard limits of a ResourceQuota that the API server does not enforce yet, by name.
///
/// Quota admission reads `status.hard`, which a resource quota controller (one of
/// kube-controller-manager's) copies from `spec.hard`: a limit not there, or there at another
/// value, is not (yet) the one in force. Empty: the quota holds as written.
fn unenforced(quota: &ResourceQuota) -> Vec<String> {
    let wanted = quota.spec.as_ref().and_then(|s| s.hard.as_ref());
    let recorded = quota.status.as_ref().and_then(|s| s.hard.as_ref());
    wanted
        .into_iter()
        .flatten()
        .filter(|(name, value)| recorded.and_then(|r| r.get(*name)) != Some(*value))
        .map(|(name, _)| name.clone())
        .collect()
}

/// kscope's objects that bound one namespace of a grant.
pub fn bounds(spec: &GrantSpec, namespace: &str) -> Bounds {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(BTreeMap::from([(
            MANAGED_BY.to_string(),
            FIELD_MANAGER.to_string(),
        )])),
        ..Default::default()
    };
    let quantities = |pairs: &[(&str, &str)]| -> BTreeMap<String, Quantity> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
            .collect()
    };
    let (quota, limits) = match &spec.capacity {
        crate::spec::Capacity::Unbounded => (None, None),
        crate::spec::Capacity::Bounded(overrides) => {
            let mut hard = default_quota();
            hard.extend(overrides.clone());
            let quota = ResourceQuota {
                metadata: meta(QUOTA_NAME),
                spec: Some(ResourceQuotaSpec {
                    hard: Some(hard.into_iter().map(|(k, v)| (k, Quantity(v))).collect()),
                    ..Default::default()
                }),
                status: None,
            };
            let limits = LimitRange {
                metadata: meta(LIMITS_NAME),
                spec: Some(LimitRangeSpec {
                    limits: vec![LimitRangeItem {
                        type_: "Container".into(),
                        default: Some(quantities(&[("cpu", "500m"), ("memory", "512Mi")])),
                        default_request: Some(quantities(&[("cpu", "100m"), ("memory", "128Mi")])),
                        ..Default::default()
                    }],
                }),
            };
            (Some(quota), Some(limits))
        }
    };
    let network = (spec.network != crate::spec::Network::Open).then(|| {
        let mut own: Vec<String> = vec![spec.namespace.to_string()];
        own.extend(spec.also_in.iter().map(|n| n.to_string()));
        let own_namespaces = NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "kubernetes.io/metadata.name".into(),
                    operator: "In".into(),
                    values: Some(own),
                }]),
                match_labels: None,
            }),
            ..Default::default()
        };
        let egress = spec.network == crate::spec::Network::IsolatedEgress;
        let dns = NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        "kubernetes.io/metadata.name".to_string(),
                        "kube-system".to_string(),
                    )])),
                    match_expressions: None,
                }),
                ..Default::default()
            }]),
            ports: Some(
                ["UDP", "TCP"]
                    .into_iter()
                    .map(|protocol| NetworkPolicyPort {
                        port: Some(IntOrString::Int(53)),
                        protocol: Some(protocol.into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        };
        NetworkPolicy {
            metadata: meta(NETWORK_POLICY_NAME),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(if egress {
                    vec!["Ingress".into(), "Egress".into()]
                } else {
                    vec!["Ingress".into()]
                }),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![own_namespaces.clone()]),
                    ports: None,
                }]),
                egress: egress.then(|| {
                    vec![
                        NetworkPolicyEgressRule {
                            to: Some(vec![own_namespaces]),
                            ports: None,
                        },
                        dns,
                    ]
                }),
            }),
        }
    });
    Bounds {
        quota,
        limits,
        network,
    }
}

pub(super) fn bounds_yaml(bounds: &Bounds) -> Result<Vec<String>, Unrenderable> {
    let mut docs = Vec::new();
    if let Some(quota) = &bounds.quota {
        docs.push(object_yaml(quota)?);
    }
    if let Some(limits) = &bounds.limits {
        docs.push(object_yaml(limits)?);
    }
    if let Some(network) = &bounds.network {
        docs.push(object_yaml(network)?);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ResourceQuotaSpec, ResourceQuotaStatus};

    fn quota(spec: &[(&str, &str)], status: Option<&[(&str, &str)]>) -> ResourceQuota {
        let hard = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect::<BTreeMap<_, _>>()
        };
        ResourceQuota {
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard(spec)),
                ..Default::default()
            }),
            status: status.map(|s| ResourceQuotaStatus {
                hard: Some(hard(s)),
                used: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_quota_no_controller_has_recorded_is_not_enforced() {
        let fresh = quota(&[("pods", "50"), ("requests.cpu", "4")], None);
        assert_eq!(unenforced(&fresh), vec!["pods", "requests.cpu"]);
        let empty = quota(&[("pods", "50")], Some(&[]));
        assert_eq!(unenforced(&empty), vec!["pods"]);
    }

    #[test]
    fn a_recorded_quota_is_enforced_and_a_changed_limit_waits_for_its_record() {
        let recorded = quota(
            &[("pods", "50"), ("services", "20")],
            Some(&[("pods", "50"), ("services", "20")]),
        );
        assert!(unenforced(&recorded).is_empty());
        let raised = quota(
            &[("pods", "80"), ("services", "20")],
            Some(&[("pods", "50"), ("services", "20")]),
        );
        assert_eq!(unenforced(&raised), vec!["pods"]);
        let added = quota(&[("pods", "50"), ("secrets", "9")], Some(&[("pods", "50")]));
        assert_eq!(unenforced(&added), vec!["secrets"]);
    }

    #[test]
    fn a_namespace_is_held_by_any_quota_in_force() {
        let named = |name: &str, mut q: ResourceQuota| {
            q.metadata.name = Some(name.to_string());
            q
        };
        let fresh = named("fresh", quota(&[("pods", "5")], None));
        let raised = named("raised", quota(&[("pods", "8")], Some(&[("pods", "5")])));
        let held = named("held", quota(&[("pods", "5")], Some(&[("pods", "5")])));
        assert_eq!(quota_hold([]), QuotaHold::None);
        assert_eq!(
            quota_hold([&fresh, &raised]),
            QuotaHold::Unenforced(vec![
                ("fresh".into(), vec![]),
                ("raised".into(), vec!["pods".into()])
            ])
        );
        assert_eq!(
            quota_hold([&fresh, &held]),
            QuotaHold::Enforced("held".into())
        );
    }
}
