//! `apply`'s report: what happened to each tenant of a TenantSet on each cluster.

use serde::Serialize;

use crate::containment::Reach;
use crate::spec::GrantRef;

/// What happened to one tenant on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResult {
    pub context: String,
    pub namespace: String,
    pub service_account: String,
    pub access: String,
    pub result: TenantOutcome,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The kubeconfig written for it, and whether it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    /// What containment had to say: a privileged namespace, a risk the flags accepted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Where its credential was delivered (`kubeconfig.deliverTo`), or removed from (prune).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
    /// The guard this run installed for the tenant, still to be proven in force.
    #[serde(skip)]
    pub guard: Option<(GrantRef, Vec<String>, Reach)>,
}

/// What happened to a tenant, in one word (two in a dry run's prune).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TenantOutcome {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "configured")]
    Configured,
    #[serde(rename = "unchanged")]
    Unchanged,
    /// `--dry-run=server`: the server accepted every object.
    #[serde(rename = "validated")]
    Validated,
    #[serde(rename = "pruned")]
    Pruned,
    /// `--dry-run`: the grant left the file and would be revoked.
    #[serde(rename = "would prune")]
    WouldPrune,
    #[serde(rename = "failed")]
    Failed,
}

impl std::fmt::Display for TenantOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TenantOutcome::Created => "created",
            TenantOutcome::Configured => "configured",
            TenantOutcome::Unchanged => "unchanged",
            TenantOutcome::Validated => "validated",
            TenantOutcome::Pruned => "pruned",
            TenantOutcome::WouldPrune => "would prune",
            TenantOutcome::Failed => "failed",
        })
    }
}

impl TenantResult {
    pub fn failed(&self) -> bool {
        self.result == TenantOutcome::Failed
    }
}
