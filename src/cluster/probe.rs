//! Questions put to admission rather than to RBAC: writes sent as server-side dry runs
//! (`dryRun=All`: authorized and admitted, never stored), answered by whether the server would
//! take them; and the cluster-scoped objects of kscope's guard, applied like the grant's own.

use std::fmt::Debug;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Cluster, ClusterScoped, Namespaced, WriteMode, apply_params, apply_through, kind};
use crate::error::{Error, Result, api_status};
use crate::wire::idempotent;
use kscope_core::manifest::Outcome;

/// What the API server would do with a write, asked as a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Authorized and admitted: the write would be stored.
    Admitted,
    /// Refused by authorization (RBAC), admission (Pod Security, a policy) or validation;
    /// the server's own message.
    Refused { code: u16, reason: String },
    /// The server answered with an error of its own (5xx): an authorizer or an admission
    /// webhook that failed. Neither admitted nor refused.
    Unanswered { code: u16, reason: String },
}

impl Cluster {
    /// Would the server create `object` in `namespace`? (A dry run: nothing is stored.)
    pub(crate) async fn try_create<K>(&self, namespace: &str, object: &K) -> Result<Admission>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let api = self.namespaced::<K>(namespace);
        let params = PostParams {
            dry_run: true,
            ..Default::default()
        };
        let shown = format!("{} {namespace}/{}", kind::<K>(), object.name_any());
        admission(idempotent(|| api.create(&params, object)).await, &shown)
    }

    /// Would the server take this merge patch of a namespaced object? (A dry run.)
    pub(crate) async fn try_patch<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<Admission>
    where
        K: Namespaced,
    {
        let api = self.namespaced::<K>(namespace);
        try_merge(
            api,
            &format!("{} {namespace}/{name}", kind::<K>()),
            name,
            patch,
        )
        .await
    }

    /// A merge patch of a namespaced object, for real (kscope's own records beside what
    /// server-side apply owns, such as where a credential was delivered).
    pub(crate) async fn merge_patch<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<()>
    where
        K: Namespaced,
    {
        let api = self.namespaced::<K>(namespace);
        let params = PatchParams {
            field_manager: Some(kscope_core::manifest::FIELD_MANAGER.to_string()),
            ..Default::default()
        };
        let patch = Patch::Merge(patch);
        idempotent(|| api.patch(name, &params, &patch))
            .await
            .map(|_| ())
            .map_err(|e| Error::api(format!("annotate {} {namespace}/{name}", kind::<K>()), e))
    }

    /// Would the server take this merge patch of a cluster-scoped object? (A dry run.)
    pub(crate) async fn try_patch_cluster_scoped<K>(
        &self,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<Admission>
    where
        K: ClusterScoped,
    {
        let api = Api::<K>::all(self.client.clone());
        try_merge(api, &format!("{} {name}", kind::<K>()), name, patch).await
    }

    /// Server-side apply of a cluster-scoped object whose live version (`existing`) the caller
    /// has just read, as [`Cluster::apply`] does for namespaced ones.
    pub(crate) async fn apply_cluster_scoped<K>(
        &self,
        object: &K,
        existing: Option<&K>,
        mode: WriteMode,
    ) -> Result<(K, Outcome)>
    where
        K: Resource<Scope = ClusterResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let api = Api::<K>::all(self.client.clone());
        // The guard is kscope's alone: take its fields back from whoever changed them.
        apply_through(
            api,
            &object.name_any(),
            object,
            existing,
            apply_params(true, mode),
        )
        .await
    }

    /// Every object of kind `K` in one namespace (one list request).
    pub(crate) async fn list_in<K>(&self, namespace: &str) -> Result<Vec<K>>
    where
        K: Namespaced,
    {
        self.list_in_selected(namespace, "").await
    }

    /// The objects of kind `K` in `namespace` that a field selector (empty: none) selects.
    pub(crate) async fn list_in_selected<K>(&self, namespace: &str, fields: &str) -> Result<Vec<K>>
    where
        K: Namespaced,
    {
        let api = self.namespaced::<K>(namespace);
        let mut params = ListParams::default();
        if !fields.is_empty() {
            params = params.fields(fields);
        }
        idempotent(|| api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|e| Error::api(format!("list {}s in {namespace}", kind::<K>()), e))
    }
}

async fn try_merge<K>(
    api: Api<K>,
    shown: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<Admission>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    let params = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    let patch = Patch::Merge(patch);
    admission(idempotent(|| api.patch(name, &params, &patch)).await, shown)
}

/// A dry run's answer: stored (admitted), refused by the server (403 from RBAC, Pod Security
/// or a policy; 422 from validation or a policy), not decided (5xx: an authorizer or a
/// webhook failed), or an error kscope cannot read as any of them.
fn admission<T>(answer: std::result::Result<T, kube::Error>, shown: &str) -> Result<Admission> {
    match answer {
        Ok(_) => Ok(Admission::Admitted),
        Err(e) => match api_status(&e) {
            Some(status) if matches!(status.code, 403 | 422) => Ok(Admission::Refused {
                code: status.code,
                reason: status.message.trim().to_string(),
            }),
            Some(status) if (500..600).contains(&status.code) => Ok(Admission::Unanswered {
                code: status.code,
                reason: status.message.trim().to_string(),
            }),
            _ => Err(Error::api(
                format!("ask the server (dry run) about {shown}"),
                e,
            )),
        },
    }
}
