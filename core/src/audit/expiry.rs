//! The audit's rules about access that ends: KSCOPE-GRANT-EXPIRED (a grant whose bound token
//! has expired while its objects remain) and KSCOPE-GRANT-EXPIRING (one whose token ends
//! within `--expiring-within`).

use crate::catalog::Rule;
use crate::expiry::{BOUND_TOKEN_TYPE, CredentialKind, rfc3339};
use crate::manifest::GRANT_LABEL;
use crate::object::{Kind, ObjectRef};

use super::{Finding, Inventory};

/// Every kscope grant with a bound token that has expired, or expires within
/// `expiring_within` seconds of `now`.
pub(super) fn findings(inventory: &Inventory, now: i64, expiring_within: i64) -> Vec<Finding> {
    let mut found = Vec::new();
    for secret in &inventory.bound_secrets {
        if secret.type_.as_deref() != Some(BOUND_TOKEN_TYPE) {
            continue;
        }
        let meta = &secret.metadata;
        let ns = meta.namespace.clone().unwrap_or_default();
        let Some(sa) = meta.labels.as_ref().and_then(|l| l.get(GRANT_LABEL)) else {
            continue;
        };
        let kind = CredentialKind::of(secret);
        let target =
            ObjectRef::namespaced(Kind::Secret, &ns, meta.name.as_deref().unwrap_or_default());
        let key = format!("ServiceAccount {ns}/{sa}");
        let (rule, message) = match kind.expires() {
            _ if kind.expired(now) => (
                Rule::GrantExpired,
                match kind.expires() {
                    Some(at) => format!(
                        "the grant {ns}/{sa} expired at {} ({} ago) and its objects remain: renew it (kscope rotate) or end it (kscope revoke)",
                        rfc3339(at),
                        ago(now - at)
                    ),
                    None => format!(
                        "the grant {ns}/{sa} holds a bound token whose expiry is not recorded: renew it (kscope rotate) or end it (kscope revoke)"
                    ),
                },
            ),
            Some(at) if at - now <= expiring_within => (
                Rule::GrantExpiring,
                format!(
                    "the grant {ns}/{sa} expires at {} (in {}): renew it (kscope rotate, or apply of its TenantSet) if it is still needed",
                    rfc3339(at),
                    ago(at - now)
                ),
            ),
            _ => continue,
        };
        found.push(Finding::new(rule, target, Some(ns.clone()), key, message));
    }
    found
}

/// Seconds as a duration in words ("2d3h").
fn ago(seconds: i64) -> String {
    crate::duration::format(u64::try_from(seconds).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry::token_annotations;
    use crate::test_support::object;

    const NOW: i64 = 1_796_000_000;

    fn bound(ns: &str, sa: &str, expires: Option<i64>) -> k8s_openapi::api::core::v1::Secret {
        let annotations = expires.map(|e| token_annotations(e, e - 86_400, Some("id")));
        object(serde_json::json!({
            "metadata": {"name": format!("{sa}-token"), "namespace": ns,
                         "labels": {"app.kubernetes.io/managed-by": "kscope", GRANT_LABEL: sa},
                         "annotations": annotations},
            "type": BOUND_TOKEN_TYPE,
        }))
    }

    #[test]
    fn expired_and_expiring_grants_are_found_and_the_rest_left_alone() {
        let inventory = Inventory {
            bound_secrets: vec![
                bound("a", "gone", Some(NOW - 3600)),
                bound("b", "soon", Some(NOW + 2 * 86_400)),
                bound("c", "later", Some(NOW + 30 * 86_400)),
                bound("d", "unknown", None),
            ],
            ..Default::default()
        };
        let found = findings(&inventory, NOW, 7 * 86_400);
        let said: Vec<(Rule, &str)> = found.iter().map(|f| (f.rule, f.object.as_str())).collect();
        assert_eq!(
            said,
            [
                (Rule::GrantExpired, "Secret a/gone-token"),
                (Rule::GrantExpiring, "Secret b/soon-token"),
                (Rule::GrantExpired, "Secret d/unknown-token"),
            ]
        );
        assert!(
            found[0].message.contains("expired at"),
            "{}",
            found[0].message
        );
        assert!(
            found[0].message.contains("(1h ago)"),
            "{}",
            found[0].message
        );
        assert!(found[1].message.contains("(in 2d)"), "{}", found[1].message);
        assert!(
            findings(&inventory, NOW, 60)
                .iter()
                .all(|f| f.rule == Rule::GrantExpired)
        );
    }

    #[test]
    fn a_grant_whose_token_is_a_bound_one_has_not_drifted() {
        use crate::names::{NamespaceName, ServiceAccountName};
        use crate::spec::{GrantSpec, RoleSource};
        let template = crate::templates::built_ins().remove(0);
        let spec = GrantSpec {
            expires: Some(crate::expiry::Expires::After(
                std::time::Duration::from_secs(7200),
            )),
            ..GrantSpec::new(
                NamespaceName::parse("team").unwrap(),
                ServiceAccountName::parse("ci").unwrap(),
                RoleSource::Template(template),
            )
        };
        let made = crate::manifest::build(&spec);
        let mut secret = made.token_secret.clone();
        secret.metadata.annotations = Some(token_annotations(NOW + 3600, NOW - 3600, None));
        secret.data = Some(std::collections::BTreeMap::from([(
            "token".to_string(),
            k8s_openapi::ByteString(b"a.b.c".to_vec()),
        )]));
        let inventory = Inventory {
            service_accounts: vec![made.service_account.clone()],
            roles: made.role.clone().into_iter().collect(),
            role_bindings: vec![made.role_binding.clone()],
            bound_secrets: vec![secret],
            ..Default::default()
        };
        let thresholds = super::super::Thresholds {
            unused_for: 86_400,
            expiring_within: 60,
        };
        let found = super::super::findings(&inventory, NOW, thresholds);
        let drifted: Vec<&Finding> = found
            .iter()
            .filter(|f| f.rule == Rule::GrantDrifted)
            .collect();
        assert!(drifted.is_empty(), "{drifted:#?}");
    }
}
