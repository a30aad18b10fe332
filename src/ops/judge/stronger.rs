//! The other ServiceAccounts of a grant's namespace that hold more than the grant: a role
//! that can run pods, mint tokens or read Secrets there can act as them. Read as the caller,
//! from bindings reduced to what the analysis needs, so that `check -f` reads them once for a
//! whole TenantSet and keeps little of them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use serde::Serialize;

use crate::cluster::{Cluster, is_forbidden};
use crate::error::Result;
use kscope_core::rules;
use kscope_core::spec::GrantRef;

/// Another ServiceAccount of a grant's namespace that holds more than the grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stronger {
    /// The namespace both ServiceAccounts are reached in.
    pub(crate) namespace: String,
    pub(crate) service_account: String,
    /// `RoleBinding ns/name (ClusterRole edit)` or `ClusterRoleBinding name (…)`.
    pub(crate) binding: String,
}

/// A RoleBinding or ClusterRoleBinding as the analysis reads it: how it is named in words,
/// the role it binds, and the ServiceAccounts among its subjects as (namespace, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bound {
    pub(crate) shown: String,
    pub(crate) role_kind: String,
    pub(crate) role_name: String,
    pub(crate) accounts: Vec<(String, String)>,
}

impl Bound {
    pub(crate) fn of_role_binding(binding: &RoleBinding) -> Bound {
        let namespace = binding.metadata.namespace.as_deref().unwrap_or_default();
        let name = binding.metadata.name.as_deref().unwrap_or_default();
        Bound::new(
            format!("RoleBinding {namespace}/{name}"),
            binding.subjects.as_deref(),
            &binding.role_ref,
        )
    }

    pub(crate) fn of_cluster_binding(binding: &ClusterRoleBinding) -> Bound {
        let name = binding.metadata.name.as_deref().unwrap_or_default();
        Bound::new(
            format!("ClusterRoleBinding {name}"),
            binding.subjects.as_deref(),
            &binding.role_ref,
        )
    }

    fn new(shown: String, subjects: Option<&[Subject]>, role_ref: &RoleRef) -> Bound {
        Bound {
            shown,
            role_kind: role_ref.kind.clone(),
            role_name: role_ref.name.clone(),
            accounts: subjects
                .into_iter()
                .flatten()
                .filter(|s| s.kind == "ServiceAccount")
                .map(|s| (s.namespace.clone().unwrap_or_default(), s.name.clone()))
                .collect(),
        }
    }
}

/// The rules of the Roles and ClusterRoles the analysis needs, each read at most once per
/// run (`None`: the caller may not read it, which counts as more than any grant).
pub(crate) struct RoleRules {
    cluster: Cluster,
    read: Mutex<Known>,
}

/// What [`RoleRules`] has read: each role's rules, and each distinct set of rules once (a
/// fleet's thousands of Roles made from one template share one copy).
#[derive(Default)]
struct Known {
    roles: HashMap<RoleKey, Option<Rules>>,
    distinct: HashMap<String, Rules>,
}

type Rules = Arc<Vec<PolicyRule>>;

/// (namespace, or empty for a ClusterRole; kind; name)
type RoleKey = (String, String, String);

impl RoleRules {
    pub(crate) fn new(cluster: &Cluster) -> RoleRules {
        RoleRules {
            cluster: cluster.clone(),
            read: Mutex::new(Known::default()),
        }
    }

    /// Records a Role read elsewhere (a page of a list), so that it is not read again.
    pub(crate) fn seed(&self, namespace: &str, name: &str, rules: Vec<PolicyRule>) {
        self.remember(
            (namespace.to_string(), "Role".to_string(), name.to_string()),
            Some(rules),
        );
    }

