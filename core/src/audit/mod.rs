//! The audit's rules: what is risky in a cluster's RBAC objects, ServiceAccounts, token
//! Secrets and admission policies, and why. Pure: `findings` sees the lists (the
//! `Inventory`, read by the binary's audit operation) and the time. Each rule (or family of
//! rules) is one function that returns its findings, each with a key made from names;
//! `findings` composes them. Kubernetes' own bindings are judged in `defaults`, the paths out
//! of a namespace in `containment`.

use std::collections::BTreeSet;

use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};

use k8s_openapi::api::core::v1::{
    LimitRange, Namespace, ResourceQuota, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::catalog::Rule;
use crate::grants::{LAST_USED_LABEL, Listed, rows};
use crate::kubeconfig::SecretToken;
use crate::manifest::{FIELD_MANAGER, MANAGED_BY};
use crate::object::{Kind, ObjectRef};
use crate::rules::{self, Permission, RBAC_GROUP};

mod bounds;
mod containment;
mod defaults;
mod expiry;
mod finding;
pub use bounds::unrecorded_quota_namespaces;
pub use containment::host_pod_candidates;
use defaults::{default_bindings, kubernetes_default};
pub use finding::{Accepted, Finding};

/// The label the API server puts on a legacy token it invalidated.
pub const INVALID_SINCE_LABEL: &str = "kubernetes.io/legacy-token-invalid-since";
const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");
const BROAD_GROUPS: [&str; 3] = [
    "system:serviceaccounts",
    "system:authenticated",
    "system:unauthenticated",
];

pub use crate::catalog::Severity;

/// Everything the audit looks at.
#[derive(Debug, Default)]
pub struct Inventory {
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_roles: Vec<ClusterRole>,
    pub roles: Vec<Role>,
    pub service_accounts: Vec<ServiceAccount>,
    /// Secrets of type `kubernetes.io/service-account-token`.
    pub token_secrets: Vec<Secret>,
    /// kscope's bound token Secrets (type `kscope.dev/bound-token`), which record when their
    /// token expires.
    pub bound_secrets: Vec<Secret>,
    pub namespaces: Vec<Namespace>,
    /// ValidatingAdmissionPolicies and their bindings (kscope's guard among them).
    pub guard_policies: Vec<ValidatingAdmissionPolicy>,
    pub guard_bindings: Vec<ValidatingAdmissionPolicyBinding>,
    /// The namespaces whose dry run admitted a pod that takes its node.
    pub admit_host_pods: BTreeSet<String>,
    /// Every ResourceQuota, LimitRange, NetworkPolicy and Service (for the tenant
    /// namespaces' bounds and the Services that reach outside them).
    pub resource_quotas: Vec<ResourceQuota>,
    pub limit_ranges: Vec<LimitRange>,
    pub network_policies: Vec<NetworkPolicy>,
    pub services: Vec<Service>,
    /// Set when the authorizer chain could not list the caller's own rules (a webhook or
    /// another authorizer beyond RBAC): what it said. The findings that read RBAC objects
    /// ([`Rule::RESTS_ON_RBAC`]) then cannot see what that authorizer gives.
    ///
    /// [`Rule::RESTS_ON_RBAC`]: crate::catalog::Rule::RESTS_ON_RBAC
    pub beyond_rbac: Option<String>,
}

/// What `audit` says when authorization goes beyond RBAC (`error`: the rules review's words):
/// which of its rules this leaves incomplete.
pub fn beyond_rbac_note(error: &str) -> String {
    let ids: Vec<&str> = crate::catalog::Rule::RESTS_ON_RBAC
        .iter()
        .map(|r| r.id())
        .collect();
    format!(
        "authorization on this cluster goes beyond RBAC (the API server could not list the caller's rules: {}): {} read RBAC objects only and do not see what the other authorizer allows, so their absence proves nothing there; kscope check asks the API server itself",
        crate::text::printable(error),
        ids.join(", ")
    )
}

fn label<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.labels.as_ref()?.get(key).map(String::as_str)
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

fn bootstrap(meta: &ObjectMeta) -> bool {
    label(meta, BOOTSTRAP_LABEL.0) == Some(BOOTSTRAP_LABEL.1)
}

/// A binding, cluster-wide or in one namespace.
struct Binding<'a> {
    object: ObjectRef,
    namespace: Option<&'a str>,
    meta: &'a ObjectMeta,
    role_ref: &'a RoleRef,
    subjects: &'a [Subject],
}

