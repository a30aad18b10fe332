//! The audit's containment findings: the paths out of a namespace that RBAC rules do not
//! show, found across the cluster from the same list requests (plus one dry run per namespace
//! that may admit node-escaping pods, asked by the caller of `audit`). Pure: the dry runs'
//! answers come in as data.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::{Binding, Finding, Inventory, bootstrap, label, name};
use crate::catalog::Rule;
use crate::containment::{GUARD_NAME, Reach, TENANT_LABEL, binding_holds, guard_policy};
use crate::manifest::{FIELD_MANAGER, MANAGED_BY, covers};
use crate::object::{Kind, ObjectRef};
use crate::rules;
use crate::spec::{ENFORCE_LABEL, Enforced, SYSTEM_NAMESPACES};

fn system(namespace: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&namespace)
}

/// The enforced Pod Security level of each namespace that has one.
fn enforced(inventory: &Inventory) -> BTreeMap<&str, Enforced> {
    inventory
        .namespaces
        .iter()
        .filter_map(|n| {
            Some((
                n.metadata.name.as_deref()?,
                Enforced::parse(label(&n.metadata, ENFORCE_LABEL)?),
            ))
        })
        .collect()
}

/// RoleBindings outside the system namespaces that let their subjects make pods.
fn pod_makers<'a>(inventory: &'a Inventory, bindings: &'a [Binding<'a>]) -> Vec<&'a Binding<'a>> {
    bindings
        .iter()
        .filter(|b| b.namespace.is_some_and(|ns| !system(ns)) && !bootstrap(b.meta))
        .filter(|b| Reach::of(&inventory.rules_of(b.role_ref, b.namespace)).pods)
        .collect()
}

/// The namespaces whose admission the audit asks about with one dry run each: some binding
/// lets a subject make pods there, and no Pod Security label already refuses host pods.
pub fn host_pod_candidates(inventory: &Inventory) -> Vec<String> {
    let bindings = inventory.bindings();
    let levels = enforced(inventory);
    let mut found: BTreeSet<String> = BTreeSet::new();
    for binding in pod_makers(inventory, &bindings) {
        let ns = binding.namespace.unwrap_or_default();
        if !levels.get(ns).is_some_and(Enforced::refuses_host_pods) {
            found.insert(ns.to_string());
        }
    }
    found.into_iter().collect()
}

