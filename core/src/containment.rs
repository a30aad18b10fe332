//! The paths out of a namespace that RBAC rules do not show, as data: Pod Security levels and
//! labels, the system namespaces, what a role reaches (pods onto the node, other
//! ServiceAccounts, the Namespace object, kscope's own objects, Endpoints), the escalation
//! test for ClusterRoles, and the guard (one ValidatingAdmissionPolicy and one binding for the
//! cluster) that refuses what RBAC cannot subtract from a wildcard. The objects that try these
//! paths as dry runs are `access`'s. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation, Variable,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::access::{PathOut, SYSTEM_PRIORITY, SYSTEM_PRIORITY_CLASSES};
use crate::invalid::Unrenderable;
use crate::manifest::{FIELD_MANAGER, MANAGED_BY, object_yaml};
use crate::rules::{Permission, RBAC_GROUP, allows};
use crate::spec::{GrantSpec, RoleSource};

/// Kinds that make pods: (API group, resource).
const WORKLOADS: [(&str, &str); 8] = [
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];

/// What a role reaches beyond the resources it lists, in the paths RBAC does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    /// It makes pods, directly or through a workload kind: a pod may ask for the node.
    pub pods: bool,
    /// It can become another ServiceAccount of the namespace: run pods as it, mint its
    /// tokens, impersonate it, read its token Secret, or create a token Secret for it.
    pub other_service_accounts: bool,
    /// It may change or delete its own Namespace object (RBAC counts it as inside).
    pub namespace: bool,
    /// It may write ServiceAccounts, Secrets, Roles or RoleBindings: kscope's own objects.
    pub grant_objects: bool,
    /// It may write Endpoints or EndpointSlices (CVE-2021-25740).
    pub endpoints: bool,
    /// It may make Services (a NodePort, a LoadBalancer, an ExternalName or external IPs reach
    /// outside the namespace), or write ResourceQuotas, LimitRanges or NetworkPolicies
    /// (kscope's bounds of the namespace among them).
    pub shared: bool,
    /// It may make PersistentVolumeClaims (one may name a volume of the cluster's).
    pub claims: bool,
}

impl Reach {
    pub fn of(rules: &[PolicyRule]) -> Reach {
        let can = |group: &str, resource: &str, verbs: &[&str]| {
            verbs
                .iter()
                .any(|verb| allows(rules, &Permission::new(group, resource, verb)))
        };
        const WRITE: [&str; 4] = ["create", "update", "patch", "delete"];
        let pods = WORKLOADS
            .iter()
            .any(|(group, resource)| can(group, resource, &["create", "update", "patch"]));
        let other_service_accounts = pods
            || can("", "serviceaccounts/token", &["create"])
            || can("", "serviceaccounts", &["impersonate"])
            || can("", "secrets", &["get", "list", "watch", "create"]);
        Reach {
            pods,
            other_service_accounts,
            namespace: can("", "namespaces", &["update", "patch", "delete"]),
            grant_objects: can("", "serviceaccounts", &WRITE)
                || can("", "secrets", &WRITE)
                || can(RBAC_GROUP, "roles", &WRITE)
                || can(RBAC_GROUP, "rolebindings", &WRITE),
            endpoints: can("", "endpoints", &WRITE)
                || can("discovery.k8s.io", "endpointslices", &WRITE),
            shared: can("", "services", &WRITE)
                || can("", "resourcequotas", &WRITE)
                || can("", "limitranges", &WRITE)
                || can("networking.k8s.io", "networkpolicies", &WRITE),
            claims: can("", "persistentvolumeclaims", &["create", "update", "patch"]),
        }
    }

    /// Whether the role reaches anything the guard protects (pods among them: their priority;
    /// claims: the volumes they name).
    pub fn needs_guard(&self) -> bool {
        self.pods
            || self.namespace
            || self.grant_objects
            || self.endpoints
            || self.shared
            || self.claims
    }

