//! What a tenant may have made in its namespaces during a grant, and left behind at revoke:
//! ServiceAccounts of its own, token Secrets, Roles, and RoleBindings that bind its own
//! ServiceAccounts or anyone else. Each identity among them is asked about by the API server
//! (`revoke` and `rotate` do the asking); this module only finds them, from objects read. Pure.

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::manifest::{Kind, SA_NAME_ANNOTATION, is_kscopes};
use crate::rules::{self, Permission, RBAC_GROUP};
use crate::spec::service_account_user;

/// Something the tenant made (or may have made) during the grant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leftover {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// What it is, in words.
    pub what: String,
    /// Who it is or binds, as the API server authenticates them: what `revoke` asks about.
    pub identities: Vec<Identity>,
    /// What the API server said one of its identities may still do (`None`: nothing found,
    /// or not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<String>,
    /// Deleted by `revoke --purge`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub purged: bool,
}

impl Leftover {
    /// `Kind namespace/name`.
    pub fn described(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A user as the authorizer sees it: a name (empty for "any member of the groups") and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    /// `(namespace, name)` when it is a ServiceAccount.
    #[serde(skip)]
    pub service_account: Option<(String, String)>,
}

impl Identity {
    pub fn of_service_account(namespace: &str, name: &str) -> Identity {
        Identity {
            user: service_account_user(namespace, name),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
            service_account: Some((namespace.to_string(), name.to_string())),
        }
    }

    /// The identity a binding's subject stands for (a binding in `namespace`).
    pub fn of_subject(subject: &Subject, namespace: &str) -> Option<Identity> {
        match subject.kind.as_str() {
            "ServiceAccount" => Some(Identity::of_service_account(
                subject.namespace.as_deref().unwrap_or(namespace),
                &subject.name,
            )),
            "User" => Some(Identity {
                user: subject.name.clone(),
                groups: vec!["system:authenticated".into()],
                service_account: None,
            }),
            "Group" => Some(Identity {
                user: String::new(),
                groups: vec![subject.name.clone()],
                service_account: None,
            }),
            _ => None,
        }
    }

