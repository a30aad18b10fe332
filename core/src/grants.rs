//! `kscope list`'s rows: every kscope grant in the objects listed, with its token's age and
//! last use and any drift from what kscope made. Pure: the lists come in, rows go out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::kubeconfig::SecretToken;
use crate::manifest::{ACCESS_ANNOTATION, GRANT_LABEL};
use crate::names::token_secret_name;
use crate::object::BoundRole;
use crate::spec::{AccessRecord, Enforced};

/// The label the API server keeps on Secret-based tokens: the date they were last used.
pub const LAST_USED_LABEL: &str = "kubernetes.io/legacy-token-last-used";

/// One grant as `kscope list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRow {
    pub namespace: String,
    pub service_account: String,
    /// What the grant recorded on its ServiceAccount.
    pub access: Option<AccessRecord>,
    /// When the token Secret was made (seconds since the epoch, RFC 3339 in JSON).
    #[serde(serialize_with = "crate::expiry::as_rfc3339")]
    pub token_created: Option<i64>,
    /// The day the token was last used, as the API server records it.
    pub last_used: Option<String>,
    /// What kind of token the grant's Secret holds: long-lived, or bound with its expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<crate::expiry::CredentialKind>,
    /// The namespace's enforced Pod Security level (`None`: no label, or not readable).
    pub pod_security: Option<Enforced>,
    /// `ok`, or every drift in words.
    pub status: Status,
    /// The grant's other namespaces, as its ServiceAccount records them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<String>,
    /// What the grant opens to its tenant (`--allow-service`), as its ServiceAccount records it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub opens: Vec<String>,
}

/// One way a grant differs from what kscope made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    ServiceAccountMissing,
    SecretMissing,
    TokenEmpty,
    RoleMissing,
    RoleBindingMissing,
    /// The RoleBinding binds another role than the grant recorded.
    BindingPointsTo(BoundRole),
    /// The ServiceAccount's `kscope.dev/access` is not a record kscope writes.
    UnknownAccess,
    /// The ServiceAccount's `kscope.dev/also-in` is not a list of namespace names.
    UnreadableAlsoIn,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::ServiceAccountMissing => f.write_str("ServiceAccount missing"),
            Drift::SecretMissing => f.write_str("token Secret missing"),
            Drift::TokenEmpty => f.write_str("token empty"),
            Drift::RoleMissing => f.write_str("Role missing"),
            Drift::RoleBindingMissing => f.write_str("RoleBinding missing"),
            Drift::BindingPointsTo(role) => {
                write!(f, "RoleBinding points to {} {}", role.kind(), role.name())
            }
            Drift::UnknownAccess => f.write_str("unknown kscope.dev/access record"),
            Drift::UnreadableAlsoIn => f.write_str("unreadable kscope.dev/also-in record"),
        }
    }
}

/// A grant's health: whole (`ok`), or each drift.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status(pub Vec<Drift>);

impl Status {
    pub fn is_ok(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("ok");
        }
        for (i, drift) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{drift}")?;
        }
        Ok(())
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The kscope objects of the caller's view, as listed.
#[derive(Debug, Default)]
pub struct Listed {
    pub service_accounts: Vec<ServiceAccount>,
    pub secrets: Vec<Secret>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    /// Namespace → its enforced Pod Security level, for the namespaces that have one.
    pub pod_security: BTreeMap<String, Enforced>,
}