    /// What the role really reaches, as sentences for `kscope templates` and the wizard.
    pub fn sentences(&self, rules: &[PolicyRule]) -> Vec<&'static str> {
        let can = |group: &str, resource: &str, verb: &str| {
            allows(rules, &Permission::new(group, resource, verb))
        };
        let mut notes = Vec::new();
        if self.pods {
            notes.push(
                "runs pods, which may mount every Secret and run as every ServiceAccount of the namespace",
            );
        }
        if can("", "serviceaccounts/token", "create") {
            notes.push("may mint tokens for the namespace's other ServiceAccounts");
        }
        if can("", "secrets", "get") {
            notes.push(
                "may read every Secret of the namespace, other ServiceAccounts' tokens included",
            );
        } else if ["create", "update", "patch"]
            .iter()
            .any(|verb| can("", "secrets", verb))
        {
            notes.push(
                "writes Secrets, and a write's response hands the Secret's data back: Secret writes are Secret reads; it may also create a token Secret for any ServiceAccount of the namespace",
            );
        }
        if can(RBAC_GROUP, "rolebindings", "create") {
            notes.push("may make Roles and RoleBindings, within what it holds itself");
        }
        if self.namespace {
            notes.push(
                "RBAC lets it change and delete its own Namespace; kscope's guard refuses that",
            );
        }
        notes
    }
}

