//! The access matrix of `check`: which questions to ask the API server as the ServiceAccount,
//! what the grant says each answer should be, and how the answers compare. Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use serde::Serialize;

use crate::object::BoundRole;

use crate::rules::{self, Permission, RBAC_GROUP};
use crate::spec::{parse_service_account_user, service_account_user};

mod attempts;
mod paths;
pub use attempts::{
    PROBE_POD, SYSTEM_PRIORITY, SYSTEM_PRIORITY_CLASSES, named_volume_claim, node_escaping_pod,
    outside_binding, reaching_service, restricted_pod, system_priority_pod,
};
pub use paths::{PathOut, PathProbe};

/// The verbs of the matrix's columns.
pub const VERBS: [&str; 4] = ["get", "list", "create", "delete"];

/// The rows probed in every namespace: (API group, resource, verbs asked). The last three ask
/// the verbs that would let a tenant step outside its grant.
const NAMESPACED: [(&str, &str, &[&str]); 11] = [
    ("", "pods", &VERBS),
    ("", "pods/log", &["get"]),
    ("apps", "deployments", &VERBS),
    ("", "services", &VERBS),
    ("", "configmaps", &VERBS),
    ("", "secrets", &VERBS),
    (RBAC_GROUP, "roles", &VERBS),
    (RBAC_GROUP, "rolebindings", &VERBS),
    (RBAC_GROUP, "roles", &["escalate", "bind"]),
    ("", "serviceaccounts", &["impersonate"]),
    ("", "serviceaccounts/token", &["create"]),
];

/// Cluster-scoped rows: reads outside any namespace, and RBAC escalation. Always denied,
/// since a RoleBinding cannot reach beyond its namespace.
const CLUSTER: [(&str, &str, &[&str]); 4] = [
    ("", "nodes", &["get", "list"]),
    ("", "namespaces", &["list", "create"]),
    (RBAC_GROUP, "clusterroles", &["create"]),
    (RBAC_GROUP, "clusterrolebindings", &["create"]),
];

/// Namespaces that must stay out of reach of every tenant: two of them are probed, the first
/// two that are not the tenant's own (a grant made in a system namespace with
/// `--allow-system-namespace` is still probed outside it twice).
pub const FORBIDDEN_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// One question, and the answer the grant implies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// `None` for cluster scope.
    pub namespace: Option<String>,
    #[serde(flatten)]
    pub permission: Permission,
    pub expected: bool,
    /// Allowed to every authenticated user or ServiceAccount by the bindings that come with
    /// Kubernetes (`kubernetes.io/bootstrapping: rbac-defaults`), not by the grant.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    #[serde(flatten)]
    pub probe: Probe,
    pub allowed: bool,
    /// The authorizer's reason: for an allow, the binding and role that allowed it. Only
    /// a SelfSubjectAccessReview gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(rename = "answeredBy")]
    pub answered_by: AnsweredBy,
    /// What the authorizer chain said when it could not decide (a webhook that failed, a
    /// binding to a role that does not exist): a denial that carries one proves nothing.
    #[serde(rename = "evaluationError", skip_serializing_if = "Option::is_none")]
    pub evaluation_error: Option<String>,
}

/// Which of the API server's reviews gave an answer, both asked as the ServiceAccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AnsweredBy {
    /// One question, one review: the authorizer's decision and its reason.
    SelfSubjectAccessReview,
    /// Read off the rules the authorizer lists for the credential in a namespace (one review
    /// per namespace), when that list was complete and agreed with the grant.
    SelfSubjectRulesReview,
}

impl Probe {
    /// Where the question was asked, for a sentence: `in <namespace>` or `at cluster scope`.
    pub fn scope(&self) -> String {
        scope_of(self.namespace.as_deref())
    }
}

/// Where a question is asked, for a sentence: `in <namespace>` or `at cluster scope`.
pub fn scope_of(namespace: Option<&str>) -> String {
    namespace.map_or("at cluster scope".to_string(), |n| format!("in {n}"))
}

impl Answer {
    pub fn matches(&self) -> bool {
        self.allowed == self.probe.expected
    }

    /// `unproven: <permission> <scope>: <evaluationError>`, as lists of reasons say it.
    pub fn unproven_words(&self) -> String {
        format!(
            "unproven: {} {}: {}",
            self.probe.permission,
            self.probe.scope(),
            self.evaluation_error.as_deref().unwrap_or_default()
        )
    }

