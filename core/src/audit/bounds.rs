//! The whole boundary across the cluster: tenant namespaces (labelled `kscope.dev/tenant`)
//! without the quota, limit range or network policy their grants give them; Services in tenant
//! namespaces that reach outside and that no grant there opens; and identities outside
//! kube-system that may write ResourceQuotas in their own namespace. Pure.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::rbac::v1::Subject;

use super::{Binding, Finding, Inventory, bootstrap, label, name};
use crate::catalog::Rule;
use crate::manifest::{
    BOUNDS_ANNOTATION, OPENINGS_LABEL, QuotaHold, TENANT_LABEL, is_kscopes, quota_hold,
};
use crate::object::{Kind, ObjectRef};
use crate::rules::{self, Permission};
use crate::spec::Opening;

pub(super) fn findings(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let mut found = unbounded(inventory);
    found.extend(reaching_services(inventory));
    found.extend(quota_writers(inventory, bindings));
    found.extend(outside_bindings(inventory));
    found
}

/// The namespaces kscope's guard applies in, with what their Namespace opens.
fn tenant_namespaces(inventory: &Inventory) -> Vec<(&str, Vec<Opening>)> {
    inventory
        .namespaces
        .iter()
        .filter(|n| label(&n.metadata, TENANT_LABEL).is_some())
        .map(|n| {
            let opened = label(&n.metadata, OPENINGS_LABEL)
                .map(Opening::of_label)
                .unwrap_or_default();
            (name(&n.metadata), opened)
        })
        .collect()
}

/// The tenant namespaces that hold ResourceQuotas of which none is in force (recorded by a
/// resource quota controller), which the audit looks at again before judging them.
pub fn unrecorded_quota_namespaces(inventory: &Inventory) -> Vec<String> {
    tenant_namespaces(inventory)
        .into_iter()
        .filter(|(ns, _)| matches!(held(inventory, ns), QuotaHold::Unenforced(_)))
        .map(|(ns, _)| ns.to_string())
        .collect()
}

/// What the API server enforces of `ns`'s ResourceQuotas.
fn held(inventory: &Inventory, ns: &str) -> QuotaHold {
    quota_hold(
        inventory
            .resource_quotas
            .iter()
            .filter(|q| q.metadata.namespace.as_deref() == Some(ns)),
    )
}

/// KSCOPE-TENANT-UNBOUNDED: a tenant namespace without a ResourceQuota, LimitRange or
/// NetworkPolicy that one of its grants gives it (a grant without the record, or a namespace
/// without a grant's record, asks for all).
fn unbounded(inventory: &Inventory) -> Vec<Finding> {
    let mut found = Vec::new();
    for (ns, _) in tenant_namespaces(inventory) {
        let records: Vec<&str> = inventory
            .service_accounts
            .iter()
            .filter(|sa| sa.metadata.namespace.as_deref() == Some(ns) && is_kscopes(&sa.metadata))
            .map(|sa| {
                sa.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(BOUNDS_ANNOTATION))
                    .map_or("quota,network", String::as_str)
            })
            .collect();
        // A tenant namespace whose grants left no record is held to all of them.
        let wants = |what: &str| {
            records.is_empty() || records.iter().any(|r| r.split(',').any(|w| w == what))
        };
        let present = |namespaces: Vec<Option<&str>>| namespaces.contains(&Some(ns));
        let missing: Vec<(Kind, &str)> = [
            (
                Kind::ResourceQuota,
                "quota",
                matches!(held(inventory, ns), QuotaHold::Enforced(_)),
                "its tenants may take the cluster's capacity",
            ),
            (
                Kind::LimitRange,
                "quota",
                present(
                    inventory
                        .limit_ranges
                        .iter()
                        .map(|l| l.metadata.namespace.as_deref())
                        .collect(),
                ),
                "its containers run without requests or limits",
            ),
            (
                Kind::NetworkPolicy,
                "network",
                present(
                    inventory
                        .network_policies
                        .iter()
                        .map(|p| p.metadata.namespace.as_deref())
                        .collect(),
                ),
                "every pod of the cluster reaches its pods",
            ),
        ]
        .into_iter()
        .filter(|(_, what, there, _)| wants(what) && !there)
        .map(|(kind, _, _, why)| (kind, why))
        .collect();
        for (kind, why) in missing {
            let message = match kind == Kind::ResourceQuota
                && matches!(held(inventory, ns), QuotaHold::Unenforced(_))
            {
                true => format!(
                    "tenant namespace {ns} has no ResourceQuota in force: {why}, as quota admission reads the limits a resource quota controller records and none has recorded its quotas; run kube-controller-manager's resourcequota controller"
                ),
                false => format!(
                    "tenant namespace {ns} has no {kind}: {why}; run kscope grant (or apply) again to give it kscope's"
                ),
            };
            found.push(Finding::new(
                Rule::TenantUnbounded,
                ObjectRef::cluster_scoped(Kind::Namespace, ns),
                Some(ns.to_string()),
                format!("Namespace {ns} {kind}"),
                message,
            ));
        }
    }
    found
}