/// The rules of a ClusterRole that would let a tenant step outside its grant: every verb
/// (`*`), `escalate`, `bind`, or impersonating users, groups or their extras (impersonating
/// the namespace's ServiceAccounts, which `edit` and `admin` hold, is reported by [`Reach`]
/// instead). Each as a sentence naming the rule.
pub fn cluster_role_escalations(name: &str, rules: &[PolicyRule]) -> Vec<String> {
    if name == "cluster-admin" {
        return vec!["cluster-admin holds every verb on every resource".into()];
    }
    let mut found = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let n = i + 1;
        let resources = rule.resources.clone().unwrap_or_default();
        let shown = resources.join(", ");
        for verb in &rule.verbs {
            match verb.as_str() {
                "*" => found.push(format!("rule {n} grants every verb on {shown}")),
                "escalate" | "bind" => found.push(format!("rule {n} grants {verb} on {shown}")),
                "impersonate" => {
                    let beyond: Vec<&String> = resources
                        .iter()
                        .filter(|r| r.as_str() != "serviceaccounts")
                        .collect();
                    if !beyond.is_empty() {
                        found.push(format!(
                            "rule {n} grants impersonate on {}",
                            beyond
                                .iter()
                                .map(|r| r.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    found
}

/// The CEL expression of the PriorityClass a pod, or the pod template of a workload, being
/// written names (`''` for none): where each kind keeps its pods' spec. A pod's is the one the
/// Priority admission plugin settled (the cluster's default when it named none).
const PRIORITY_CLASS: &str = "object == null ? '' : request.resource.resource == 'pods' ? (has(object.spec.priorityClassName) ? object.spec.priorityClassName : '') : request.resource.resource == 'podtemplates' ? (has(object.template.spec.priorityClassName) ? object.template.spec.priorityClassName : '') : request.resource.resource == 'cronjobs' ? (has(object.spec.jobTemplate.spec.template.spec.priorityClassName) ? object.spec.jobTemplate.spec.template.spec.priorityClassName : '') : request.resource.resource in ['replicationcontrollers', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs'] ? (has(object.spec.template.spec.priorityClassName) ? object.spec.template.spec.priorityClassName : '') : ''";

/// The CEL condition (over a RoleBinding subject `s`) under which a subject is of the binding's
/// own namespace: one of its ServiceAccounts (a ServiceAccount subject without a namespace is
/// the binding's, as RBAC reads it; the same by its user name), or all of them (their group).
/// Every other user or group, and every other namespace's ServiceAccount, is from outside.
pub const INSIDE_SUBJECT: &str = "(s.kind == 'ServiceAccount' && (!has(s.namespace) || s.namespace == '' || s.namespace == variables.ns.metadata.name)) || (s.kind == 'User' && s.name.startsWith('system:serviceaccount:' + variables.ns.metadata.name + ':')) || (s.kind == 'Group' && s.name == 'system:serviceaccounts:' + variables.ns.metadata.name)";

/// The guard's policy, and its one binding for the whole cluster.
pub const GUARD_NAME: &str = "kscope-tenant-guard";

/// The name of kscope's always-pull policy and of its binding (the `pulls` module makes them).
pub const ALWAYS_PULL_NAME: &str = "kscope-always-pull";

/// The label kscope puts on every namespace of a grant: the guard's policy applies in the
/// namespaces that carry it. It is read from the request's Namespace as the API server has it
/// (for a request on the Namespace itself, from the object before the change), so it holds from
/// the namespace's first request and cannot be removed by the request that would escape it.
pub use crate::manifest::{OPENINGS_LABEL, TENANT_LABEL};
use crate::spec::Opening;

/// The prefix of the per-namespace bindings of kscope before one guard per cluster
/// (`kscope-tenant-guard.<namespace>`): removed when the guard is upgraded.
pub const OLD_BINDING_PREFIX: &str = "kscope-tenant-guard.";

pub(crate) fn rule(
    groups: &[&str],
    resources: &[&str],
    operations: &[&str],
) -> NamedRuleWithOperations {
    let owned = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    NamedRuleWithOperations {
        api_groups: owned(groups),
        api_versions: owned(&["*"]),
        operations: owned(operations),
        resources: owned(resources),
        ..Default::default()
    }
}

pub(crate) fn kscope_labels() -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY.to_string(), FIELD_MANAGER.to_string())])
}

/// The guard: one cluster-scoped ValidatingAdmissionPolicy (CEL, in kube-apiserver since
/// 1.30, no webhook) and one binding for the whole cluster. In the namespaces labelled
/// [`TENANT_LABEL`], it refuses requests from ServiceAccounts (other than kube-system's, and
/// other than identities that may escalate ClusterRoles, i.e. cluster administrators and kscope
/// run by one) that:
/// - update or delete the Namespace itself (its labels, Pod Security's and kscope's, included);
/// - create, change or delete an object labelled as kscope's (the grant's ServiceAccount,
///   token Secret, Role, RoleBinding, ResourceQuota, LimitRange, NetworkPolicy), or put
///   kscope's label on one;
/// - write Endpoints or EndpointSlices (CVE-2021-25740), ResourceQuotas or LimitRanges;
/// - make a Service that reaches outside the namespace (a NodePort or LoadBalancer, which
///   opens a port on every node; an ExternalName; `externalIPs`, CVE-2020-8554), unless the
///   Namespace carries the [`Opening`]'s label;
/// - make a pod, or a workload's pod template, of the system's own priority (a PriorityClass of
///   Kubernetes' own, or a pod whose settled priority is in the system's range): it would
///   preempt every other namespace's pods;
/// - make a PersistentVolumeClaim that names a PersistentVolume (`spec.volumeName`), a volume
///   of the cluster's that the platform did not give it;
/// - create or change a RoleBinding with a subject from outside the namespace (a user, a group
///   such as `system:authenticated`, another namespace's ServiceAccount): who may enter a
///   tenant namespace is the platform's to decide ([`INSIDE_SUBJECT`]).
pub fn guard_policy() -> ValidatingAdmissionPolicy {
    let kscope_label = format!("'{MANAGED_BY}'");
    let labelled = |object: &str| {
        format!(
            "{object} != null && has({object}.metadata.labels) && {kscope_label} in {object}.metadata.labels && {object}.metadata.labels[{kscope_label}] == '{FIELD_MANAGER}'"
        )
    };
    let writes = ["CREATE", "UPDATE", "DELETE"];
    let variable = |name: &str, expression: String| Variable {
        name: name.into(),
        expression,
    };
    let validation = |expression: String, message: &str| Validation {
        expression,
        message: Some(format!("kscope's guard: {message}")),
        reason: Some("Forbidden".into()),
        ..Default::default()
    };
    // A Service kind or field the Namespace does not open.
    // A Service of each kind the Namespace does not open.
    let closed = Opening::ALL.map(|opening| {
        validation(
            format!(
                "!variables.tenant || !variables.service || !({}) || variables.opened.exists(o, o == '{}')",
                service_reaches(opening),
                opening.id()
            ),
            &format!("{} (the grant does not allow {opening})", opening.reach()),
        )
    });
    kscope_policy(
        GUARD_NAME,
        vec![
                    rule(&[""], &["namespaces"], &["UPDATE", "DELETE"]),
                    rule(
                        &[""],
                        &[
                            "serviceaccounts",
                            "secrets",
                            "endpoints",
                            "services",
                            "resourcequotas",
                            "limitranges",
                        ],
                        &writes,
                    ),
                    rule(&[RBAC_GROUP], &["roles", "rolebindings"], &writes),
                    rule(&["discovery.k8s.io"], &["endpointslices"], &writes),
                    rule(&["networking.k8s.io"], &["networkpolicies"], &writes),
                    // What makes pods, for their priority.
                    rule(&[""], &["pods"], &["CREATE"]),
                    rule(&[""], &["persistentvolumeclaims"], &["CREATE", "UPDATE"]),
                    rule(&[""], &["podtemplates", "replicationcontrollers"], &["CREATE", "UPDATE"]),
                    rule(
                        &["apps"],
                        &["deployments", "replicasets", "statefulsets", "daemonsets"],
                        &["CREATE", "UPDATE"],
                    ),
                    rule(&["batch"], &["jobs", "cronjobs"], &["CREATE", "UPDATE"]),
        ],
        ValidatingAdmissionPolicySpec {
            match_conditions: Some(vec![
                MatchCondition {
                    name: "a-service-account-outside-kube-system".into(),
                    expression: "request.userInfo.username.startsWith('system:serviceaccount:') && !request.userInfo.username.startsWith('system:serviceaccount:kube-system:')".into(),
                },
                MatchCondition {
                    name: "not-a-cluster-administrator".into(),
                    expression: format!(
                        "!authorizer.group('{RBAC_GROUP}').resource('clusterroles').check('escalate').allowed()"
                    ),
                },
            ]),
            variables: Some(vec![
                // The Namespace as it was (for a request on the Namespace itself: the object
                // before the change), else the request's Namespace as the API server has it.
                variable(
                    "ns",
                    "request.resource.resource == 'namespaces' ? oldObject : namespaceObject"
                        .into(),
                ),
                variable(
                    "tenant",
                    format!(
                        "variables.ns != null && has(variables.ns.metadata.labels) && '{TENANT_LABEL}' in variables.ns.metadata.labels"
                    ),
                ),
                variable(
                    "opened",
                    format!(
                        "variables.ns != null && has(variables.ns.metadata.labels) && '{OPENINGS_LABEL}' in variables.ns.metadata.labels ? variables.ns.metadata.labels['{OPENINGS_LABEL}'].split('.') : []"
                    ),
                ),
                variable(
                    "kscopes",
                    format!("({}) || ({})", labelled("object"), labelled("oldObject")),
                ),
                variable(
                    "service",
                    "request.resource.resource == 'services' && object != null && has(object.spec)"
                        .into(),
                ),
                variable("priorityClass", PRIORITY_CLASS.into()),
            ]),
            validations: Some(
                [
                validation(
                    "!variables.tenant || request.resource.resource != 'namespaces'".into(),
                    "a tenant may not change or delete its own Namespace",
                ),
                validation(
                    "!variables.tenant || !(request.resource.resource in ['endpoints', 'endpointslices'])".into(),
                    "a tenant may not write Endpoints or EndpointSlices (CVE-2021-25740)",
                ),
                validation(
                    "!variables.tenant || !(request.resource.resource in ['resourcequotas', 'limitranges'])".into(),
                    "a tenant may not write ResourceQuotas or LimitRanges (the namespace's share of the cluster is the platform's to set)",
                ),
                validation(
                    "!variables.tenant || !variables.kscopes".into(),
                    "a tenant may not create, change or delete the objects of its kscope grant",
                ),
                validation(
                    format!(
                        "!variables.tenant || !(variables.priorityClass in [{}]) && (request.resource.resource != 'pods' || object == null || !has(object.spec.priority) || object.spec.priority < {SYSTEM_PRIORITY})",
                        SYSTEM_PRIORITY_CLASSES.map(|c| format!("'{c}'")).join(", ")
                    ),
                    "a tenant's pods may not take the system's own priority (system-cluster-critical, system-node-critical, or any of a billion and more): they would preempt every other namespace's pods",
                ),
                validation(
                    "!variables.tenant || request.resource.resource != 'persistentvolumeclaims' || object == null || !has(object.spec.volumeName) || object.spec.volumeName == '' || (oldObject != null && has(oldObject.spec.volumeName) && oldObject.spec.volumeName == object.spec.volumeName)".into(),
                    "a tenant's claims may not name a PersistentVolume (spec.volumeName): volumes are the cluster's, and which claim one binds to is the platform's to decide",
                ),
                validation(
                    format!("!variables.tenant || request.resource.resource != 'rolebindings' || object == null || !has(object.subjects) || object.subjects.all(s, {INSIDE_SUBJECT})"),
                    "a tenant may not let identities from outside its namespace in: a RoleBinding's subjects must be ServiceAccounts of its own namespace (bindings for others are the platform's to make)",
                ),
                ]
                .into_iter()
                .chain(closed)
                .collect(),
            ),
            ..Default::default()
        },
    )
}

/// The CEL condition under which the Service being written (`object`) reaches outside its
/// namespace the way `opening` names.
fn service_reaches(opening: Opening) -> &'static str {
    match opening {
        Opening::NodePort => "has(object.spec.type) && object.spec.type == 'NodePort'",
        Opening::LoadBalancer => "has(object.spec.type) && object.spec.type == 'LoadBalancer'",
        Opening::ExternalName => "has(object.spec.type) && object.spec.type == 'ExternalName'",
        Opening::ExternalIps => "has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0",
    }
}

/// The guard's one binding: every namespace (the policy itself picks the tenant ones by their
/// label), so a new tenant namespace needs no binding and no wait.
/// A policy of kscope's: named, labelled as kscope's, failing closed, matching `rules`, and the
/// rest of `spec` (its conditions, variables and validations).
pub(crate) fn kscope_policy(
    name: &str,
    rules: Vec<NamedRuleWithOperations>,
    spec: ValidatingAdmissionPolicySpec,
) -> ValidatingAdmissionPolicy {
    ValidatingAdmissionPolicy {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(kscope_labels()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicySpec {
            failure_policy: Some("Fail".into()),
            match_constraints: Some(MatchResources {
                resource_rules: Some(rules),
                ..Default::default()
            }),
            ..spec
        }),
        status: None,
    }
}

pub fn guard_binding() -> ValidatingAdmissionPolicyBinding {
    policy_binding(GUARD_NAME)
}

/// The one binding of kscope's policy `name`, for the whole cluster, named as the policy (the
/// policy itself reads the labels it applies by).
pub(crate) fn policy_binding(name: &str) -> ValidatingAdmissionPolicyBinding {
    ValidatingAdmissionPolicyBinding {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(kscope_labels()),
            ..Default::default()
        },
        spec: Some(ValidatingAdmissionPolicyBindingSpec {
            policy_name: Some(name.to_string()),
            validation_actions: Some(vec!["Deny".into()]),
            match_resources: None,
            param_ref: None,
        }),
    }
}

/// Whether a live binding is the guard's as kscope makes it: it binds the guard's policy, denies,
/// and matches every namespace and object (a selector or an exclusion added to it would take
/// tenants out from under the guard).
pub fn binding_holds(live: &ValidatingAdmissionPolicyBinding) -> bool {
    policy_binding_holds(live, GUARD_NAME)
}

/// Whether a live binding is the one binding of kscope's policy `name` as kscope makes it.
pub(crate) fn policy_binding_holds(live: &ValidatingAdmissionPolicyBinding, name: &str) -> bool {
    let Some(spec) = live.spec.as_ref() else {
        return false;
    };
    let selects_all = |selector: &Option<LabelSelector>| {
        selector.as_ref().is_none_or(|s| {
            s.match_labels.as_ref().is_none_or(|m| m.is_empty())
                && s.match_expressions.as_ref().is_none_or(|e| e.is_empty())
        })
    };
    let matching = spec.match_resources.as_ref().is_none_or(|m| {
        selects_all(&m.namespace_selector)
            && selects_all(&m.object_selector)
            && m.exclude_resource_rules
                .as_ref()
                .is_none_or(|r| r.is_empty())
            && m.resource_rules.as_ref().is_none_or(|r| r.is_empty())
    });
    spec.policy_name.as_deref() == Some(name)
        && spec
            .validation_actions
            .as_ref()
            .is_some_and(|a| a.iter().any(|a| a == "Deny"))
        && spec.param_ref.is_none()
        && matching
}

/// Whether a binding is one of the per-namespace guard bindings kscope made before one guard
/// per cluster; returns the namespace it guarded.
pub fn old_binding_namespace(name: &str) -> Option<&str> {
    name.strip_prefix(OLD_BINDING_PREFIX)
}

/// Whether a grant's role reaches what the guard protects, as far as can be told without a
/// cluster (a ClusterRole's rules live there: it is taken to reach it).
pub fn spec_needs_guard(spec: &GrantSpec) -> bool {
    match &spec.role {
        RoleSource::Template(t) => Reach::of(&t.rules).needs_guard(),
        RoleSource::ClusterRole(_) => true,
    }
}

/// The guard's policy and its binding, as YAML documents for `--dry-run`.
pub fn guard_yaml() -> Result<String, Unrenderable> {
    let docs = [
        object_yaml(&guard_policy())?,
        object_yaml(&guard_binding())?,
    ];
    Ok(docs.iter().map(|d| format!("---\n{d}")).collect())
}

/// Whether the server's refusal of a path's dry run (`code`, its message `reason`) proves the
/// path closed: RBAC refused the write itself (`User "…" cannot …`), Pod Security refused the
/// node-escaping pod, or kscope's guard refused the change. Any other refusal (a validation
/// error, a quota, another admission policy or webhook, an authorizer that failed) was about
/// something else, and the path may be open to a write that avoids it.
pub fn refusal_proves(path: &PathOut, code: u16, reason: &str) -> bool {
    let rbac = code == 403 && reason.contains("User \"") && reason.contains("\" cannot ");
    match path {
        PathOut::HostPod { .. } => rbac || (code == 403 && reason.contains("violates PodSecurity")),
        PathOut::StrongerAccount { .. } => false,
        // Asked as the caller (pods come from controllers too): only the policy's refusal.
        PathOut::CachedImage { .. } => {
            reason.contains(&format!("ValidatingAdmissionPolicy '{ALWAYS_PULL_NAME}'"))
        }
        _ => rbac || reason.contains(&format!("ValidatingAdmissionPolicy '{}'", GUARD_NAME)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rbac_pod_security_and_the_guard_prove_a_path_closed() {
        let pod = PathOut::HostPod {
            namespace: "team".into(),
            home: true,
        };
        let relabel = PathOut::NamespaceRelabel {
            namespace: "team".into(),
            home: true,
        };
        let rbac = r#"pods is forbidden: User "system:serviceaccount:team:ci" cannot create resource "pods" in API group "" in the namespace "team""#;
        let psa = r#"pods "kscope-probe" is forbidden: violates PodSecurity "baseline:latest": privileged"#;
        let guard = format!(
            "namespaces \"team\" is forbidden: ValidatingAdmissionPolicy '{GUARD_NAME}' with binding '{GUARD_NAME}.team' denied request: tenants may not relabel"
        );
        let other = r#"admission webhook "validate.example.com" denied the request: images must come from our registry"#;
        let invalid = r#"Pod "kscope-probe" is invalid: spec.containers[0].image: Required value"#;
        assert!(refusal_proves(&pod, 403, rbac));
        assert!(refusal_proves(&pod, 403, psa));
        assert!(
            !refusal_proves(&pod, 403, &guard),
            "the guard does not judge pods"
        );
        assert!(!refusal_proves(&pod, 403, other));
        assert!(!refusal_proves(&pod, 422, invalid));
        assert!(refusal_proves(&relabel, 403, rbac));
        assert!(refusal_proves(&relabel, 403, &guard));
        assert!(refusal_proves(&relabel, 422, &guard));
        assert!(!refusal_proves(&relabel, 403, psa));
        assert!(!refusal_proves(
            &relabel,
            500,
            "webhook authorizer: connection refused"
        ));
    }
    use crate::spec::{AUDIT_LABEL, ENFORCE_LABEL, PodSecurity, SYSTEM_NAMESPACES, WARN_LABEL};
    use crate::templates::built_ins;

    fn template(name: &str) -> Vec<PolicyRule> {
        built_ins()
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.rules)
            .unwrap()
    }

    #[test]
    fn each_built_in_reaches_what_it_really_reaches() {
        let admin = Reach::of(&template("namespace-admin"));
        assert!(admin.pods && admin.other_service_accounts && admin.grant_objects);
        // Spelled out: its Namespace, Endpoints and EndpointSlices are read only.
        assert!(!admin.namespace && !admin.endpoints && admin.needs_guard());
        for (group, resource) in [
            ("", "resourcequotas"),
            ("", "limitranges"),
            ("", "services/status"),
        ] {
            for verb in ["create", "update", "patch", "delete"] {
                let permission = Permission::new(group, resource, verb);
                assert!(
                    !allows(&template("namespace-admin"), &permission),
                    "{resource} {verb}"
                );
            }
        }
        let developer = Reach::of(&template("developer"));
        assert!(developer.pods && developer.other_service_accounts);
        assert!(!developer.namespace && !developer.endpoints);
        let deployer = Reach::of(&template("deployer"));
        assert!(deployer.pods && deployer.other_service_accounts && deployer.grant_objects);
        let reader = Reach::of(&template("read-only"));
        assert_eq!(reader, Reach::default());
        assert!(!reader.needs_guard());
        let said = deployer.sentences(&template("deployer"));
        assert!(
            said.iter()
                .any(|s| s.contains("Secret writes are Secret reads")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|s| s.contains("mount every Secret")),
            "{said:?}"
        );
    }

    #[test]
    fn what_the_templates_reach_is_said() {
        let admin = template("namespace-admin");
        let said = Reach::of(&admin).sentences(&admin);
        assert!(said.contains(&"may mint tokens for the namespace's other ServiceAccounts"));
        let reader = template("read-only");
        assert!(Reach::of(&reader).sentences(&reader).is_empty());
    }

    #[test]
    fn cluster_roles_that_escalate_are_named() {
        let rule = |resources: &[&str], verbs: &[&str]| PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(resources.iter().map(|s| s.to_string()).collect()),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(cluster_role_escalations("cluster-admin", &[]).len(), 1);
        let edit_like = [
            rule(&["serviceaccounts"], &["impersonate"]),
            rule(&["pods"], &["create"]),
        ];
        assert!(cluster_role_escalations("edit", &edit_like).is_empty());
        let found = cluster_role_escalations(
            "x",
            &[
                rule(&["users", "groups"], &["impersonate"]),
                rule(&["roles"], &["bind"]),
                rule(&["pods"], &["*"]),
            ],
        );
        assert_eq!(
            found,
            [
                "rule 1 grants impersonate on users, groups",
                "rule 2 grants bind on roles",
                "rule 3 grants every verb on pods"
            ]
        );
    }

    #[test]
    fn pod_security_labels_and_names() {
        let labels = PodSecurity::default().labels();
        assert_eq!(labels[ENFORCE_LABEL], "baseline");
        assert_eq!(labels[WARN_LABEL], "restricted");
        assert_eq!(labels[AUDIT_LABEL], "restricted");
        for level in ["restricted", "baseline", "privileged"] {
            assert_eq!(PodSecurity::parse(level).unwrap().to_string(), level);
        }
        assert_eq!(PodSecurity::parse("Baseline"), None);
        assert!(SYSTEM_NAMESPACES.contains(&"kube-node-lease"));
    }

    #[test]
    fn one_binding_guards_every_namespace_and_a_narrowed_one_does_not_hold() {
        let binding = guard_binding();
        assert!(binding_holds(&binding));
        assert_eq!(binding.metadata.name.as_deref(), Some(GUARD_NAME));
        let mut narrowed = binding.clone();
        narrowed.spec.as_mut().unwrap().match_resources = Some(MatchResources {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("team".to_string(), "x".to_string())])),
                match_expressions: None,
            }),
            ..Default::default()
        });
        assert!(!binding_holds(&narrowed));
        let mut warn_only = binding;
        warn_only.spec.as_mut().unwrap().validation_actions = Some(vec!["Warn".into()]);
        assert!(!binding_holds(&warn_only));
        assert_eq!(
            old_binding_namespace("kscope-tenant-guard.team-a"),
            Some("team-a")
        );
        assert_eq!(old_binding_namespace(GUARD_NAME), None);
        let policy = guard_policy().spec.unwrap();
        assert_eq!(policy.validations.unwrap().len(), 11);
        assert_eq!(policy.match_conditions.unwrap().len(), 2);
        // Every validation is about tenant namespaces only: each starts by letting others by.
        for validation in guard_policy().spec.unwrap().validations.unwrap() {
            assert!(
                validation.expression.starts_with("!variables.tenant || "),
                "{}",
                validation.expression
            );
        }
    }
}