    /// Denied while an authorizer could not decide: the answer is neither proof of a denial
    /// nor of a difference. (An allow stands: some authorizer did allow it.)
    pub fn unproven(&self) -> bool {
        !self.allowed && self.evaluation_error.is_some()
    }

    /// Allowed although the grant does not explain it: access from somewhere else.
    pub fn unexpected_allow(&self) -> bool {
        self.allowed && !self.probe.expected
    }
}

/// The tenant namespace and its other namespaces (`also_in`), then two namespaces that
/// must stay out of its reach.
pub fn probed_namespaces_in(tenant: &str, also_in: &[String], reached: &[String]) -> Vec<String> {
    let mut namespaces = vec![tenant.to_string()];
    namespaces.extend(also_in.iter().cloned());
    namespaces.extend(
        FORBIDDEN_NAMESPACES
            .iter()
            .filter(|n| **n != tenant && !also_in.iter().any(|o| o == *n))
            .take(2)
            .map(|n| n.to_string()),
    );
    for namespace in reached {
        if !namespaces.contains(namespace) {
            namespaces.push(namespace.clone());
        }
    }
    namespaces
}

/// Which ServiceAccounts a binding's subject gives access to: one (by its kind or its user
/// name), every one of a namespace (`system:serviceaccounts:<ns>`), or all of them
/// (`system:serviceaccounts`, `system:authenticated`). Other subjects give none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grantee {
    Account { namespace: String, name: String },
    AccountsOf(String),
    AllAccounts,
}

