//! Applying a grant's objects one by one, recording what happened to each: every namespace
//! of the grant (home or other) gets its Namespace, guard, Role and RoleBinding the same way;
//! a namespace the grant no longer lists loses its Role and RoleBinding.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Resource;

use crate::cluster::{Cluster, WriteMode, is_forbidden, is_managed};
use crate::error::Result;
use crate::ops::judge;
use kscope_core::manifest::{self, GrantObject, Kind, ObjectResult, Outcome};
use kscope_core::spec::GrantSpec;

/// What one namespace of a grant is given, beside what of it exists.
pub(super) struct NamespaceObjects<'a> {
    pub(super) namespace: &'a str,
    pub(super) manifest: &'a Namespace,
    pub(super) existing: Option<&'a Namespace>,
    pub(super) judgement: &'a judge::Judgement,
    pub(super) role: Option<&'a Role>,
    pub(super) live_role: Option<&'a Role>,
    pub(super) binding: &'a RoleBinding,
    pub(super) live_binding: Option<&'a RoleBinding>,
}

/// Applies a grant's namespaced objects one by one, recording what happened to each.
pub(super) struct Applier<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) adopt: bool,
    pub(super) mode: WriteMode,
    pub(super) objects: Vec<ObjectResult>,
}

impl Applier<'_> {
    /// One namespace of the grant, whichever it is (home or other): the Namespace (created
    /// only when missing), the guard when it needs one, the Role (for a template) and the
    /// RoleBinding.
    pub(super) async fn namespace_access(&mut self, step: NamespaceObjects<'_>) -> Result<()> {
        let result = self
            .cluster
            .ensure_namespace(step.manifest, step.existing, self.mode)
            .await?;
        self.objects.push(ObjectResult {
            kind: Kind::Namespace,
            name: step.namespace.to_string(),
            result,
        });
        if step.judgement.guard {
            let guard = judge::install_guard(
                self.cluster,
                step.namespace,
                &step.judgement.live,
                self.mode,
            )
            .await?;
            self.objects.extend(guard);
        }
        if let Some(role) = step.role {
            self.apply(role, step.live_role).await?;
        }
        match step.live_binding {
            // A roleRef cannot change: replace the binding, as `kubectl auth reconcile` does.
            Some(current) if current.role_ref != step.binding.role_ref => {
                self.replace(step.binding).await
            }
            current => self.apply(step.binding, current).await.map(|_| ()),
        }
    }

    /// Namespaces the grant no longer lists lose its Role and RoleBinding there; the
    /// namespaces stay.
    pub(super) async fn drop_unlisted(&mut self, spec: &GrantSpec) -> Result<()> {
        let selector = manifest::also_in_selector(&spec.grant_ref());
        let listed: Vec<&str> = spec.also_in.iter().map(|n| n.as_str()).collect();
        // A caller who may not list RoleBindings everywhere (a tenant lead with a RoleBinding)
        // has no other namespaces to clean up.
        let found = match self.cluster.list_labelled::<RoleBinding>(&selector).await {
            Err(e) if is_forbidden(&e) => Vec::new(),
            other => other?,
        };
        for stale in found {
            let ns = stale.metadata.namespace.clone().unwrap_or_default();
            if listed.contains(&ns.as_str()) || !is_managed(&stale.metadata) {
                continue;
            }
            let name = stale.metadata.name.clone().unwrap_or_default();
            if self.mode == WriteMode::Apply {
                self.cluster.delete::<RoleBinding>(&ns, &name).await?;
                self.cluster.delete::<Role>(&ns, &name).await?;
            }
            for kind in [Kind::RoleBinding, Kind::Role] {
                self.objects.push(ObjectResult {
                    kind,
                    name: format!("{ns}/{name}"),
                    result: Outcome::Deleted,
                });
            }
        }
        Ok(())
    }

    pub(super) async fn apply<K>(&mut self, object: &K, live: Option<&K>) -> Result<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + GrantObject
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        let (applied, result) = self
            .cluster
            .apply(object, live, self.adopt, self.mode)
            .await?;
        self.record(object, result);
        Ok(applied)
    }

    fn record<K: Resource<DynamicType = ()> + GrantObject>(&mut self, object: &K, result: Outcome) {
        self.objects.push(ObjectResult {
            kind: K::KIND,
            name: format!(
                "{}/{}",
                object.meta().namespace.as_deref().unwrap_or_default(),
                object.meta().name.as_deref().unwrap_or_default()
            ),
            result,
        });
    }

    /// Deletes the live binding and makes it anew (under a server dry run, only reported: the
    /// server cannot validate a replacement without making it).
    async fn replace(&mut self, binding: &RoleBinding) -> Result<()> {
        let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
        let name = binding.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<RoleBinding>(ns, name).await?;
            self.cluster
                .apply(binding, None, self.adopt, self.mode)
                .await?;
        }
        self.record(binding, Outcome::Replaced);
        Ok(())
    }

    /// Deletes a Role of the grant that its new access no longer needs.
    pub(super) async fn remove(&mut self, role: &Role) -> Result<()> {
        let ns = role.metadata.namespace.as_deref().unwrap_or_default();
        let name = role.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<Role>(ns, name).await?;
        }
        self.record(role, Outcome::Deleted);
        Ok(())
    }
}
