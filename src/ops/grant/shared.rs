//! What the grants of a set read alike (`apply` reads it once instead of once per tenant),
//! and the grant's bindings in namespaces it no longer lists.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::RoleBinding;

use super::applier::BoundsLists;

use crate::cluster::{Cluster, TokenHub, is_managed};
use crate::error::Result;
use crate::ops::judge;
use kscope_core::manifest;
use kscope_core::spec::GrantSpec;

/// What the grants of a set read alike, read once by `apply` instead of by each tenant:
/// kscope's guard (only when it holds: a tenant that finds it missing repairs it), every
/// RoleBinding kscope made for a grant outside its home namespace, and every
/// ClusterRoleBinding (for the ServiceAccounts a tenant in an existing namespace can act as).
/// Each is `None` when it could not be read; each grant then reads its own.
#[derive(Clone, Default)]
pub(crate) struct Shared {
    pub(super) guard: std::sync::OnceLock<judge::LiveGuard>,
    pub(super) also_in: Option<std::sync::Arc<Vec<RoleBinding>>>,
    pub(super) cluster_bindings: Option<std::sync::Arc<Vec<judge::Bound>>>,
    /// One watch for the set's token Secrets (each grant otherwise watches its own).
    pub(super) tokens: Option<std::sync::Arc<TokenHub>>,
}

impl Shared {
    /// A grant of the set installed the guard (or found it whole): the others need not read it.
    pub(super) fn guard_holds(&self) {
        let _ = self.guard.set(judge::LiveGuard::as_kscope_makes_it());
    }

    pub(crate) async fn read(cluster: &Cluster) -> Shared {
        let selector = manifest::all_also_in_selector();
        let (guard, also_in, cluster_bindings) = futures::join!(
            judge::LiveGuard::read(cluster),
            cluster.list_labelled::<RoleBinding>(&selector),
            judge::cluster_bindings(cluster),
        );
        Shared {
            guard: guard
                .ok()
                .filter(judge::LiveGuard::holds)
                .map(std::sync::OnceLock::from)
                .unwrap_or_default(),
            also_in: also_in.ok().map(std::sync::Arc::new),
            cluster_bindings: cluster_bindings.ok().map(std::sync::Arc::new),
            tokens: None,
        }
    }

    /// Watches the token Secrets of set `set`, named in `expected` (namespace, name), once for
    /// all its grants.
    pub(crate) fn watch_tokens(
        &mut self,
        cluster: &Cluster,
        set: &str,
        expected: std::collections::BTreeSet<(String, String)>,
    ) {
        let selector = manifest::set_selector(set);
        self.tokens = Some(std::sync::Arc::new(TokenHub::start(
            cluster, selector, expected,
        )));
    }
}

/// What the grants of a set learn of one namespace, handed from each of its tenants to the
/// next (they are granted one after the other, so each judgement sees the grants made before
/// it): the Namespace as the last grant left it, what judging it read (with the set's own
/// Roles and RoleBindings added as they are written), and its quotas, limit ranges and
/// network policies. A namespace this run created holds nothing but what the set made, so a
/// later tenant there reads no objects of its own either. Kept only from grants that
/// succeeded and wrote (a failure starts the next tenant afresh).
#[derive(Clone, Default)]
pub(crate) struct Neighbourhood {
    pub(super) namespace: Option<Namespace>,
    pub(super) created: bool,
    pub(super) seen: judge::Seen,
    pub(super) bounds: Option<BoundsLists>,
}

/// The grant's RoleBindings in namespaces it no longer lists (kscope's own only): from
/// `known` (every such binding of kscope's, read once for a set), else listed. A caller who may
/// not list RoleBindings everywhere (a tenant lead with a RoleBinding) has no other namespaces
/// to clean up.
pub(super) async fn unlisted(
    cluster: &Cluster,
    spec: &GrantSpec,
    known: Option<&[RoleBinding]>,
) -> Result<Vec<RoleBinding>> {
    let grant = spec.grant_ref();
    let found = match known {
        Some(known) => known
            .iter()
            .filter(|b| manifest::is_also_in_of(&b.metadata, &grant))
            .cloned()
            .collect(),
        None => {
            cluster
                .list_labelled_visible::<RoleBinding>(&manifest::also_in_selector(&grant))
                .await?
        }
    };
    Ok(found
        .into_iter()
        .filter(|b| {
            let ns = b.metadata.namespace.as_deref().unwrap_or_default();
            is_managed(&b.metadata) && !spec.also_in.iter().any(|n| n.as_str() == ns)
        })
        .collect())
}