impl Binding<'_> {
    /// (namespace, name) of each ServiceAccount the binding binds.
    fn service_accounts(&self) -> Vec<(String, String)> {
        self.subjects
            .iter()
            .filter(|s| s.kind == "ServiceAccount")
            .map(|s| {
                let ns = s
                    .namespace
                    .as_deref()
                    .or(self.namespace)
                    .unwrap_or_default();
                (ns.to_string(), s.name.clone())
            })
            .collect()
    }
}

impl Inventory {
    fn bindings(&self) -> Vec<Binding<'_>> {
        let cluster = self.cluster_role_bindings.iter().map(|b| Binding {
            object: ObjectRef::cluster_scoped(Kind::ClusterRoleBinding, name(&b.metadata)),
            namespace: None,
            meta: &b.metadata,
            role_ref: &b.role_ref,
            subjects: b.subjects.as_deref().unwrap_or_default(),
        });
        let namespaced = self.role_bindings.iter().map(|b| Binding {
            object: ObjectRef::namespaced(
                Kind::RoleBinding,
                b.metadata.namespace.as_deref().unwrap_or_default(),
                name(&b.metadata),
            ),
            namespace: b.metadata.namespace.as_deref(),
            meta: &b.metadata,
            role_ref: &b.role_ref,
            subjects: b.subjects.as_deref().unwrap_or_default(),
        });
        cluster.chain(namespaced).collect()
    }

    fn rules_of(&self, role_ref: &RoleRef, namespace: Option<&str>) -> Vec<PolicyRule> {
        let found = if role_ref.kind == "ClusterRole" {
            self.cluster_roles
                .iter()
                .find(|r| name(&r.metadata) == role_ref.name)
                .and_then(|r| r.rules.clone())
        } else {
            self.roles
                .iter()
                .find(|r| {
                    name(&r.metadata) == role_ref.name
                        && r.metadata.namespace.as_deref() == namespace
                })
                .and_then(|r| r.rules.clone())
        };
        found.unwrap_or_default()
    }

    /// What Kubernetes' own bindings give every authenticated user and ServiceAccount.
    fn baseline(&self) -> Vec<PolicyRule> {
        self.bindings()
            .iter()
            .filter(|b| kubernetes_default(b))
            .filter(|b| b.subjects.iter().any(broad_subject))
            .flat_map(|b| self.rules_of(b.role_ref, None))
            .collect()
    }
}

fn broad_group(group: &str) -> bool {
    BROAD_GROUPS.contains(&group) || group.starts_with("system:serviceaccounts:")
}

/// A subject that stands for many: a broad group, or the anonymous user.
fn broad_subject(subject: &Subject) -> bool {
    (subject.kind == "Group" && broad_group(&subject.name))
        || (subject.kind == "User" && subject.name == "system:anonymous")
}

/// Whether rules hand out power over the whole cluster: everything, every Secret, or the
/// verbs that step outside RBAC.
fn powerful(rules: &[PolicyRule]) -> Option<&'static str> {
    let can = |group: &str, resource: &str, verb: &str| {
        rules::allows(rules, &Permission::new(group, resource, verb))
    };
    if can("*", "*", "*") || can("", "*", "*") && can(RBAC_GROUP, "*", "*") {
        Some("everything (cluster-admin)")
    } else if can("", "secrets", "get") || can("", "secrets", "list") {
        Some("reading every Secret")
    } else if can(RBAC_GROUP, "clusterroles", "escalate")
        || can(RBAC_GROUP, "roles", "escalate")
        || can(RBAC_GROUP, "clusterroles", "bind")
    {
        Some("RBAC escalation")
    } else {
        None
    }
}

/// What the audit's time-bound rules measure against, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// A long-lived token is unused when it is older than this and was not used within it.
    pub unused_for: i64,
    /// A bound token is reported as expiring when it ends within this.
    pub expiring_within: i64,
}

