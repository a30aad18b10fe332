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

/// What the API server enforces of a namespace's ResourceQuotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QuotaState {
    /// The namespace has no ResourceQuota.
    None,
    /// This quota is in force as written.
    Enforced(String),
    /// None is in force as written: each quota, with the limits not (yet) recorded (empty:
    /// none of them is).
    Unenforced(Vec<(String, Vec<String>)>),
}

impl QuotaState {
    fn of(quotas: &BTreeMap<String, ResourceQuota>) -> QuotaState {
        if quotas.is_empty() {
            return QuotaState::None;
        }
        let mut waiting = Vec::new();
        for (name, quota) in quotas {
            let mut missing = kscope_core::manifest::unenforced(quota);
            if missing.is_empty() {
                return QuotaState::Enforced(name.clone());
            }
            let recorded = quota.status.as_ref().and_then(|s| s.hard.as_ref());
            if recorded.is_none_or(|r| r.is_empty()) {
                missing.clear();
            }
            waiting.push((name.clone(), missing));
        }
        QuotaState::Unenforced(waiting)
    }
}

impl Cluster {
    /// The namespace's ResourceQuotas as the API server enforces them, with the quotas as
    /// last seen: one list, and where quotas exist but none is in force yet, a watch of them
    /// for at most `wait` (the controller records a new quota moments after its write).
    pub(crate) async fn quota_state(
        &self,
        namespace: &str,
        wait: Duration,
    ) -> Result<(QuotaState, Vec<ResourceQuota>)> {
        let api = self.namespaced::<ResourceQuota>(namespace);
        let all = ListParams::default();
        let list = idempotent(|| api.list(&all))
            .await
            .map_err(|e| Error::api(format!("list ResourceQuotas in {namespace}"), e))?;
        let from = list.metadata.resource_version.clone().unwrap_or_default();
        let mut quotas: BTreeMap<String, ResourceQuota> =
            list.items.into_iter().map(|q| (q.name_any(), q)).collect();
        if matches!(QuotaState::of(&quotas), QuotaState::Unenforced(_)) && !wait.is_zero() {
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
                    if !matches!(QuotaState::of(seen), QuotaState::Unenforced(_)) {
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
        Ok((QuotaState::of(&quotas), quotas.into_values().collect()))
    }
}