/// The opening a Service needs, if it reaches outside its namespace.
fn reaches(service: &Service) -> Option<Opening> {
    let spec = service.spec.as_ref()?;
    match spec.type_.as_deref() {
        Some("NodePort") => Some(Opening::NodePort),
        Some("LoadBalancer") => Some(Opening::LoadBalancer),
        Some("ExternalName") => Some(Opening::ExternalName),
        _ if spec
            .external_ips
            .as_ref()
            .is_some_and(|ips| !ips.is_empty()) =>
        {
            Some(Opening::ExternalIps)
        }
        _ => None,
    }
}

/// KSCOPE-REACHING-SERVICE: a Service in a tenant namespace that reaches outside it, which
/// no grant there opens (made before the guard, by an admin, or while the guard was gone).
fn reaching_services(inventory: &Inventory) -> Vec<Finding> {
    let tenants = tenant_namespaces(inventory);
    inventory
        .services
        .iter()
        .filter_map(|service| {
            let ns = service.metadata.namespace.as_deref()?;
            let (_, opened) = tenants.iter().find(|(t, _)| *t == ns)?;
            let opening = reaches(service).filter(|o| !opened.contains(o))?;
            let svc = name(&service.metadata);
            Some(Finding::new(
                Rule::ReachingService,
                ObjectRef::namespaced(Kind::Service, ns, svc),
                Some(ns.to_string()),
                String::new(),
                format!(
                    "Service {ns}/{svc} reaches outside tenant namespace {ns} ({opening}), which no grant there opens: delete it, or grant with --allow-service {opening}"
                ),
            ))
        })
        .collect()
}

/// KSCOPE-QUOTA-WRITER: a binding that lets ServiceAccounts outside kube-system write
/// ResourceQuotas or LimitRanges in their own namespace (a tenant that sets its own share of
/// the cluster). kscope's guard refuses it in tenant namespaces; elsewhere nothing does.
fn quota_writers(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for binding in bindings.iter().filter(|b| !bootstrap(b.meta)) {
        let rules = inventory.rules_of(binding.role_ref, binding.namespace);
        let writes = ["resourcequotas", "limitranges"].iter().any(|resource| {
            ["create", "update", "patch", "delete"]
                .iter()
                .any(|verb| rules::allows(&rules, &Permission::new("", resource, verb)))
        });
        if !writes {
            continue;
        }
        for (ns, sa) in binding.service_accounts() {
            let own = binding.namespace.is_none_or(|b| b == ns);
            if ns == "kube-system"
                || !own
                || !seen.insert((binding.object.to_string(), ns.clone(), sa.clone()))
            {
                continue;
            }
            found.push(Finding::new(
                Rule::QuotaWriter,
                binding.object.clone(),
                Some(ns.clone()),
                format!("ServiceAccount {ns}/{sa}"),
                format!(
                    "lets ServiceAccount {ns}/{sa} write ResourceQuotas or LimitRanges in its own namespace {ns}: it sets its own share of the cluster"
                ),
            ));
        }
    }
    found
}