/// The findings about `inventory` at `now` (seconds since the epoch), most severe first.
pub fn findings(inventory: &Inventory, now: i64, thresholds: Thresholds) -> Vec<Finding> {
    let unused_for = thresholds.unused_for;
    let bindings = inventory.bindings();
    let mut found = powerful_tokens(inventory, &bindings);
    found.extend(invalidated_tokens(inventory));
    found.extend(unused_tokens(inventory, now, unused_for));
    found.extend(default_bindings(inventory, &bindings));
    found.extend(broad_group_bindings(inventory, &bindings));
    found.extend(missing_service_accounts(inventory, &bindings));
    found.extend(drifted_grants(inventory));
    found.extend(containment::findings(inventory));
    found.extend(bounds::findings(inventory, &bindings));
    found.extend(expiry::findings(inventory, now, thresholds.expiring_within));
    found.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.cmp(&b.object))
    });
    found
}

/// A filled token Secret, with the ServiceAccount it belongs to.
struct Token<'a> {
    secret: &'a Secret,
    namespace: String,
    /// The Secret.
    object: ObjectRef,
    service_account: &'a str,
}

impl Token<'_> {
    /// `ServiceAccount namespace/name`: what tells the token findings of one Secret apart.
    fn account(&self) -> String {
        format!("ServiceAccount {}/{}", self.namespace, self.service_account)
    }
}

/// The token Secrets that hold a token and name their ServiceAccount.
fn tokens(inventory: &Inventory) -> impl Iterator<Item = Token<'_>> {
    inventory.token_secrets.iter().filter_map(|secret| {
        let service_account = secret
            .metadata
            .annotations
            .as_ref()?
            .get("kubernetes.io/service-account.name")?;
        if !SecretToken::is_filled(secret) {
            return None;
        }
        let namespace = secret.metadata.namespace.clone().unwrap_or_default();
        Some(Token {
            object: ObjectRef::namespaced(Kind::Secret, &namespace, name(&secret.metadata)),
            namespace,
            service_account,
            secret,
        })
    })
}

/// `Kind name` of the role a binding binds (a binding's roleRef cannot change).
fn bound_role(binding: &Binding) -> String {
    format!("{} {}", binding.role_ref.kind, binding.role_ref.name)
}

/// KSCOPE-POWERFUL-TOKEN: a long-lived token of a ServiceAccount that a binding gives
/// cluster-admin, every Secret or RBAC escalation; one finding per such binding.
fn powerful_tokens(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    // (the ServiceAccount, the binding that reaches it, what it gives)
    let mut powers: Vec<((String, String), &ObjectRef, &'static str)> = Vec::new();
    for binding in bindings {
        let rules = inventory.rules_of(binding.role_ref, binding.namespace);
        let power = if binding.role_ref.name == "cluster-admin" {
            Some("everything (cluster-admin)")
        } else if binding.namespace.is_none() {
            powerful(&rules)
        } else {
            None
        };
        let Some(power) = power else { continue };
        for account in binding.service_accounts() {
            powers.push((account, &binding.object, power));
        }
    }
    let mut found = Vec::new();
    for token in tokens(inventory) {
        let (ns, sa) = (&token.namespace, token.service_account);
        for ((account_ns, account), binding, power) in &powers {
            if account_ns == ns && account == sa {
                found.push(Finding::new(
                    Rule::PowerfulToken,
                    token.object.clone(),
                    Some(ns.clone()),
                    binding.to_string(),
                    format!(
                        "a long-lived token of ServiceAccount {ns}/{sa}, which {binding} gives {power}"
                    ),
                ));
            }
        }
    }
    found
}

/// KSCOPE-TOKEN-INVALIDATED: a legacy token the API server marked invalid.
fn invalidated_tokens(inventory: &Inventory) -> Vec<Finding> {
    tokens(inventory)
        .filter_map(|token| {
            let since = label(&token.secret.metadata, INVALID_SINCE_LABEL)?;
            Some(Finding::new(
                Rule::TokenInvalidated,
                token.object.clone(),
                Some(token.namespace.clone()),
                token.account(),
                format!("the API server invalidated this token on {since}; delete the Secret"),
            ))
        })
        .collect()
}

/// KSCOPE-TOKEN-UNUSED: a valid long-lived token older than `unused_for` seconds, not used
/// within them.
fn unused_tokens(inventory: &Inventory, now: i64, unused_for: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    for token in tokens(inventory) {
        let meta = &token.secret.metadata;
        if label(meta, INVALID_SINCE_LABEL).is_some() {
            continue;
        }
        // Judged only once the token is older than the threshold: a token made a second ago
        // has not had the chance to be used.
        let Some(age) = meta
            .creation_timestamp
            .as_ref()
            .map(|t| now - t.0.as_second())
            .filter(|age| *age >= unused_for)
        else {
            continue;
        };
        let (ns, sa) = (&token.namespace, token.service_account);
        let idle = label(meta, LAST_USED_LABEL).map(|day| (day, days_since(day, now)));
        let message = match idle {
            None => format!(
                "the long-lived token of ServiceAccount {ns}/{sa} is {} days old and was never used",
                age / 86_400
            ),
            Some((day, Some(idle))) if idle * 86_400 >= unused_for => format!(
                "the long-lived token of ServiceAccount {ns}/{sa} is {} days old and was last used {idle} days ago ({day})",
                age / 86_400
            ),
            Some(_) => continue,
        };
        found.push(Finding::new(
            Rule::TokenUnused,
            token.object.clone(),
            Some(ns.clone()),
            token.account(),
            message,
        ));
    }
    found
}

/// The broad groups (and the anonymous user) a binding binds.
fn broad_groups<'a>(binding: &Binding<'a>) -> Vec<&'a str> {
    binding
        .subjects
        .iter()
        .filter(|s| broad_subject(s))
        .map(|s| s.name.as_str())
        .collect()
}

