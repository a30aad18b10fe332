//! The list operation: every kscope grant the caller can see, with its token's age and last
//! use and any drift, from four list requests (ServiceAccounts, Secrets, Roles, RoleBindings,
//! each by kscope's label) however many grants there are. Returns data; prints nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::cluster::{has_token, is_forbidden};
use crate::error::{Error, Result};
use crate::manifest::{ACCESS_ANNOTATION, GRANT_LABEL};
use crate::plan::ListPlan;
use crate::session::Session;

/// The label the API server keeps on Secret-based tokens: the date they were last used.
pub const LAST_USED_LABEL: &str = "kubernetes.io/legacy-token-last-used";

/// One grant as `kscope list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantRow {
    pub namespace: String,
    pub service_account: String,
    /// `template/<name>` or `clusterrole/<name>`, as the grant recorded it.
    pub access: Option<String>,
    /// When the token Secret was made (seconds since the epoch, RFC 3339 in JSON).
    #[serde(serialize_with = "as_rfc3339")]
    pub token_created: Option<i64>,
    /// The day the token was last used, as the API server records it.
    pub last_used: Option<String>,
    /// `ok`, or every drift in words.
    pub status: String,
}

fn as_rfc3339<S: serde::Serializer>(
    value: &Option<i64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value.and_then(|v| k8s_openapi::jiff::Timestamp::from_second(v).ok()) {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

/// The kscope objects of the caller's view, as listed.
#[derive(Debug, Default)]
pub struct Listed {
    pub service_accounts: Vec<ServiceAccount>,
    pub secrets: Vec<Secret>,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
}

pub async fn execute(session: &Session, plan: &ListPlan) -> Result<Vec<GrantRow>> {
    let namespace = plan.namespace.as_ref().map(|n| n.as_str());
    let cluster = &session.cluster;
    let forbidden = |e: Error| {
        if is_forbidden(&e) && namespace.is_none() {
            Error::ListForbidden {
                detail: e.to_string(),
            }
        } else {
            e
        }
    };
    let (service_accounts, secrets, roles, role_bindings) = futures::try_join!(
        cluster.list_managed::<ServiceAccount>(namespace),
        cluster.list_managed::<Secret>(namespace),
        cluster.list_managed::<Role>(namespace),
        cluster.list_managed::<RoleBinding>(namespace),
    )
    .map_err(forbidden)?;
    Ok(rows(&Listed {
        service_accounts,
        secrets,
        roles,
        role_bindings,
    }))
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
    for sa in &listed.service_accounts {
        if let Some(key) = at(&sa.metadata) {
            grants.entry(key).or_default().service_account = Some(sa);
        }
    }
    for secret in &listed.secrets {
        if let Some(key) = at(&secret.metadata)
            && secret.metadata.name.as_deref() == Some(&format!("{}-token", key.1))
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
            let access = parts
                .service_account
                .and_then(|sa| sa.metadata.annotations.as_ref())
                .and_then(|a| a.get(ACCESS_ANNOTATION))
                .cloned();
            let mut drift = Vec::new();
            if parts.service_account.is_none() {
                drift.push("ServiceAccount missing".to_string());
            }
            match parts.secret {
                None => drift.push("token Secret missing".into()),
                Some(secret) if !has_token(secret) => drift.push("token empty".into()),
                Some(_) => {}
            }
            let expected_ref = match access.as_deref().and_then(|a| a.split_once('/')) {
                Some(("template", _)) => {
                    if parts.role.is_none() {
                        drift.push("Role missing".into());
                    }
                    Some(("Role".to_string(), service_account.clone()))
                }
                Some(("clusterrole", name)) => Some(("ClusterRole".to_string(), name.to_string())),
                _ => None,
            };
            match parts.role_binding {
                None => drift.push("RoleBinding missing".into()),
                Some(binding) => {
                    let actual = (binding.role_ref.kind.clone(), binding.role_ref.name.clone());
                    if expected_ref.as_ref().is_some_and(|e| *e != actual) {
                        drift.push(format!("RoleBinding points to {} {}", actual.0, actual.1));
                    }
                }
            }
            let secret_meta = parts.secret.map(|s| &s.metadata);
            GrantRow {
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
                status: if drift.is_empty() {
                    "ok".into()
                } else {
                    drift.join(", ")
                },
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
        };
        let rows = rows(&listed);
        let status: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.namespace.as_str(),
                    r.service_account.as_str(),
                    r.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            status,
            [
                ("a", "elsewhere", "RoleBinding points to ClusterRole edit"),
                ("a", "no-role", "Role missing"),
                ("a", "whole", "ok"),
                ("b", "empty", "token empty, RoleBinding missing"),
                ("c", "orphan", "ServiceAccount missing, RoleBinding missing"),
            ]
        );
        assert_eq!(rows[2].last_used.as_deref(), Some("2026-11-28"));
        assert_eq!(rows[1].last_used, None);
        assert_eq!(rows[4].access, None);
    }
}