/// The grants in `listed`, sorted by namespace and ServiceAccount. Pure.
pub fn rows(listed: &Listed) -> Vec<GrantRow> {
    #[derive(Default)]
    struct Parts<'a> {
        service_account: Option<&'a ServiceAccount>,
        secret: Option<&'a Secret>,
        role: Option<&'a Role>,
        role_binding: Option<&'a RoleBinding>,
    }
    let mut grants: BTreeMap<(String, String), Parts> = BTreeMap::new();
    let at = |meta: &ObjectMeta| {
        let key = (
            meta.namespace.clone().unwrap_or_default(),
            meta.labels
                .as_ref()
                .and_then(|l| l.get(GRANT_LABEL))
                .cloned()
                .unwrap_or_default(),
        );
        (!key.1.is_empty()).then_some(key)
    };
    // Each object counts for the grant it is named for: one that only claims another grant's
    // label (a ServiceAccount "x" labelled kscope.dev/grant=y) is no part of grant y.
    for sa in &listed.service_accounts {
        if let Some(key) = at(&sa.metadata)
            && sa.metadata.name.as_deref() == Some(key.1.as_str())
        {
            grants.entry(key).or_default().service_account = Some(sa);
        }
    }
    for secret in &listed.secrets {
        if let Some(key) = at(&secret.metadata)
            && secret.metadata.name.as_deref() == Some(&token_secret_name(&key.1))
        {
            grants.entry(key).or_default().secret = Some(secret);
        }
    }
    for role in &listed.roles {
        if let Some(key) = at(&role.metadata)
            && role.metadata.name.as_deref() == Some(key.1.as_str())
        {
            grants.entry(key).or_default().role = Some(role);
        }
    }
    for binding in &listed.role_bindings {
        if let Some(key) = at(&binding.metadata)
            && binding.metadata.name.as_deref() == Some(key.1.as_str())
        {
            grants.entry(key).or_default().role_binding = Some(binding);
        }
    }
    grants
        .into_iter()
        .map(|((namespace, service_account), parts)| {
            let recorded = parts
                .service_account
                .and_then(|sa| sa.metadata.annotations.as_ref())
                .and_then(|a| a.get(ACCESS_ANNOTATION));
            let access = recorded.and_then(|value| AccessRecord::parse(value));
            let mut drift = Vec::new();
            if parts.service_account.is_none() {
                drift.push(Drift::ServiceAccountMissing);
            }
            if recorded.is_some() && access.is_none() {
                drift.push(Drift::UnknownAccess);
            }
            match parts.secret {
                None => drift.push(Drift::SecretMissing),
                Some(secret) if !SecretToken::is_filled(secret) => drift.push(Drift::TokenEmpty),
                Some(_) => {}
            }
            let expected_ref = match &access {
                Some(AccessRecord::Template(_)) => {
                    if parts.role.is_none() {
                        drift.push(Drift::RoleMissing);
                    }
                    Some(BoundRole::Role(service_account.clone()))
                }
                Some(AccessRecord::ClusterRole(name)) => Some(BoundRole::ClusterRole(name.clone())),
                None => None,
            };
            match parts.role_binding {
                None => drift.push(Drift::RoleBindingMissing),
                Some(binding) => {
                    let actual = BoundRole::of(&binding.role_ref);
                    if expected_ref.as_ref().is_some_and(|e| *e != actual) {
                        drift.push(Drift::BindingPointsTo(actual));
                    }
                }
            }
            let also_in = match parts
                .service_account
                .map(|sa| crate::manifest::also_in_of(&sa.metadata))
            {
                Some(Ok(namespaces)) => namespaces.iter().map(|n| n.to_string()).collect(),
                Some(Err(_)) => {
                    drift.push(Drift::UnreadableAlsoIn);
                    Vec::new()
                }
                None => Vec::new(),
            };
            let secret_meta = parts.secret.map(|s| &s.metadata);
            let opens = parts
                .service_account
                .and_then(|sa| sa.metadata.annotations.as_ref())
                .and_then(|a| a.get(crate::manifest::OPENINGS_LABEL))
                .map(|v| v.split(',').map(String::from).collect())
                .unwrap_or_default();
            GrantRow {
                also_in,
                opens,
                pod_security: listed.pod_security.get(&namespace).cloned(),
                namespace,
                service_account,
                access,
                token_created: secret_meta
                    .and_then(|m| m.creation_timestamp.as_ref())
                    .map(|t| t.0.as_second()),
                last_used: secret_meta
                    .and_then(|m| m.labels.as_ref())
                    .and_then(|l| l.get(LAST_USED_LABEL))
                    .cloned(),
                credential: parts.secret.map(crate::expiry::CredentialKind::of),
                status: Status(drift),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ns: &str, name: &str, grant: &str, extra: &[(&str, &str)]) -> ObjectMeta {
        let mut labels: BTreeMap<String, String> = [
            ("app.kubernetes.io/managed-by", "kscope"),
            ("kscope.dev/grant", grant),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        labels.retain(|_, v| !v.is_empty());
        ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            labels: Some(labels),
            ..Default::default()
        }
    }

    fn binding(ns: &str, sa: &str, kind: &str, role: &str) -> RoleBinding {
        serde_json::from_value(serde_json::json!({
            "metadata": meta(ns, sa, sa, &[]),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        }))
        .unwrap()
    }

    fn account(ns: &str, sa: &str, access: &str) -> ServiceAccount {
        let mut metadata = meta(ns, sa, sa, &[]);
        metadata.annotations = Some(BTreeMap::from([(ACCESS_ANNOTATION.into(), access.into())]));
        ServiceAccount {
            metadata,
            ..Default::default()
        }
    }

    fn secret(ns: &str, sa: &str, token: &str, last_used: &str) -> Secret {
        let data = BTreeMap::from([(
            "token".to_string(),
            k8s_openapi::ByteString(token.as_bytes().to_vec()),
        )]);
        Secret {
            metadata: meta(
                ns,
                &format!("{sa}-token"),
                sa,
                &[(LAST_USED_LABEL, last_used)],
            ),
            data: Some(data),
            ..Default::default()
        }
    }

    #[test]
    fn every_drift_is_named_and_a_whole_grant_is_ok() {
        let listed = Listed {
            service_accounts: vec![
                account("a", "whole", "template/developer"),
                account("a", "no-role", "template/developer"),
                account("a", "elsewhere", "clusterrole/view"),
                account("b", "empty", "clusterrole/view"),
            ],
            secrets: vec![
                secret("a", "whole", "t", "2026-11-28"),
                secret("a", "no-role", "t", ""),
                secret("a", "elsewhere", "t", ""),
                secret("b", "empty", "", ""),
                secret("c", "orphan", "t", ""),
            ],
            roles: vec![Role {
                metadata: meta("a", "whole", "whole", &[]),
                rules: None,
            }],
            role_bindings: vec![
                binding("a", "whole", "Role", "whole"),
                binding("a", "no-role", "Role", "no-role"),
                binding("a", "elsewhere", "ClusterRole", "edit"),
            ],
            pod_security: BTreeMap::from([("a".to_string(), Enforced::parse("privileged"))]),
        };
        let rows = rows(&listed);
        let status: Vec<(&str, &str, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.namespace.as_str(),
                    r.service_account.as_str(),
                    r.status.to_string(),
                )
            })
            .collect();
        assert_eq!(
            status,
            [
                (
                    "a",
                    "elsewhere",
                    "RoleBinding points to ClusterRole edit".into()
                ),
                ("a", "no-role", "Role missing".into()),
                ("a", "whole", "ok".into()),
                ("b", "empty", "token empty, RoleBinding missing".into()),
                (
                    "c",
                    "orphan",
                    "ServiceAccount missing, RoleBinding missing".into()
                ),
            ]
        );
        assert_eq!(rows[2].last_used.as_deref(), Some("2026-11-28"));
        assert_eq!(rows[1].last_used, None);
        assert_eq!(rows[4].access, None);
        assert_eq!(rows[0].pod_security, Some(Enforced::parse("privileged")));
        assert!(
            rows[0]
                .pod_security
                .as_ref()
                .is_some_and(Enforced::is_privileged)
        );
        assert_eq!(rows[3].pod_security, None);
    }
}