/// Whether the rules of ordinary bindings judge `binding`. Those with the bootstrapping label
/// that bind no broad group, and Kubernetes' own bindings of broad groups, are left to
/// [`default_bindings`]; a label on any other binding of broad groups hides nothing.
fn judged(binding: &Binding) -> bool {
    !bootstrap(binding.meta) || !(broad_groups(binding).is_empty() || kubernetes_default(binding))
}

/// KSCOPE-BROAD-GROUP-BINDING: a binding that gives broad groups more than every user gets
/// by default.
fn broad_group_bindings(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let baseline = inventory.baseline();
    let mut found = Vec::new();
    for binding in bindings.iter().filter(|b| judged(b)) {
        let groups = broad_groups(binding);
        if groups.is_empty() {
            continue;
        }
        let rules = inventory.rules_of(binding.role_ref, binding.namespace);
        let beyond = rules::missing(&baseline, &rules);
        if beyond.is_empty() {
            continue;
        }
        found.push(Finding::new(
            Rule::BroadGroupBinding,
            binding.object.clone(),
            binding.namespace.map(String::from),
            bound_role(binding),
            format!(
                "gives {} {} to {}: more than every user gets by default ({})",
                binding.role_ref.kind,
                binding.role_ref.name,
                groups.join(", "),
                beyond.into_iter().take(3).collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    found
}

/// KSCOPE-MISSING-SERVICEACCOUNT: a binding of a ServiceAccount that does not exist, which
/// whoever makes that name inherits; one finding per such ServiceAccount.
fn missing_service_accounts(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let accounts: BTreeSet<(String, String)> = inventory
        .service_accounts
        .iter()
        .map(|sa| {
            (
                sa.metadata.namespace.clone().unwrap_or_default(),
                name(&sa.metadata).to_string(),
            )
        })
        .collect();
    let mut found = Vec::new();
    for binding in bindings.iter().filter(|b| judged(b)) {
        for (ns, sa) in binding.service_accounts() {
            if !accounts.contains(&(ns.clone(), sa.clone())) {
                found.push(Finding::new(
                    Rule::MissingServiceAccount,
                    binding.object.clone(),
                    binding.namespace.map(String::from),
                    format!("ServiceAccount {ns}/{sa}"),
                    format!(
                        "binds ServiceAccount {ns}/{sa}, which does not exist: whoever creates it inherits {} {}",
                        binding.role_ref.kind, binding.role_ref.name
                    ),
                ));
            }
        }
    }
    found
}

/// KSCOPE-GRANT-DRIFTED: kscope's own grants that no longer match what kscope applied; one
/// finding per grant.
fn drifted_grants(inventory: &Inventory) -> Vec<Finding> {
    fn managed<T: k8s_openapi::Metadata<Ty = ObjectMeta> + Clone>(objects: &[T]) -> Vec<T> {
        objects
            .iter()
            .filter(|o| label(o.metadata(), MANAGED_BY) == Some(FIELD_MANAGER))
            .cloned()
            .collect()
    }
    let listed = Listed {
        service_accounts: managed(&inventory.service_accounts),
        // A grant's token Secret holds a long-lived token or a bound one.
        secrets: [
            managed(&inventory.token_secrets),
            managed(&inventory.bound_secrets),
        ]
        .concat(),
        roles: managed(&inventory.roles),
        role_bindings: managed(&inventory.role_bindings),
        pod_security: Default::default(),
    };
    rows(&listed)
        .into_iter()
        .filter(|r| !r.status.is_ok())
        .map(|row| {
            Finding::new(
                Rule::GrantDrifted,
                ObjectRef::namespaced(Kind::ServiceAccount, &row.namespace, &row.service_account),
                Some(row.namespace.clone()),
                String::new(),
                format!("the kscope grant drifted: {}", row.status),
            )
        })
        .collect()
}

/// Whole days from a `YYYY-MM-DD` label to `now`.
fn days_since(day: &str, now: i64) -> Option<i64> {
    let date: k8s_openapi::jiff::civil::Date = day.parse().ok()?;
    let then = date
        .to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp()
        .as_second();
    Some((now - then) / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::rule;

    /// `--unused-for`'s default, 30 days.
    const UNUSED_FOR_SECONDS: i64 = 30 * 86_400;
    /// The defaults of both thresholds.
    const DEFAULTS: Thresholds = Thresholds {
        unused_for: UNUSED_FOR_SECONDS,
        expiring_within: 7 * 86_400,
    };

    fn meta(namespace: Option<&str>, name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            namespace: namespace.map(String::from),
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn role_ref(kind: &str, name: &str) -> RoleRef {
        RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: kind.into(),
            name: name.into(),
        }
    }

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Subject {
        Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(String::from),
            api_group: None,
        }
    }

    /// A token Secret made on 2023-11-14.
    fn token_secret(ns: &str, name: &str, sa: &str, labels: &[(&str, &str)]) -> Secret {
        let mut metadata = meta(Some(ns), name, labels);
        metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        ));
        metadata.annotations = Some(
            [(
                "kubernetes.io/service-account.name".to_string(),
                sa.to_string(),
            )]
            .into(),
        );
        Secret {
            metadata,
            data: Some([("token".to_string(), k8s_openapi::ByteString(b"t".to_vec()))].into()),
            type_: Some(crate::manifest::TOKEN_SECRET_TYPE.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_forged_default_binding_and_the_anonymous_user_are_found() {
        let inventory = Inventory {
            cluster_role_bindings: vec![
                ClusterRoleBinding {
                    metadata: meta(None, "system:discovery", &[BOOTSTRAP_LABEL]),
                    role_ref: role_ref("ClusterRole", "system:discovery"),
                    subjects: Some(vec![subject("Group", "system:authenticated", None)]),
                },
                ClusterRoleBinding {
                    metadata: meta(None, "system:extra", &[BOOTSTRAP_LABEL]),
                    role_ref: role_ref("ClusterRole", "view"),
                    subjects: Some(vec![subject("Group", "system:authenticated", None)]),
                },
                ClusterRoleBinding {
                    metadata: meta(None, "anon", &[]),
                    role_ref: role_ref("ClusterRole", "view"),
                    subjects: Some(vec![subject("User", "system:anonymous", None)]),
                },
            ],
            cluster_roles: vec![
                ClusterRole {
                    metadata: meta(None, "system:discovery", &[BOOTSTRAP_LABEL]),
                    rules: Some(vec![PolicyRule {
                        non_resource_urls: Some(vec!["/api".into(), "/version".into()]),
                        verbs: vec!["get".into()],
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
                ClusterRole {
                    metadata: meta(None, "view", &[]),
                    rules: Some(vec![rule(&[""], &["pods"], &["get", "list"])]),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let found = findings(&inventory, 0, DEFAULTS);
        let said = |object: &str, text: &str| {
            found
                .iter()
                .any(|f| f.object == object && f.message.contains(text))
        };
        assert!(
            said(
                "ClusterRoleBinding system:extra",
                "is not one of Kubernetes' own"
            ),
            "{found:#?}"
        );
        assert!(
            said(
                "ClusterRoleBinding system:extra",
                "more than every user gets"
            ),
            "{found:#?}"
        );
        assert!(
            said("ClusterRoleBinding anon", "system:anonymous"),
            "{found:#?}"
        );
        assert!(
            !found
                .iter()
                .any(|f| f.object == "ClusterRoleBinding system:discovery")
        );

        // Kubernetes' own binding, but its ClusterRole was given more than Kubernetes gives.
        let mut tampered = inventory;
        tampered.cluster_roles[0]
            .rules
            .as_mut()
            .unwrap()
            .push(rule(&[""], &["secrets"], &["get"]));
        let found = findings(&tampered, 0, DEFAULTS);
        assert!(
            found
                .iter()
                .any(|f| f.object == "ClusterRoleBinding system:discovery"
                    && f.message
                        .contains("holds more than Kubernetes' own: get on secrets")),
            "{found:#?}"
        );
    }

    #[test]
    fn risky_tokens_broad_bindings_and_dangling_subjects_are_found() {
        let now = 1_800_000_000; // 2027-01-15
        let inventory = Inventory {
            cluster_role_bindings: vec![
                ClusterRoleBinding {
                    metadata: meta(None, "ops-admin", &[]),
                    role_ref: role_ref("ClusterRole", "cluster-admin"),
                    subjects: Some(vec![subject("ServiceAccount", "ops", Some("tools"))]),
                },
                ClusterRoleBinding {
                    metadata: meta(None, "everyone-views", &[]),
                    role_ref: role_ref("ClusterRole", "view"),
                    subjects: Some(vec![subject("Group", "system:serviceaccounts", None)]),
                },
                ClusterRoleBinding {
                    metadata: meta(None, "system:basic-user", &[BOOTSTRAP_LABEL]),
                    role_ref: role_ref("ClusterRole", "system:basic-user"),
                    subjects: Some(vec![subject("Group", "system:authenticated", None)]),
                },
            ],
            role_bindings: vec![RoleBinding {
                metadata: meta(Some("team"), "ghost", &[]),
                role_ref: role_ref("ClusterRole", "edit"),
                subjects: Some(vec![subject("ServiceAccount", "gone", Some("team"))]),
            }],
            cluster_roles: vec![
                ClusterRole {
                    metadata: meta(None, "view", &[]),
                    rules: Some(vec![rule(&[""], &["pods"], &["get", "list"])]),
                    ..Default::default()
                },
                ClusterRole {
                    metadata: meta(None, "system:basic-user", &[BOOTSTRAP_LABEL]),
                    rules: Some(vec![rule(
                        &["authorization.k8s.io"],
                        &["selfsubjectaccessreviews"],
                        &["create"],
                    )]),
                    ..Default::default()
                },
            ],
            roles: Vec::new(),
            service_accounts: vec![ServiceAccount {
                metadata: meta(Some("tools"), "ops", &[]),
                ..Default::default()
            }],
            token_secrets: vec![
                token_secret(
                    "tools",
                    "ops-token",
                    "ops",
                    &[(LAST_USED_LABEL, "2027-01-14")],
                ),
                token_secret("team", "old-token", "x", &[(LAST_USED_LABEL, "2026-11-01")]),
                token_secret(
                    "team",
                    "dead-token",
                    "y",
                    &[(INVALID_SINCE_LABEL, "2026-12-01")],
                ),
            ],
            ..Default::default()
        };
        let found = findings(&inventory, now, DEFAULTS);
        let said = |severity: Severity, object: &str, text: &str| {
            found
                .iter()
                .any(|f| f.severity == severity && f.object == object && f.message.contains(text))
        };
        assert!(
            said(
                Severity::High,
                "Secret tools/ops-token",
                "ClusterRoleBinding ops-admin gives everything"
            ),
            "{found:#?}"
        );
        assert!(
            said(
                Severity::High,
                "ClusterRoleBinding everyone-views",
                "to system:serviceaccounts"
            ),
            "{found:#?}"
        );
        assert!(
            said(
                Severity::Medium,
                "Secret team/old-token",
                "last used 75 days ago"
            ),
            "{found:#?}"
        );
        assert!(
            said(Severity::Medium, "Secret team/dead-token", "invalidated"),
            "{found:#?}"
        );
        assert!(
            said(
                Severity::Medium,
                "RoleBinding team/ghost",
                "team/gone, which does not exist"
            ),
            "{found:#?}"
        );
        assert!(
            !found.iter().any(|f| f.object.contains("basic-user")),
            "the baseline is no finding"
        );
        assert!(
            !found
                .iter()
                .any(|f| f.object == "Secret tools/ops-token" && f.severity == Severity::Medium),
            "used yesterday"
        );
        assert_eq!(found[0].severity, Severity::High);
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found.iter().all(|f| f.rule.severity() == f.severity));
        let unused: Vec<&Finding> = found
            .iter()
            .filter(|f| f.rule == Rule::TokenUnused)
            .collect();
        assert_eq!(unused.len(), 1, "{found:#?}");
        assert!(unused[0].message.contains("is 1157 days old"), "{found:#?}");
        assert_eq!(unused[0].target.kind, Kind::Secret);
        assert_eq!(unused[0].target.name, "old-token");
    }

    /// A token is judged unused only once it is older than the threshold, and then by its
    /// last use within it.
    #[test]
    fn a_fresh_token_is_not_unused_and_an_old_one_says_its_age() {
        let now = 1_800_000_000;
        let made = |name: &str, seconds_ago: i64, labels: &[(&str, &str)]| {
            let mut secret = token_secret("team", name, "ci", labels);
            secret.metadata.creation_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::from_second(now - seconds_ago).unwrap(),
                ));
            secret
        };
        let inventory = Inventory {
            service_accounts: vec![ServiceAccount {
                metadata: meta(Some("team"), "ci", &[]),
                ..Default::default()
            }],
            token_secrets: vec![
                made("fresh", 5, &[]),
                made("month-old", 31 * 86_400, &[]),
                made(
                    "used-today",
                    90 * 86_400,
                    &[(LAST_USED_LABEL, "2027-01-15")],
                ),
            ],
            ..Default::default()
        };
        let unused = |unused_for: i64| -> Vec<String> {
            findings(
                &inventory,
                now,
                Thresholds {
                    unused_for,
                    ..DEFAULTS
                },
            )
            .into_iter()
            .filter(|f| f.rule == Rule::TokenUnused)
            .map(|f| format!("{} {}", f.target.name, f.message))
            .collect()
        };
        let found = unused(UNUSED_FOR_SECONDS);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("month-old"), "{found:?}");
        assert!(
            found[0].contains("is 31 days old and was never used"),
            "{found:?}"
        );
        // A lower threshold catches the fresh token too; the one used today never.
        let found = unused(1);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| !f.starts_with("used-today")));
    }

    /// Two findings of one rule on one object differ by their keys, which come from names:
    /// the binding behind a powerful token, the ServiceAccount a binding misses.
    #[test]
    fn findings_are_keyed_by_names() {
        let inventory = Inventory {
            cluster_role_bindings: vec![ClusterRoleBinding {
                metadata: meta(None, "ops-admin", &[]),
                role_ref: role_ref("ClusterRole", "cluster-admin"),
                subjects: Some(vec![subject("ServiceAccount", "ops", Some("tools"))]),
            }],
            role_bindings: vec![RoleBinding {
                metadata: meta(Some("team"), "ghost", &[]),
                role_ref: role_ref("ClusterRole", "edit"),
                subjects: Some(vec![
                    subject("ServiceAccount", "gone", Some("team")),
                    subject("ServiceAccount", "left", Some("team")),
                ]),
            }],
            service_accounts: vec![ServiceAccount {
                metadata: meta(Some("tools"), "ops", &[]),
                ..Default::default()
            }],
            token_secrets: vec![token_secret("tools", "ops-token", "ops", &[])],
            ..Default::default()
        };
        let found = findings(&inventory, 1_700_000_000, DEFAULTS);
        let keys = |rule: Rule| -> Vec<&str> {
            found
                .iter()
                .filter(|f| f.rule == rule)
                .map(|f| f.key.as_str())
                .collect()
        };
        assert_eq!(keys(Rule::PowerfulToken), ["ClusterRoleBinding ops-admin"]);
        assert_eq!(
            keys(Rule::MissingServiceAccount),
            ["ServiceAccount team/gone", "ServiceAccount team/left"]
        );
        assert!(found.iter().all(|f| !f.key.is_empty()), "{found:#?}");
    }
}
