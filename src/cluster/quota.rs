//! Whether the API server enforces a namespace's ResourceQuotas: quota admission reads what a
//! resource quota controller recorded in `status.hard`, so a quota is in force only once one
//! has (within a second of its write on a cluster that runs kube-controller-manager's).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::ResourceExt;
use kube::api::{ListParams, WatchEvent, WatchParams};

use super::Cluster;
use crate::error::{Error, Result};
use crate::wire::idempotent;
use kscope_core::manifest::{QuotaHold, quota_hold};

impl Cluster {
    /// The namespace's ResourceQuotas as the API server enforces them, with the quotas as
    /// last seen: one list, and where quotas exist but none is in force yet, a watch of them
    /// for at most `wait` (the controller records a new quota moments after its write).
    pub(crate) async fn quota_state(
        &self,
        namespace: &str,
        wait: Duration,
    ) -> Result<(QuotaHold, Vec<ResourceQuota>)> {
        let api = self.namespaced::<ResourceQuota>(namespace);
        let all = ListParams::default();
        let list = idempotent(|| api.list(&all))
            .await
            .map_err(|e| Error::api(format!("list ResourceQuotas in {namespace}"), e))?;
        let from = list.metadata.resource_version.clone().unwrap_or_default();
        let mut quotas: BTreeMap<String, ResourceQuota> =
            list.items.into_iter().map(|q| (q.name_any(), q)).collect();
        let unenforced = |quotas: &BTreeMap<String, ResourceQuota>| {
            matches!(quota_hold(quotas.values()), QuotaHold::Unenforced(_))
        };
        if unenforced(&quotas) && !wait.is_zero() {
            let seen = &mut quotas;
            let watched = async move {
                let seconds = u32::try_from(wait.as_secs() + 1).unwrap_or(u32::MAX);
                let params = WatchParams::default().timeout(seconds);
                let mut events = Box::pin(api.watch(&params, &from).await?);
                while let Some(event) = events.try_next().await? {
                    match event {
                        WatchEvent::Added(q) | WatchEvent::Modified(q) => {
                            seen.insert(q.name_any(), q);
                        }
                        WatchEvent::Deleted(q) => {
                            seen.remove(&q.name_any());
                        }
                        // Expired or erred: what was seen stands.
                        WatchEvent::Error(_) => break,
                        WatchEvent::Bookmark(_) => continue,
                    }
                    if !unenforced(seen) {
                        break;
                    }
                }
                Ok::<_, kube::Error>(())
            };
            if let Ok(Err(e)) = tokio::time::timeout(wait, watched).await {
                return Err(Error::api(
                    format!("watch ResourceQuotas in {namespace}"),
                    e,
                ));
            }
        }
        Ok((quota_hold(quotas.values()), quotas.into_values().collect()))
    }
}
