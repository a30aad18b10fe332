//! A grant's Namespace: created when missing, or, when it exists, given kscope's tenant labels
//! (and nothing else) by a merge patch.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};

use super::{Cluster, WriteMode, apply_params, apply_through};
use crate::error::{Error, Result};
use crate::wire::idempotent;
use kscope_core::manifest::Outcome;

impl Cluster {
    /// The Namespace written when it does not exist yet (`existing` is the
    /// caller's fresh read, so no second GET is needed); an existing one is left as it is, but
    /// for kscope's tenant labels when `mark`. Returns what happened and the Namespace as it
    /// now is (the server's answer to a write, else `existing`).
    pub(crate) async fn ensure_namespace(
        &self,
        object: &Namespace,
        existing: Option<&Namespace>,
        mark: bool,
        mode: WriteMode,
    ) -> Result<(Outcome, Namespace)> {
        match existing {
            Some(existing) if mark => return self.mark_existing(object, existing, mode).await,
            Some(existing) => return Ok((Outcome::Exists, existing.clone())),
            None => {}
        }
        // Created (one made since it was read is applied), as every absent object is; kscope
        // never applies an existing Namespace again.
        let api = Api::<Namespace>::all(self.client.clone());
        let params = apply_params(false, mode);
        let (made, outcome) = apply_through(api, &object.name_any(), object, None, params).await?;
        Ok((outcome, made))
    }

    /// Sets (or, for `None`, removes) labels of an existing Namespace by a merge patch, which
    /// leaves every other label and every field's owner as they are (under a server dry run,
    /// only validated).
    pub(crate) async fn label_namespace(
        &self,
        name: &str,
        labels: &BTreeMap<String, Option<String>>,
        mode: WriteMode,
    ) -> Result<Namespace> {
        let api = Api::<Namespace>::all(self.client.clone());
        let params = PatchParams {
            field_manager: Some(kscope_core::manifest::FIELD_MANAGER.to_string()),
            dry_run: mode == WriteMode::ServerDryRun,
            ..Default::default()
        };
        let body = serde_json::json!({"metadata": {"labels": labels}});
        let patch = Patch::Merge(&body);
        idempotent(|| api.patch(name, &params, &patch))
            .await
            .map_err(|e| Error::api(format!("label Namespace {name}"), e))
    }

    /// Puts [`TENANT_LABEL`](kscope_core::manifest::TENANT_LABEL) on an existing Namespace that
    /// lacks it (the guard's upgrade from per-namespace bindings); `None` when it has it or is
    /// gone.
    pub(crate) async fn mark_tenant_namespace(
        &self,
        name: &str,
        mode: WriteMode,
    ) -> Result<Option<Outcome>> {
        use kscope_core::manifest::TENANT_LABEL;
        let Some(namespace) = self.get_cluster_scoped::<Namespace>(name).await? else {
            return Ok(None);
        };
        let labels = namespace.metadata.labels.unwrap_or_default();
        if labels.contains_key(TENANT_LABEL) {
            return Ok(None);
        }
        let wanted = BTreeMap::from([(TENANT_LABEL.to_string(), Some("true".to_string()))]);
        self.label_namespace(name, &wanted, mode).await?;
        Ok(Some(Outcome::Labelled))
    }

    /// An existing Namespace of a grant: left as it is but for kscope's tenant labels (the
    /// guard's, and the grant's openings), which `object` carries; set by a merge patch when
    /// they differ (a Namespace the caller may not read, `existing` without a name, is taken
    /// to have none of them).
    async fn mark_existing(
        &self,
        object: &Namespace,
        existing: &Namespace,
        mode: WriteMode,
    ) -> Result<(Outcome, Namespace)> {
        use kscope_core::manifest::{ALWAYS_PULL_LABEL, OPENINGS_LABEL, TENANT_LABEL};
        let wanted = object.metadata.labels.clone().unwrap_or_default();
        let live = existing.metadata.labels.clone().unwrap_or_default();
        let mut patch: BTreeMap<String, Option<String>> = BTreeMap::new();
        for key in [TENANT_LABEL, OPENINGS_LABEL, ALWAYS_PULL_LABEL] {
            match (wanted.get(key), live.get(key)) {
                (Some(want), Some(have)) if want == have => {}
                (Some(want), _) => {
                    patch.insert(key.to_string(), Some(want.clone()));
                }
                (None, Some(_)) => {
                    patch.insert(key.to_string(), None);
                }
                (None, None) => {}
            }
        }
        if patch.is_empty() {
            return Ok((Outcome::Exists, existing.clone()));
        }
        let name = object.name_any();
        let labelled = self.label_namespace(&name, &patch, mode).await?;
        Ok((Outcome::Labelled, labelled))
    }
}