    /// The rules of `kind` (`Role` in `namespace`, or `ClusterRole`) `name`.
    async fn of(&self, namespace: &str, kind: &str, name: &str) -> Result<Option<Rules>> {
        let scope = if kind == "Role" { namespace } else { "" };
        let key = (scope.to_string(), kind.to_string(), name.to_string());
        if let Some(known) = self.known(&key) {
            return Ok(known);
        }
        let found = if kind == "Role" {
            self.cluster
                .get::<Role>(namespace, name)
                .await
                .map(|r| r.map(|r| r.rules))
        } else {
            self.cluster
                .get_cluster_scoped::<ClusterRole>(name)
                .await
                .map(|r| r.map(|r| r.rules))
        };
        let rules = match found {
            Ok(rules) => Some(rules.flatten().unwrap_or_default()),
            Err(e) if is_forbidden(&e) => None,
            Err(e) => return Err(e),
        };
        Ok(self.remember(key, rules))
    }

    fn known(&self, key: &RoleKey) -> Option<Option<Rules>> {
        self.read.lock().ok()?.roles.get(key).cloned()
    }

    fn remember(&self, key: RoleKey, rules: Option<Vec<PolicyRule>>) -> Option<Rules> {
        let Ok(mut known) = self.read.lock() else {
            return rules.map(Arc::new);
        };
        let shared = rules.map(|rules| {
            let text = serde_json::to_string(&rules).unwrap_or_default();
            known
                .distinct
                .entry(text)
                .or_insert_with(|| Arc::new(rules))
                .clone()
        });
        known.roles.insert(key, shared.clone());
        shared
    }
}

/// The ServiceAccounts of the grant's namespace (other than its own) that a binding gives
/// rules the grant does not hold: what the grant becomes by acting as them. Read as the
/// caller; what the caller may not list is left out.
/// `cluster_bindings`: every ClusterRoleBinding, when a set has read them once for all its
/// tenants; otherwise they are listed here.
pub(crate) async fn stronger_accounts(
    cluster: &Cluster,
    spec: &GrantRef,
    grant_rules: Option<&[PolicyRule]>,
    cluster_bindings: Option<&[Bound]>,
) -> Result<Vec<Stronger>> {
    let read = NamespaceBindings::read(cluster, spec.namespace.as_str(), cluster_bindings).await;
    read.stronger(cluster, spec, grant_rules).await
}

/// Every ClusterRoleBinding as the analysis reads it, as the caller.
pub(crate) async fn cluster_bindings(cluster: &Cluster) -> Result<Vec<Bound>> {
    Ok(cluster
        .list_all::<ClusterRoleBinding>(None)
        .await?
        .iter()
        .map(Bound::of_cluster_binding)
        .collect())
}

/// What the stronger-account judgement of one namespace reads, as read: its RoleBindings and
/// Roles, and every ClusterRoleBinding. `check` reads them while it reads the grant, before it
/// knows whether the grant's rules reach other ServiceAccounts at all.
pub(crate) struct NamespaceBindings {
    role_bindings: Result<Vec<RoleBinding>>,
    cluster_bindings: Result<Vec<Bound>>,
    // The namespace's Roles in one list rather than one read per binding: a namespace of
    // many tenants names many Roles (a set's tenant read each of them, one by one).
    roles: Result<Vec<Role>>,
}

impl NamespaceBindings {
    /// The three lists, at once, as the caller (the ClusterRoleBindings unless `known`).
    pub(crate) async fn read(
        cluster: &Cluster,
        ns: &str,
        known: Option<&[Bound]>,
    ) -> NamespaceBindings {
        let (role_bindings, cluster_bindings, roles) = futures::join!(
            cluster.list_in::<RoleBinding>(ns),
            async {
                match known {
                    Some(known) => Ok(known.to_vec()),
                    None => cluster_bindings(cluster).await,
                }
            },
            cluster.list_in::<Role>(ns),
        );
        NamespaceBindings {
            role_bindings,
            cluster_bindings,
            roles,
        }
    }

    /// Lists read before (by an earlier tenant of a set), with the ClusterRoleBindings.
    pub(crate) fn known(
        role_bindings: Vec<RoleBinding>,
        roles: Vec<Role>,
        cluster_bindings: &[Bound],
    ) -> NamespaceBindings {
        NamespaceBindings {
            role_bindings: Ok(role_bindings),
            cluster_bindings: Ok(cluster_bindings.to_vec()),
            roles: Ok(roles),
        }
    }