impl Grantee {
    /// The ServiceAccounts `subject` of a binding in `binding_namespace` stands for.
    pub fn of(subject: &Subject, binding_namespace: &str) -> Option<Grantee> {
        match subject.kind.as_str() {
            "ServiceAccount" => Some(Grantee::Account {
                namespace: subject
                    .namespace
                    .clone()
                    .unwrap_or_else(|| binding_namespace.to_string()),
                name: subject.name.clone(),
            }),
            "User" => parse_service_account_user(&subject.name).map(|(namespace, name)| {
                Grantee::Account {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }),
            "Group" => match subject.name.as_str() {
                "system:serviceaccounts" | "system:authenticated" => Some(Grantee::AllAccounts),
                group => group
                    .strip_prefix("system:serviceaccounts:")
                    .map(|ns| Grantee::AccountsOf(ns.to_string())),
            },
            _ => None,
        }
    }

    /// The grantees that include ServiceAccount `namespace/name`: the keys to look it up by.
    pub fn including(namespace: &str, name: &str) -> [Grantee; 3] {
        [
            Grantee::Account {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            Grantee::AccountsOf(namespace.to_string()),
            Grantee::AllAccounts,
        ]
    }
}

/// The fixed matrix's questions in one namespace: what an identity there may do.
pub fn namespaced_questions(namespace: &str) -> Vec<(Option<String>, Permission)> {
    NAMESPACED
        .iter()
        .flat_map(|(group, resource, verbs)| {
            verbs.iter().map(move |verb| {
                (
                    Some(namespace.to_string()),
                    Permission::new(group, resource, verb),
                )
            })
        })
        .collect()
}

/// The questions for a grant in `tenant` whose role has `rules`, and that also holds it in
/// `also_in`: those namespaces are expected to follow the rules; two namespaces outside
/// (`default`, `kube-system`) and cluster scope to deny all.
pub fn probes_in(
    tenant: &str,
    also_in: &[String],
    reached: &[String],
    rules: &[PolicyRule],
) -> Vec<Probe> {
    let namespaces = probed_namespaces_in(tenant, also_in, reached);
    let granted = |namespace: &str| namespace == tenant || also_in.iter().any(|o| o == namespace);
    let mut probes = Vec::new();
    for namespace in &namespaces {
        for (group, resource, verbs) in NAMESPACED {
            for verb in verbs {
                let permission = Permission::new(group, resource, verb);
                let expected = granted(namespace) && rules::allows(rules, &permission);
                probes.push(Probe {
                    namespace: Some(namespace.clone()),
                    permission,
                    expected,
                    baseline: false,
                });
            }
        }
    }
    for (group, resource, verbs) in CLUSTER {
        for verb in verbs {
            probes.push(Probe {
                namespace: None,
                permission: Permission::new(group, resource, verb),
                expected: false,
                baseline: false,
            });
        }
    }
    probes
}

/// What complete rules reviews settle, probe by probe: `Some(answer)` where the rules the
/// authorizer listed decide the probe *and* agree with the grant's expectation; `None` where a
/// SelfSubjectAccessReview must be asked (it is authoritative and names the source of an
/// allow). `listed` holds, per namespace, the rules of a complete SelfSubjectRulesReview.
///
/// A namespace's list holds the rules of every ClusterRoleBinding plus the RoleBindings of
/// that namespace, so a request at cluster scope (ClusterRoleBindings only) that some list
/// does not allow is denied; one that every list allows may still come from RoleBindings
/// alone, and is asked, unless the baseline (ClusterRoleBindings the caller read) expects it.
pub fn settle(probes: &[Probe], listed: &BTreeMap<String, Vec<PolicyRule>>) -> Vec<Option<bool>> {
    probes
        .iter()
        .map(|probe| {
            let allowed = match &probe.namespace {
                Some(namespace) => listed
                    .get(namespace)
                    .map(|rules| rules::allows(rules, &probe.permission)),
                // Denied where some list does not allow it. Allowed where every list allows
                // it and the grant expects it: at cluster scope only Kubernetes' own
                // ClusterRoleBindings (the baseline) make that expectation, and a
                // ClusterRoleBinding's rules are in every namespace's list.
                None if listed.is_empty() => None,
                None => Some(
                    listed
                        .values()
                        .all(|rules| rules::allows(rules, &probe.permission)),
                )
                .filter(|allowed| !allowed || probe.baseline),
            };
            allowed.filter(|allowed| *allowed == probe.expected)
        })
        .collect()
}

/// One served resource for `--all-resources`: (group, resource, namespaced, verbs).
pub type ServedResource<'a> = (&'a str, &'a str, bool, &'a [String]);

/// The questions for `check --all-resources`: every served resource and verb, in the tenant
/// namespace, `default` and `kube-system` for namespaced ones and at cluster scope for the
/// others. Expected: the role's rules in the tenant namespace (a RoleBinding reaches nothing
/// else), plus the Kubernetes baseline everywhere, marked as such.
pub fn all_probes(
    tenant: &str,
    also_in: &[String],
    reached: &[String],
    rules: &[PolicyRule],
    baseline: &[PolicyRule],
    served: &[ServedResource],
) -> Vec<Probe> {
    let namespaces = probed_namespaces_in(tenant, also_in, reached);
    let mut probes = Vec::new();
    let mut ask = |namespace: Option<&String>, group: &str, resource: &str, verb: &str| {
        let permission = Permission::new(group, resource, verb);
        let granted = namespace.is_some_and(|n| n == tenant || also_in.contains(n))
            && rules::allows(rules, &permission);
        let base = rules::allows(baseline, &permission);
        probes.push(Probe {
            namespace: namespace.cloned(),
            permission,
            expected: granted || base,
            baseline: base && !granted,
        });
    };
    for (group, resource, namespaced, verbs) in served {
        for verb in verbs.iter() {
            if *namespaced {
                for namespace in &namespaces {
                    ask(Some(namespace), group, resource, verb);
                }
            } else {
                ask(None, group, resource, verb);
            }
        }
    }
    probes
}

/// How a check asks its questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// One SelfSubjectRulesReview per namespace probed settles what its list decides in
    /// agreement with the grant; a SelfSubjectAccessReview answers everything else.
    #[serde(rename = "rulesReviewFirst")]
    RulesReviewFirst,
    /// One SelfSubjectAccessReview per question (`--access-reviews`), for authorizers whose
    /// rules review is not to be trusted.
    #[serde(rename = "accessReviewEach")]
    AccessReviewEach,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessCheck {
    pub namespace: String,
    pub service_account: String,
    /// How the answers were asked.
    pub mode: Mode,
    /// The username the API server saw.
    pub identity: String,
    /// The grant's RoleBinding against the access it records; `None` when not read.
    pub binding: Option<Binding>,
    pub answers: Vec<Answer>,
    /// The paths out of the namespace that RBAC does not show, each tried as the
    /// ServiceAccount; every one must be refused.
    pub containment: Vec<PathProbe>,
    /// The namespace's enforced Pod Security level, as read (`None`: no label, or unreadable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_security: Option<crate::spec::Enforced>,
    /// Every namespace the matrix asked about: the grant's, `default`, `kube-system`, and each
    /// one a binding of the ServiceAccount (or of a group it belongs to) reaches.
    pub namespaces: Vec<String>,
    /// Whether the bindings of the other namespaces could be read (by the caller): when not,
    /// namespaces that some binding reaches may be missing from `namespaces`.
    pub bindings_read: bool,
    /// What the grant's namespace opens to its tenant (`--allow-service`), as its Namespace's
    /// label says: not tried as paths out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub opened: Vec<String>,
    /// Set when the authorizer chain could not list the ServiceAccount's rules (a webhook or
    /// another authorizer beyond RBAC): what it said, and how far the check went beyond the
    /// bindings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beyond_rbac: Option<BeyondRbac>,
    /// What kind of credential the grant holds (long-lived, or bound with its expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<crate::expiry::CredentialKind>,
}

/// What a check did where authorization goes beyond RBAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BeyondRbac {
    /// The rules review's `evaluationError`.
    pub evaluation_error: String,
    /// The other ServiceAccounts judged by SubjectAccessReview (`namespace/name`), each asked
    /// every question the grant is denied.
    pub neighbours_asked: Vec<String>,
    /// How many questions each of them was asked.
    pub questions: usize,
}