/// Whether `subject` of a RoleBinding in `ns` is of that namespace, as kscope's guard judges
/// it ([`crate::containment::INSIDE_SUBJECT`]): one of its ServiceAccounts (by kind or by user
/// name), or all of them (their group).
fn inside(subject: &Subject, ns: &str) -> bool {
    match subject.kind.as_str() {
        "ServiceAccount" => subject
            .namespace
            .as_deref()
            .is_none_or(|n| n.is_empty() || n == ns),
        "User" => subject
            .name
            .starts_with(&format!("system:serviceaccount:{ns}:")),
        "Group" => subject.name == format!("system:serviceaccounts:{ns}"),
        _ => false,
    }
}

/// KSCOPE-OUTSIDE-BINDING: a RoleBinding in a tenant namespace, not kscope's, with a subject
/// from outside the namespace (made before the guard refused them, by an admin, or while the
/// guard was gone).
fn outside_bindings(inventory: &Inventory) -> Vec<Finding> {
    let tenants = tenant_namespaces(inventory);
    inventory
        .role_bindings
        .iter()
        .filter(|b| !is_kscopes(&b.metadata))
        .filter_map(|binding| {
            let ns = binding.metadata.namespace.as_deref()?;
            tenants.iter().find(|(t, _)| *t == ns)?;
            let outsiders: Vec<String> = binding
                .subjects
                .iter()
                .flatten()
                .filter(|s| !inside(s, ns))
                .map(|s| match s.namespace.as_deref() {
                    Some(from) if !from.is_empty() => format!("{} {from}/{}", s.kind, s.name),
                    _ => format!("{} {}", s.kind, s.name),
                })
                .collect();
            if outsiders.is_empty() {
                return None;
            }
            let rb = name(&binding.metadata);
            Some(Finding::new(
                Rule::OutsideBinding,
                ObjectRef::namespaced(Kind::RoleBinding, ns, rb),
                Some(ns.to_string()),
                String::new(),
                format!(
                    "RoleBinding {ns}/{rb} lets {} into tenant namespace {ns}",
                    outsiders.join(", ")
                ),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::object;
    use serde_json::json;

    #[test]
    fn an_unbounded_tenant_a_reaching_service_and_a_quota_writer_are_found() {
        let inventory = Inventory {
            namespaces: vec![
                object(json!({"metadata": {"name": "team", "labels": {TENANT_LABEL: "true"}}})),
                object(json!({"metadata": {"name": "open",
                    "labels": {TENANT_LABEL: "true", OPENINGS_LABEL: "nodeport"}}})),
                object(json!({"metadata": {"name": "plain"}})),
            ],
            resource_quotas: vec![object(
                json!({"metadata": {"name": "q", "namespace": "open"}}),
            )],
            limit_ranges: vec![object(
                json!({"metadata": {"name": "l", "namespace": "open"}}),
            )],
            network_policies: vec![
                object(json!({"metadata": {"name": "n", "namespace": "team"}})),
                object(json!({"metadata": {"name": "n", "namespace": "open"}})),
            ],
            services: vec![
                object(
                    json!({"metadata": {"name": "np", "namespace": "team"}, "spec": {"type": "NodePort"}}),
                ),
                object(
                    json!({"metadata": {"name": "np", "namespace": "open"}, "spec": {"type": "NodePort"}}),
                ),
                object(
                    json!({"metadata": {"name": "eip", "namespace": "open"}, "spec": {"externalIPs": ["192.0.2.1"]}}),
                ),
                object(
                    json!({"metadata": {"name": "np", "namespace": "plain"}, "spec": {"type": "NodePort"}}),
                ),
            ],
            roles: vec![object(
                json!({"metadata": {"name": "quota", "namespace": "plain"},
                "rules": [{"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["update"]}]}),
            )],
            role_bindings: vec![
                object(json!({"metadata": {"name": "quota", "namespace": "plain"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "quota"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "plain"}]})),
                object(
                    json!({"metadata": {"name": "everyone", "namespace": "team"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci"},
                    {"kind": "Group", "name": "system:authenticated"},
                    {"kind": "ServiceAccount", "name": "x", "namespace": "open"}]}),
                ),
                object(json!({"metadata": {"name": "mine", "namespace": "team"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "team"},
                    {"kind": "Group", "name": "system:serviceaccounts:team"},
                    {"kind": "User", "name": "system:serviceaccount:team:builder"}]})),
                object(json!({"metadata": {"name": "kscopes", "namespace": "team",
                    "labels": {"app.kubernetes.io/managed-by": "kscope"},
                    "managedFields": [{"manager": "kscope", "operation": "Apply"}]},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
                "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "home"}]})),
                object(
                    json!({"metadata": {"name": "everyone", "namespace": "plain"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "Group", "name": "system:authenticated"}]}),
                ),
            ],
            ..Default::default()
        };
        let found = findings(&inventory, &inventory.bindings());
        let said: Vec<(String, String)> = found
            .iter()
            .map(|f| (f.rule.id().to_string(), f.object.clone()))
            .collect();
        let has = |rule: &str, object: &str| said.iter().any(|(r, o)| r == rule && o == object);
        // team: no quota and no limit range (its network policy is there).
        assert!(has("KSCOPE-TENANT-UNBOUNDED", "Namespace team"), "{said:?}");
        assert_eq!(
            said.iter()
                .filter(|(r, _)| r == "KSCOPE-TENANT-UNBOUNDED")
                .count(),
            2,
            "{said:?}"
        );
        // A NodePort where none is opened; not where the namespace opens it; external IPs
        // where only nodeport is opened; nothing outside tenant namespaces.
        assert!(
            has("KSCOPE-REACHING-SERVICE", "Service team/np"),
            "{said:?}"
        );
        assert!(
            !has("KSCOPE-REACHING-SERVICE", "Service open/np"),
            "{said:?}"
        );
        assert!(
            has("KSCOPE-REACHING-SERVICE", "Service open/eip"),
            "{said:?}"
        );
        assert!(
            !has("KSCOPE-REACHING-SERVICE", "Service plain/np"),
            "{said:?}"
        );
        assert!(
            has("KSCOPE-QUOTA-WRITER", "RoleBinding plain/quota"),
            "{said:?}"
        );
        // Outsiders let into a tenant namespace: only the binding that names them, only in
        // tenant namespaces, never kscope's own (a grant of several namespaces).
        let outside: Vec<&Finding> = found
            .iter()
            .filter(|f| f.rule == Rule::OutsideBinding)
            .collect();
        assert_eq!(outside.len(), 1, "{said:?}");
        assert_eq!(outside[0].object, "RoleBinding team/everyone");
        assert_eq!(
            outside[0].message,
            "RoleBinding team/everyone lets Group system:authenticated, ServiceAccount open/x into tenant namespace team"
        );
    }

    #[test]
    fn a_quota_no_controller_has_recorded_leaves_its_tenant_unbounded() {
        let quota = |ns: &str, recorded: bool| {
            let mut q = json!({"metadata": {"name": "kscope-quota", "namespace": ns},
                "spec": {"hard": {"pods": "50"}}});
            if recorded {
                q["status"] = json!({"hard": {"pods": "50"}, "used": {"pods": "0"}});
            }
            object(q)
        };
        let inventory = Inventory {
            namespaces: ["held", "waiting"]
                .iter()
                .map(|n| object(json!({"metadata": {"name": n, "labels": {TENANT_LABEL: "true"}}})))
                .collect(),
            resource_quotas: vec![quota("held", true), quota("waiting", false)],
            limit_ranges: ["held", "waiting"]
                .iter()
                .map(|n| object(json!({"metadata": {"name": "l", "namespace": n}})))
                .collect(),
            network_policies: ["held", "waiting"]
                .iter()
                .map(|n| object(json!({"metadata": {"name": "n", "namespace": n}})))
                .collect(),
            ..Default::default()
        };
        assert_eq!(unrecorded_quota_namespaces(&inventory), vec!["waiting"]);
        let found = findings(&inventory, &inventory.bindings());
        let unbounded: Vec<&Finding> = found
            .iter()
            .filter(|f| f.rule.id() == "KSCOPE-TENANT-UNBOUNDED")
            .collect();
        assert_eq!(unbounded.len(), 1, "{found:?}");
        assert_eq!(unbounded[0].object, "Namespace waiting");
        assert!(
            unbounded[0].message.contains("no ResourceQuota in force"),
            "{}",
            unbounded[0].message
        );
    }
}