    /// The namespace's RoleBindings and Roles, when both were read.
    pub(crate) fn lists(&self) -> Option<(Vec<RoleBinding>, Vec<Role>)> {
        match (&self.role_bindings, &self.roles) {
            (Ok(bindings), Ok(roles)) => Some((bindings.clone(), roles.clone())),
            _ => None,
        }
    }

    /// The ServiceAccounts of the grant's namespace that hold more than `grant_rules`, from
    /// these lists (a list the caller may not read counts as empty).
    pub(crate) async fn stronger(
        self,
        cluster: &Cluster,
        spec: &GrantRef,
        grant_rules: Option<&[PolicyRule]>,
    ) -> Result<Vec<Stronger>> {
        let ns = spec.namespace.as_str();
        let roles = RoleRules::new(cluster);
        for role in readable(self.roles)? {
            if let Some(name) = role.metadata.name {
                roles.seed(ns, &name, role.rules.unwrap_or_default());
            }
        }
        let role_bindings: Vec<Bound> = readable(self.role_bindings)?
            .iter()
            .map(Bound::of_role_binding)
            .collect();
        let cluster_bindings = readable(self.cluster_bindings)?;
        stronger_among(&roles, spec, grant_rules, &role_bindings, &cluster_bindings).await
    }
}

/// [`stronger_accounts`] over bindings already read: `role_bindings` those of the grant's
/// namespace, `cluster_bindings` every ClusterRoleBinding (or those that name a
/// ServiceAccount). Only the roles those bindings name are read, each once.
pub(crate) async fn stronger_among(
    roles: &RoleRules,
    spec: &GrantRef,
    grant_rules: Option<&[PolicyRule]>,
    role_bindings: &[Bound],
    cluster_bindings: &[Bound],
) -> Result<Vec<Stronger>> {
    let ns = spec.namespace.as_str();
    let own = spec.service_account.as_str();
    // (binding, the other ServiceAccount it names)
    let candidates: Vec<(&Bound, &str)> = role_bindings
        .iter()
        .chain(cluster_bindings)
        .flat_map(|bound| {
            bound
                .accounts
                .iter()
                .filter(|(namespace, name)| namespace == ns && name != own)
                .map(move |(_, name)| (bound, name.as_str()))
        })
        .collect();
    let mut wanted: Vec<(&str, &str)> = candidates
        .iter()
        .map(|(b, _)| (b.role_kind.as_str(), b.role_name.as_str()))
        .collect();
    wanted.sort();
    wanted.dedup();
    let read =
        futures::future::try_join_all(wanted.iter().map(|(kind, name)| roles.of(ns, kind, name)))
            .await?;
    let rules_of: BTreeMap<(&str, &str), Option<Rules>> =
        wanted.iter().copied().zip(read).collect();
    let held = grant_rules.unwrap_or_default();
    let mut stronger = Vec::new();
    for (bound, account) in candidates {
        let (kind, name) = (bound.role_kind.as_str(), bound.role_name.as_str());
        match rules_of.get(&(kind, name)).cloned().flatten() {
            Some(rules) if rules::missing(held, rules.as_slice()).is_empty() => {}
            Some(_) => stronger.push(Stronger {
                namespace: ns.to_string(),
                service_account: account.to_string(),
                binding: format!("{} ({kind} {name})", bound.shown),
            }),
            None => stronger.push(Stronger {
                namespace: ns.to_string(),
                service_account: account.to_string(),
                binding: format!(
                    "{} ({kind} {name}, whose rules you may not read)",
                    bound.shown
                ),
            }),
        }
    }
    stronger
        .sort_by(|a, b| (&a.service_account, &a.binding).cmp(&(&b.service_account, &b.binding)));
    stronger.dedup();
    Ok(stronger)
}

/// What the caller may list; a list it may not read counts as empty.
fn readable<T>(found: Result<Vec<T>>) -> Result<Vec<T>> {
    match found {
        Err(e) if is_forbidden(&e) => Ok(Vec::new()),
        other => other,
    }
}
