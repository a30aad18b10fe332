//! Beyond RBAC: when the authorizer chain cannot list a ServiceAccount's rules (a webhook
//! authorizer after RBAC, as managed clusters run), the bindings no longer say everything a
//! neighbour ServiceAccount holds. The caller then asks the API server itself, by
//! SubjectAccessReview, whether each other ServiceAccount of the grant's namespaces may do what
//! the grant may not; one that may is a path out, named with the authorizer's reason.

use futures::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;

use super::Stronger;
use crate::cluster::{Cluster, is_forbidden};
use crate::error::Result;
use kscope_core::access::{PathOut, PathProbe, scope_of};
use kscope_core::rules::Permission;
use kscope_core::spec::{GrantRef, service_account_user};

/// How many neighbours are asked about at once (each asks its questions concurrently too).
const NEIGHBOURS_AT_ONCE: usize = 4;

/// What judging the neighbours found: the paths out, and who was asked about.
pub(crate) struct Neighbours {
    pub(crate) paths: Vec<PathProbe>,
    /// `namespace/name` of each ServiceAccount asked about.
    pub(crate) asked: Vec<String>,
}

/// Judges the ServiceAccounts of `namespaces` other than the grant's own, and other than those
/// the bindings already showed stronger (`known`), by asking `denied` (the questions the grant
/// is denied) about each as the caller. A neighbour allowed any of them is a path out; one
/// whose answers the chain could not give is unproven; a namespace whose ServiceAccounts the
/// caller may not list, or about which it may not ask, is an unproven path of its own.
pub(crate) async fn neighbours(
    caller: &Cluster,
    grant: &GrantRef,
    namespaces: &[String],
    known: &[Stronger],
    denied: &[(Option<String>, Permission)],
) -> Result<Neighbours> {
    let mut found = Neighbours {
        paths: Vec::new(),
        asked: Vec::new(),
    };
    for namespace in namespaces {
        let accounts = match caller.list_in::<ServiceAccount>(namespace).await {
            Ok(accounts) => accounts,
            Err(e) if is_forbidden(&e) => {
                found.paths.push(unjudged(
                    namespace,
                    "you may not list its ServiceAccounts, so none of them could be asked about",
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        let names: Vec<String> = accounts
            .into_iter()
            .filter_map(|sa| sa.metadata.name)
            .filter(|name| {
                !(namespace == grant.namespace.as_str() && name == grant.service_account.as_str())
            })
            .filter(|name| {
                !known
                    .iter()
                    .any(|k| &k.namespace == namespace && &k.service_account == name)
            })
            .collect();
        let mut answers = futures::stream::iter(names.iter().map(|name| async move {
            let groups = [
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_string(),
            ];
            let user = service_account_user(namespace, name);
            (name, caller.reviews_of(&user, &groups, denied).await)
        }))
        .buffered(NEIGHBOURS_AT_ONCE);
        while let Some((name, reviews)) = answers.next().await {
            let reviews = match reviews {
                Ok(reviews) => reviews,
                Err(e) if is_forbidden(&e) => {
                    found.paths.push(unjudged(
                        namespace,
                        "you may not ask the API server about others (SubjectAccessReview create)",
                    ));
                    break;
                }
                Err(e) => return Err(e),
            };
            found.asked.push(format!("{namespace}/{name}"));
            let path = PathOut::StrongerAccount {
                namespace: namespace.clone(),
                service_account: name.clone(),
            };
            let allowed = denied.iter().zip(&reviews).find(|(_, r)| r.allowed);
            let failed = denied
                .iter()
                .zip(&reviews)
                .find(|(_, r)| !r.allowed && r.evaluation_error.is_some());
            if let Some(((scope, permission), review)) = allowed {
                found.paths.push(PathProbe {
                    path,
                    expected: "refused",
                    refused: false,
                    unproven: false,
                    reason: format!(
                        "the grant can run pods, mint tokens or read Secrets as it; the API server allows it {permission} {}, which the grant may not ({}; not from a binding kscope can read)",
                        scope_of(scope.as_deref()),
                        review.reason.as_deref().unwrap_or("no reason given")
                    ),
                });
            } else if let Some(((scope, permission), review)) = failed {
                found.paths.push(PathProbe {
                    path,
                    expected: "refused",
                    refused: false,
                    unproven: true,
                    reason: format!(
                        "whether it may {permission} {} could not be decided: {}",
                        scope_of(scope.as_deref()),
                        review.evaluation_error.as_deref().unwrap_or_default()
                    ),
                });
            }
        }
    }
    Ok(found)
}

fn unjudged(namespace: &str, why: &str) -> PathProbe {
    PathProbe {
        path: PathOut::NeighboursUnjudged {
            namespace: namespace.to_string(),
        },
        expected: "refused",
        refused: false,
        unproven: true,
        reason: format!("authorization goes beyond RBAC here, and {why}"),
    }
}