    /// How a report names it.
    pub fn shown(&self) -> String {
        match (&self.service_account, self.user.is_empty()) {
            (Some((ns, name)), _) => format!("ServiceAccount {ns}/{name}"),
            (None, false) => format!("User {}", self.user),
            (None, true) => format!("Group {}", self.groups.join(", ")),
        }
    }
}

/// Whether a role with `rules` lets its holder make identities of its own: ServiceAccounts,
/// RoleBindings (which bind anyone), or tokens.
pub fn makes_identities(rules: &[PolicyRule]) -> bool {
    [
        Permission::new("", "serviceaccounts", "create"),
        Permission::new(RBAC_GROUP, "rolebindings", "create"),
        Permission::new("", "secrets", "create"),
        Permission::new(RBAC_GROUP, "roles", "create"),
    ]
    .iter()
    .any(|p| rules::allows(rules, p))
}

/// The objects of one namespace that the finder looks at, as read.
#[derive(Debug, Default)]
pub struct Namespaced {
    pub namespace: String,
    pub service_accounts: Vec<ServiceAccount>,
    pub role_bindings: Vec<RoleBinding>,
    pub roles: Vec<Role>,
    /// Secrets of type `kubernetes.io/service-account-token`.
    pub token_secrets: Vec<Secret>,
}

/// Made at or after `since` (an RFC 3339 time, as the API server writes it) and not kscope's.
fn made_by_tenant(meta: &ObjectMeta, since: &str) -> bool {
    let created = meta
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .unwrap_or(i64::MAX);
    let since = since
        .parse::<k8s_openapi::jiff::Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or(i64::MIN);
    created >= since && !is_kscopes(meta)
}

/// What the tenant may have made in `read` since the grant began (`since`): every object that
/// is not kscope's and is at least as new as the grant. The `default` ServiceAccount is made by
/// Kubernetes and is named only through a binding the tenant made.
pub fn find(read: &[Namespaced], since: &str) -> Vec<Leftover> {
    let mut found = Vec::new();
    for here in read {
        let ns = here.namespace.as_str();
        let item =
            |kind: Kind, meta: &ObjectMeta, what: String, identities: Vec<Identity>| Leftover {
                kind,
                namespace: ns.to_string(),
                name: meta.name.clone().unwrap_or_default(),
                what,
                identities,
                holds: None,
                purged: false,
            };
        for binding in &here.role_bindings {
            if !made_by_tenant(&binding.metadata, since) {
                continue;
            }
            let subjects: Vec<&Subject> = binding.subjects.iter().flatten().collect();
            let identities = subjects
                .iter()
                .filter_map(|s| Identity::of_subject(s, ns))
                .collect::<Vec<_>>();
            let names: Vec<String> = identities.iter().map(Identity::shown).collect();
            found.push(item(
                Kind::RoleBinding,
                &binding.metadata,
                format!(
                    "binds {} {} to {}",
                    binding.role_ref.kind,
                    binding.role_ref.name,
                    if names.is_empty() {
                        "no one".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
                identities,
            ));
        }
        for account in &here.service_accounts {
            let name = account.metadata.name.as_deref().unwrap_or_default();
            if name == "default" || !made_by_tenant(&account.metadata, since) {
                continue;
            }
            found.push(item(
                Kind::ServiceAccount,
                &account.metadata,
                "a ServiceAccount of the tenant's own: tokens of it act as it".into(),
                vec![Identity::of_service_account(ns, name)],
            ));
        }
        for secret in &here.token_secrets {
            if !made_by_tenant(&secret.metadata, since) {
                continue;
            }
            let of = secret
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(SA_NAME_ANNOTATION))
                .cloned()
                .unwrap_or_default();
            found.push(item(
                Kind::Secret,
                &secret.metadata,
                format!("a long-lived token of ServiceAccount {ns}/{of}"),
                vec![Identity::of_service_account(ns, &of)],
            ));
        }
        for role in &here.roles {
            if made_by_tenant(&role.metadata, since) {
                found.push(item(
                    Kind::Role,
                    &role.metadata,
                    "a Role of the tenant's own".into(),
                    Vec::new(),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::object;
    use serde_json::json;

    #[test]
    fn what_the_tenant_made_after_the_grant_is_found_and_kscopes_and_older_objects_are_not() {
        let at = |t: &str| json!({"creationTimestamp": t});
        let mut sa_new = at("2026-12-06T10:00:05Z");
        sa_new["name"] = json!("sneaky");
        let mut sa_old = at("2026-12-01T00:00:00Z");
        sa_old["name"] = json!("older");
        let mut sa_default = at("2026-12-06T10:00:05Z");
        sa_default["name"] = json!("default");
        let mut ours = at("2026-12-06T10:00:00Z");
        ours["name"] = json!("ci");
        ours["labels"] = json!({"app.kubernetes.io/managed-by": "kscope"});
        ours["managedFields"] = json!([{"manager": "kscope", "operation": "Apply"}]);
        let mut rb = at("2026-12-06T11:00:00Z");
        rb["name"] = json!("backdoor");
        let read = Namespaced {
            namespace: "team".into(),
            service_accounts: [sa_new, sa_old, sa_default, ours]
                .into_iter()
                .map(|m| object(json!({"metadata": m})))
                .collect(),
            role_bindings: vec![object(json!({"metadata": rb,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                "subjects": [{"kind": "User", "name": "mallory"},
                             {"kind": "ServiceAccount", "name": "default"},
                             {"kind": "Group", "name": "outsiders"}]}))],
            roles: Vec::new(),
            token_secrets: vec![object(json!({"metadata": {"name": "sneaky-token",
                "creationTimestamp": "2026-12-06T10:00:06Z",
                "annotations": {"kubernetes.io/service-account.name": "sneaky"}},
                "type": "kubernetes.io/service-account-token"}))],
        };
        let found = find(&[read], "2026-12-06T10:00:00Z");
        let described: Vec<String> = found.iter().map(Leftover::described).collect();
        assert_eq!(
            described,
            [
                "RoleBinding team/backdoor",
                "ServiceAccount team/sneaky",
                "Secret team/sneaky-token"
            ]
        );
        assert_eq!(
            found[0].what,
            "binds ClusterRole admin to User mallory, ServiceAccount team/default, Group outsiders"
        );
        assert_eq!(found[0].identities[2].user, "");
        assert_eq!(found[0].identities[2].groups, ["outsiders"]);
        assert_eq!(
            found[1].identities[0].user,
            "system:serviceaccount:team:sneaky"
        );
    }

    #[test]
    fn only_a_role_that_makes_identities_is_looked_after() {
        let read_only = crate::templates::built_ins()
            .into_iter()
            .find(|t| t.name == "read-only")
            .unwrap();
        assert!(!makes_identities(&read_only.rules));
        let admin = crate::templates::built_ins().remove(0);
        assert!(makes_identities(&admin.rules));
    }
}