/// What the grant's RoleBinding binds, against what the grant's access says it must bind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// `namespace/name` of the RoleBinding.
    pub name: String,
    /// The role the grant binds.
    pub expected: BoundRole,
    /// What it binds; `Some(None)` when it is missing; `None` when it could not be read.
    pub actual: Option<Option<BoundRole>>,
}

impl Binding {
    pub fn matches(&self) -> bool {
        match &self.actual {
            Some(actual) => actual.as_ref() == Some(&self.expected),
            None => true,
        }
    }
}

impl AccessCheck {
    /// `system:serviceaccount:<ns>:<sa>`: who the credential must be.
    pub fn expected_identity(&self) -> String {
        service_account_user(&self.namespace, &self.service_account)
    }

    pub fn identity_matches(&self) -> bool {
        self.identity == self.expected_identity()
    }

    /// The answers that differ from the grant (an unproven denial is not among them).
    pub fn mismatches(&self) -> Vec<&Answer> {
        self.answers
            .iter()
            .filter(|a| !a.matches() && !a.unproven())
            .collect()
    }

    /// The answers the authorizer chain could not give.
    pub fn unproven_answers(&self) -> Vec<&Answer> {
        self.answers.iter().filter(|a| a.unproven()).collect()
    }

    /// The paths out whose refusal proves nothing.
    pub fn unproven_paths(&self) -> Vec<&PathProbe> {
        self.containment.iter().filter(|p| p.unproven).collect()
    }

    pub fn binding_matches(&self) -> bool {
        self.binding.as_ref().is_none_or(Binding::matches)
    }

    /// The paths out of the namespace that are open.
    pub fn open_paths(&self) -> Vec<&PathProbe> {
        self.containment
            .iter()
            .filter(|p| !p.refused && !p.unproven)
            .collect()
    }

    pub fn all_match(&self) -> bool {
        self.identity_matches()
            && self.binding_matches()
            && self.mismatches().is_empty()
            && self.open_paths().is_empty()
    }