/// Who a binding binds, for a sentence.
fn subjects(binding: &Binding) -> String {
    binding
        .subjects
        .iter()
        .map(|s| match (&s.kind[..], &s.namespace) {
            ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{}", s.name),
            (kind, _) => format!("{kind} {}", s.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The findings (`inventory.admit_host_pods` holds the namespaces whose dry run admitted a
/// node-escaping pod).
pub(super) fn findings(inventory: &Inventory) -> Vec<Finding> {
    let bindings = inventory.bindings();
    let mut found = host_pods(inventory, &bindings);
    found.extend(stronger_accounts(inventory, &bindings));
    found.extend(system_namespace_grants(&bindings));
    found.extend(guard(inventory, &bindings));
    found
}

/// KSCOPE-HOST-PODS: identities that can make pods where the namespace admits pods that take
/// their node.
fn host_pods(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let levels = enforced(inventory);
    pod_makers(inventory, bindings)
        .into_iter()
        .filter_map(|binding| {
            let ns = binding.namespace.unwrap_or_default();
            inventory.admit_host_pods.contains(ns).then(|| {
                Finding::new(
                    Rule::HostPods,
                    binding.object.clone(),
                    Some(ns.to_string()),
                    format!("Namespace {ns}"),
                    format!(
                        "lets {} create pods in namespace {ns}, which admits pods that take their node (Pod Security {}): label it pod-security.kubernetes.io/enforce=baseline",
                        subjects(binding),
                        levels
                            .get(ns)
                            .map_or_else(|| "not enforced".into(), ToString::to_string)
                    ),
                )
            })
        })
        .collect()
}

/// KSCOPE-STRONGER-ACCOUNT: identities that can act as a more powerful ServiceAccount of
/// their namespace; one finding per binding, naming the first such ServiceAccount.
fn stronger_accounts(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let granted: Vec<(&Binding, Vec<PolicyRule>)> = bindings
        .iter()
        .filter(|b| !bootstrap(b.meta))
        .map(|b| (b, inventory.rules_of(b.role_ref, b.namespace)))
        .collect();
    let mut found = Vec::new();
    for (binding, rules) in &granted {
        let Some(ns) = binding.namespace.filter(|ns| !system(ns)) else {
            continue;
        };
        if !Reach::of(rules).other_service_accounts {
            continue;
        }
        let own: BTreeSet<(String, String)> = binding.service_accounts().into_iter().collect();
        let stronger = granted.iter().find_map(|(other, other_rules)| {
            let account = other
                .service_accounts()
                .into_iter()
                .find(|a| a.0 == ns && !own.contains(a))?;
            (!rules::missing(rules, other_rules).is_empty())
                .then(|| (account.1, other.object.clone()))
        });
        if let Some((account, via)) = stronger {
            found.push(Finding::new(
                Rule::StrongerAccount,
                binding.object.clone(),
                Some(ns.to_string()),
                format!("ServiceAccount {ns}/{account}"),
                format!(
                    "lets {} act as ServiceAccount {ns}/{account} (run pods as it, mint its tokens or read its Secret), which holds more through {via}",
                    subjects(binding)
                ),
            ));
        }
    }
    found
}

/// The bindings kscope made: those of its grants.
fn kscope_bindings<'a>(bindings: &'a [Binding<'a>]) -> impl Iterator<Item = &'a Binding<'a>> {
    bindings
        .iter()
        .filter(|b| b.namespace.is_some() && label(b.meta, MANAGED_BY) == Some(FIELD_MANAGER))
}

/// KSCOPE-SYSTEM-NAMESPACE-GRANT: kscope grants in the cluster's own namespaces.
fn system_namespace_grants(bindings: &[Binding]) -> Vec<Finding> {
    kscope_bindings(bindings)
        .filter_map(|binding| {
            let ns = binding.namespace.filter(|ns| system(ns))?;
            Some(Finding::new(
                Rule::SystemNamespaceGrant,
                binding.object.clone(),
                Some(ns.to_string()),
                format!("Namespace {ns}"),
                format!(
                    "a kscope grant in {ns}, which holds the cluster's own identities: revoke it, or keep it only if {} is meant to act there",
                    subjects(binding)
                ),
            ))
        })
        .collect()
}

/// KSCOPE-GUARD-POLICY and KSCOPE-GUARD-BINDING: the guard of every namespace whose grants
/// reach what it protects, policy and binding as kscope makes them.
fn guard(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let guarded: BTreeSet<&str> = kscope_bindings(bindings)
        .filter(|b| Reach::of(&inventory.rules_of(b.role_ref, b.namespace)).needs_guard())
        .filter_map(|b| b.namespace)
        .collect();
    let mut found = Vec::new();
    let policy = inventory
        .guard_policies
        .iter()
        .find(|p| name(&p.metadata) == GUARD_NAME);
    if !guarded.is_empty() && !policy.is_some_and(|p| covers(p, &guard_policy())) {
        found.push(Finding::new(
            Rule::GuardPolicy,
            ObjectRef::cluster_scoped(Kind::ValidatingAdmissionPolicy, GUARD_NAME),
            None,
            String::new(),
            format!(
                "kscope's guard is {}: tenants of {} may change their Namespace, their grant's objects and Endpoints; run kscope grant again to restore it",
                if policy.is_some() { "changed" } else { "missing" },
                guarded.iter().copied().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if !guarded.is_empty() {
        let live = inventory
            .guard_bindings
            .iter()
            .find(|b| name(&b.metadata) == GUARD_NAME);
        if !live.is_some_and(binding_holds) {
            found.push(Finding::new(
                Rule::GuardBinding,
                ObjectRef::cluster_scoped(Kind::ValidatingAdmissionPolicyBinding, GUARD_NAME),
                None,
                String::new(),
                format!(
                    "kscope's guard is not bound ({}): tenants of {} may change their Namespace, their grant's objects, Endpoints, quotas and Services that reach outside; run kscope grant again to restore it",
                    if live.is_some() { "its binding was changed" } else { "its binding is missing" },
                    guarded.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    for ns in guarded {
        let labelled = inventory
            .namespaces
            .iter()
            .find(|n| name(&n.metadata) == ns)
            .is_some_and(|n| label(&n.metadata, TENANT_LABEL).is_some());
        if !labelled {
            found.push(Finding::new(
                Rule::GuardBinding,
                ObjectRef::cluster_scoped(Kind::Namespace, ns),
                Some(ns.to_string()),
                format!("Namespace {ns}"),
                format!(
                    "namespace {ns} lacks kscope's label {TENANT_LABEL}, so kscope's guard does not apply there: its tenants may change their Namespace, their grant's objects, Endpoints, quotas and Services that reach outside; run kscope grant again to restore it"
                ),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::object;
    use serde_json::json;

    fn inventory() -> Inventory {
        let kscope = json!({"app.kubernetes.io/managed-by": "kscope"});
        Inventory {
            namespaces: vec![
                object(json!({"metadata": {"name": "team"}})),
                object(
                    json!({"metadata": {"name": "calm", "labels": {ENFORCE_LABEL: "baseline"}}}),
                ),
            ],
            roles: vec![
                object(json!({"metadata": {"name": "dev", "namespace": "team"},
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]})),
                object(json!({"metadata": {"name": "dev", "namespace": "calm"},
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]})),
                object(
                    json!({"metadata": {"name": "ops", "namespace": "kube-system"},
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]}),
                ),
            ],
            cluster_roles: vec![object(json!({"metadata": {"name": "cluster-admin"},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}))],
            role_bindings: vec![
                object(json!({"metadata": {"name": "dev", "namespace": "team"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dev"},
                    "subjects": [{"kind": "ServiceAccount", "name": "dev", "namespace": "team"}]})),
                object(json!({"metadata": {"name": "dev", "namespace": "calm"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dev"},
                    "subjects": [{"kind": "ServiceAccount", "name": "dev", "namespace": "calm"}]})),
                object(
                    json!({"metadata": {"name": "ops", "namespace": "kube-system", "labels": kscope},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ops"},
                    "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": "kube-system"}]}),
                ),
            ],
            cluster_role_bindings: vec![object(json!({"metadata": {"name": "boss"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "boss", "namespace": "team"}]}))],
            admit_host_pods: BTreeSet::from(["team".to_string()]),
            ..Default::default()
        }
    }

    #[test]
    fn only_namespaces_no_label_protects_are_asked() {
        assert_eq!(host_pod_candidates(&inventory()), ["team"]);
    }

    #[test]
    fn each_path_out_is_a_finding() {
        let found = findings(&inventory());
        let said = |object: &str, text: &str| {
            found
                .iter()
                .any(|f| f.object == object && f.message.contains(text))
        };
        assert!(
            said("RoleBinding team/dev", "admits pods that take their node"),
            "{found:#?}"
        );
        assert!(!said("RoleBinding calm/dev", "admits pods"), "{found:#?}");
        assert!(
            said("RoleBinding team/dev", "act as ServiceAccount team/boss"),
            "{found:#?}"
        );
        assert!(
            said(
                "RoleBinding kube-system/ops",
                "a kscope grant in kube-system"
            ),
            "{found:#?}"
        );
        assert!(
            said("ValidatingAdmissionPolicy kscope-tenant-guard", "missing"),
            "{found:#?}"
        );
        assert!(
            said(
                "ValidatingAdmissionPolicyBinding kscope-tenant-guard",
                "its binding is missing"
            ),
            "{found:#?}"
        );
        assert!(
            said("Namespace kube-system", "lacks kscope's label"),
            "{found:#?}"
        );
        let mut guarded = inventory();
        guarded.guard_policies = vec![guard_policy()];
        guarded.guard_bindings = vec![crate::containment::guard_binding()];
        guarded.namespaces.push(object(
            json!({"metadata": {"name": "kube-system", "labels": {TENANT_LABEL: "true"}}}),
        ));
        let found = findings(&guarded);
        assert!(
            !found
                .iter()
                .any(|f| f.object.starts_with("ValidatingAdmission")
                    || f.object.starts_with("Namespace")),
            "{found:#?}"
        );
    }
}