    /// Whether everything asked was proven one way or the other.
    pub fn proven(&self) -> bool {
        self.unproven_answers().is_empty() && self.unproven_paths().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates;
    use crate::test_support::rule;

    /// Every path of a grant in `team` that also holds `other`, and one stronger account.
    fn paths() -> Vec<PathOut> {
        let team = || "team".to_string();
        let other = || "other".to_string();
        vec![
            PathOut::HostPod {
                namespace: team(),
                home: true,
            },
            PathOut::NamespaceRelabel {
                namespace: team(),
                home: true,
            },
            PathOut::ServiceAccountUnlabel {
                namespace: team(),
                name: "ci".into(),
            },
            PathOut::RoleBindingChange {
                namespace: team(),
                name: "ci".into(),
            },
            PathOut::EndpointsWrite { namespace: team() },
            PathOut::HostPod {
                namespace: other(),
                home: false,
            },
            PathOut::NamespaceRelabel {
                namespace: other(),
                home: false,
            },
            PathOut::EndpointsWrite { namespace: other() },
            PathOut::StrongerAccount {
                namespace: team(),
                service_account: "boss".into(),
            },
        ]
    }

    #[test]
    fn a_path_has_a_stable_id_a_distinct_key_and_its_sentence() {
        let all = paths();
        let mut keys: Vec<String> = all.iter().map(PathOut::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len(), "{keys:?}");
        let probe = PathProbe {
            path: all[1].clone(),
            expected: "refused",
            refused: true,
            unproven: false,
            reason: "403: kscope's guard".into(),
        };
        let json = serde_json::to_value(&probe).unwrap();
        assert_eq!(json["path"], "relabel its Namespace team");
        assert_eq!(json["id"], "namespace-relabel");
        assert_eq!(json["refused"], true);
        assert_eq!(
            all[8].to_string(),
            "act as ServiceAccount system:serviceaccount:team:boss, which holds more than the grant"
        );
        assert_eq!(
            all[5].to_string(),
            "create a pod that takes its node in other"
        );
    }

    #[test]
    fn the_walkthrough_role_allows_the_tenant_namespace_only() {
        let admin = templates::built_ins().remove(0);
        let probes = probes_in("ask", &[], &[], &admin.rules);
        let allowed: Vec<&Probe> = probes.iter().filter(|p| p.expected).collect();
        assert!(
            allowed
                .iter()
                .all(|p| p.namespace.as_deref() == Some("ask"))
        );
        // Every namespaced probe in ask, and serviceaccounts/token create (its wildcard
        // resources reach it), but never escalate, bind or impersonate.
        assert_eq!(allowed.len(), 7 * 4 + 1 + 1, "{allowed:?}");
        assert!(
            allowed
                .iter()
                .all(|p| !["escalate", "bind", "impersonate"].contains(&p.permission.verb.as_str()))
        );
        assert!(
            probes
                .iter()
                .any(|p| p.namespace.as_deref() == Some("kube-system"))
        );
        assert!(
            probes
                .iter()
                .filter(|p| p.namespace.is_none())
                .all(|p| !p.expected)
        );
    }

    #[test]
    fn read_only_expects_no_secrets_and_no_writes() {
        let read_only = templates::built_ins()
            .into_iter()
            .find(|t| t.name == "read-only")
            .unwrap();
        let probes = probes_in("team", &[], &[], &read_only.rules);
        let in_team = |resource: &str, verb: &str| {
            probes
                .iter()
                .find(|p| {
                    p.namespace.as_deref() == Some("team")
                        && p.permission.resource == resource
                        && p.permission.verb == verb
                })
                .unwrap()
                .expected
        };
        assert!(in_team("pods", "list"));
        assert!(in_team("pods/log", "get"));
        assert!(!in_team("pods", "create"));
        assert!(!in_team("secrets", "get"));
        assert!(!in_team("rolebindings", "list"));
    }

    #[test]
    fn a_tenant_in_default_is_not_probed_twice() {
        let probes = probes_in("default", &[], &[], &[]);
        let defaults = probes
            .iter()
            .filter(|p| p.namespace.as_deref() == Some("default"))
            .count();
        assert_eq!(defaults, 7 * 4 + 1 + 4);
    }

    /// What a clean cluster lists for a fresh `namespace-admin` grant in `ask`: the role in
    /// its namespace, Kubernetes' self-reviews everywhere.
    fn clean_lists(role: &[PolicyRule]) -> BTreeMap<String, Vec<PolicyRule>> {
        let baseline = rule(
            &["authorization.k8s.io", "authentication.k8s.io"],
            &[
                "selfsubjectaccessreviews",
                "selfsubjectrulesreviews",
                "selfsubjectreviews",
            ],
            &["create"],
        );
        let mut tenant = role.to_vec();
        tenant.push(baseline.clone());
        BTreeMap::from([
            ("ask".to_string(), tenant),
            ("default".to_string(), vec![baseline.clone()]),
            ("kube-system".to_string(), vec![baseline]),
        ])
    }

    #[test]
    fn complete_lists_that_agree_with_the_grant_settle_every_probe() {
        let role = templates::built_ins().remove(0).rules;
        let probes = probes_in("ask", &[], &[], &role);
        let settled = settle(&probes, &clean_lists(&role));
        for (probe, answer) in probes.iter().zip(&settled) {
            assert_eq!(*answer, Some(probe.expected), "{probe:?}");
        }
    }

    #[test]
    fn what_the_lists_do_not_settle_is_left_to_an_access_review() {
        let role = templates::built_ins().remove(0).rules;
        let probes = probes_in("ask", &[], &[], &role);
        let mut lists = clean_lists(&role);
        // A binding in default to a role that reads pods: an allow the grant does not explain.
        lists
            .get_mut("default")
            .unwrap()
            .push(rule(&[""], &["pods"], &["get", "list"]));
        // kube-system's list was incomplete (a webhook authorizer): nothing there is settled.
        lists.remove("kube-system");
        let settled = settle(&probes, &lists);
        for (probe, answer) in probes.iter().zip(&settled) {
            let namespace = probe.namespace.as_deref();
            let unexplained = namespace == Some("default")
                && probe.permission.resource == "pods"
                && ["get", "list"].contains(&probe.permission.verb.as_str());
            if unexplained || namespace == Some("kube-system") {
                assert_eq!(*answer, None, "{probe:?}");
            } else {
                assert_eq!(*answer, Some(probe.expected), "{probe:?}");
            }
        }
    }

    #[test]
    fn cluster_scope_is_denied_only_when_some_list_lacks_the_rule() {
        let nodes = Permission::new("", "nodes", "list");
        let probe = Probe {
            namespace: None,
            permission: nodes,
            expected: false,
            baseline: false,
        };
        let reads_nodes = rule(&[""], &["nodes"], &["list"]);
        // A RoleBinding in the tenant namespace to a ClusterRole that reads nodes: the rule is
        // listed there only, and reaches nothing at cluster scope.
        let mut lists = clean_lists(std::slice::from_ref(&reads_nodes));
        assert_eq!(settle(std::slice::from_ref(&probe), &lists), [Some(false)]);
        // A ClusterRoleBinding puts it in every namespace's list: only an access review can
        // tell whether cluster scope is reached.
        for rules in lists.values_mut() {
            rules.push(reads_nodes.clone());
        }
        assert_eq!(settle(std::slice::from_ref(&probe), &lists), [None]);
        // No complete list at all settles nothing.
        assert_eq!(settle(&[probe], &BTreeMap::new()), [None]);
    }

    #[test]
    fn an_expected_allow_the_list_lacks_is_asked_again() {
        let role = templates::built_ins().remove(0).rules;
        let probes = probes_in("ask", &[], &[], &role);
        // The Role is gone: the tenant's list holds the baseline only.
        let settled = settle(&probes, &clean_lists(&[]));
        for (probe, answer) in probes.iter().zip(&settled) {
            let expected = if probe.expected { None } else { Some(false) };
            assert_eq!(*answer, expected, "{probe:?}");
        }
    }

    #[test]
    fn a_binding_subject_reaches_one_account_a_namespace_or_all() {
        let subject = |kind: &str, name: &str, namespace: Option<&str>| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(String::from),
            ..Default::default()
        };
        let keys = Grantee::including("team", "ci");
        let reaches = |s: Subject| Grantee::of(&s, "b").is_some_and(|g| keys.contains(&g));
        assert!(reaches(subject("ServiceAccount", "ci", Some("team"))));
        assert!(
            !reaches(subject("ServiceAccount", "ci", None)),
            "a subject without namespace is the binding's"
        );
        assert!(reaches(subject(
            "User",
            "system:serviceaccount:team:ci",
            None
        )));
        assert!(reaches(subject("Group", "system:serviceaccounts", None)));
        assert!(reaches(subject("Group", "system:authenticated", None)));
        assert!(reaches(subject(
            "Group",
            "system:serviceaccounts:team",
            None
        )));
        assert!(!reaches(subject(
            "Group",
            "system:serviceaccounts:other",
            None
        )));
        assert!(!reaches(subject("User", "alice", None)));
        assert!(!reaches(subject("ServiceAccount", "other", Some("team"))));
    }
}
