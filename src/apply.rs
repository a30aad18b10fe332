//! The apply operation: every tenant of a TenantSet granted with the same operation as
//! `kscope grant`, a bounded number at a time, each object labelled with the set; one
//! kubeconfig per tenant in a directory (rewritten only when it changed); and prune, which
//! revokes (with the 401 proof) the set's grants that left the file. One failing tenant does
//! not stop the others. Returns results; prints nothing but the progress it is given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::RoleBinding;
use serde::Serialize;

use crate::cli::DryRun;
use crate::cluster::Mode;
use crate::credential;
use crate::error::{Error, Result};
use crate::grant;
use crate::kubeconfig::Endpoint;
use crate::manifest::{self, GRANT_LABEL, Outcome};
use crate::names::{NamespaceName, ServiceAccountName};
use crate::plan::{ApplyPlan, GrantPlan, GrantRef, RevokePlan};
use crate::revoke;
use crate::rules::Permission;
use crate::session::Session;
use crate::tenants::Tenant;

/// What happened to one tenant on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantResult {
    pub context: String,
    pub namespace: String,
    pub service_account: String,
    pub access: String,
    /// created, configured, unchanged, failed, pruned (or, in a dry run, validated / would prune).
    pub result: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The kubeconfig written for it, and whether it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
}

impl TenantResult {
    pub fn failed(&self) -> bool {
        self.result == "failed"
    }
}

/// The permissions a caller needs, cluster-wide, so that no tenant needs its own check.
fn set_permissions() -> Vec<Permission> {
    const RBAC: &str = "rbac.authorization.k8s.io";
    let mut wanted = vec![
        Permission::new("", "namespaces", "create"),
        Permission::new(RBAC, "roles", "escalate"),
        Permission::new(RBAC, "clusterroles", "bind"),
    ];
    for (group, resource) in [
        ("", "serviceaccounts"),
        ("", "secrets"),
        (RBAC, "roles"),
        (RBAC, "rolebindings"),
    ] {
        for verb in ["get", "create", "patch", "delete"] {
            wanted.push(Permission::new(group, resource, verb));
        }
    }
    wanted
}

/// Grants every tenant on the session's cluster; with `kubeconfigs`, writes each tenant's
/// kubeconfig for that endpoint into that directory. `done` is called after each tenant.
pub async fn apply(
    session: &Session,
    plan: &ApplyPlan,
    kubeconfigs: Option<(&Path, &Endpoint)>,
    done: &(dyn Fn() + Sync),
) -> Vec<TenantResult> {
    let session = session.quiet();
    let mode = match plan.dry_run {
        Some(DryRun::Server) => Mode::ServerDryRun,
        _ => Mode::Apply,
    };
    // One permission check for the whole set where the server answers it; otherwise each
    // tenant is checked as `kscope grant` checks it.
    let questions: Vec<_> = set_permissions().into_iter().map(|p| (None, p)).collect();
    let checked_once = session
        .cluster
        .can_i(&questions)
        .await
        .is_ok_and(|answers| answers.iter().all(|a| *a));
    let session = &session;
    futures::stream::iter(&plan.set.tenants)
        .map(|tenant| async move {
            let result = one(session, plan, tenant, mode, checked_once, kubeconfigs).await;
            done();
            result
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await
}

async fn one(
    session: &Session,
    plan: &ApplyPlan,
    tenant: &Tenant,
    mode: Mode,
    checked_once: bool,
    kubeconfigs: Option<(&Path, &Endpoint)>,
) -> TenantResult {
    let grant_plan = GrantPlan {
        spec: tenant.spec.clone(),
        adopt: false,
        dry_run: plan.dry_run,
        timeout: plan.timeout,
        preflight: !checked_once,
        remember: false,
    };
    let mut result = TenantResult {
        context: session.caller.context.clone(),
        namespace: tenant.spec.namespace.to_string(),
        service_account: tenant.spec.service_account.to_string(),
        access: tenant.spec.role.access_annotation(),
        result: String::new(),
        reason: None,
        kubeconfig: None,
    };
    let outcome = async {
        let report = grant::execute(session, &grant_plan, mode).await?;
        let written = match (kubeconfigs, mode) {
            (Some((dir, endpoint)), Mode::Apply) => Some(
                write_kubeconfig(session, tenant, report.token_secret.as_ref(), endpoint, dir)
                    .await?,
            ),
            _ => None,
        };
        Ok::<_, Error>((report, written))
    }
    .await;
    match outcome {
        Ok((report, written)) => {
            result.result = if mode == Mode::ServerDryRun {
                "validated".into()
            } else {
                summary(&report.objects).into()
            };
            result.kubeconfig = written;
        }
        Err(error) => {
            result.result = "failed".into();
            result.reason = Some(error.to_string());
        }
    }
    result
}

/// One word for what a grant did to its objects.
fn summary(objects: &[manifest::ObjectResult]) -> &'static str {
    let created = objects
        .iter()
        .any(|o| o.kind == "ServiceAccount" && o.result == Outcome::Created);
    let changed = objects
        .iter()
        .any(|o| !matches!(o.result, Outcome::Unchanged | Outcome::Exists));
    match (created, changed) {
        (true, _) => "created",
        (false, true) => "configured",
        (false, false) => "unchanged",
    }
}

/// Writes the tenant's kubeconfig into `dir` unless the file already holds the same.
async fn write_kubeconfig(
    session: &Session,
    tenant: &Tenant,
    known: Option<&k8s_openapi::api::core::v1::Secret>,
    endpoint: &Endpoint,
    dir: &Path,
) -> Result<String> {
    let grant = tenant.spec.grant_ref();
    let issued = credential::issue(session, &grant, known, tenant.token, endpoint).await?;
    let path: PathBuf = dir.join(format!(
        "{}-{}.kubeconfig",
        grant.namespace, grant.service_account
    ));
    let shown = path.display().to_string();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == issued.kubeconfig) {
        return Ok(format!("{shown} (unchanged)"));
    }
    crate::kubeconfig::write_private(&path, &issued.kubeconfig, true)?;
    Ok(shown)
}

/// The set's grants on the session's cluster that are no longer in the file: found by the
/// set's label on ServiceAccounts and RoleBindings (two list requests).
pub async fn prune_candidates(session: &Session, plan: &ApplyPlan) -> Result<Vec<GrantRef>> {
    let set = plan.set.name.as_str();
    let cluster = &session.cluster;
    let (accounts, bindings) = futures::try_join!(
        cluster.list_managed::<ServiceAccount>(None),
        cluster.list_managed::<RoleBinding>(None),
    )?;
    let in_file: BTreeSet<(String, String)> = plan
        .set
        .tenants
        .iter()
        .map(|t| {
            (
                t.spec.namespace.to_string(),
                t.spec.service_account.to_string(),
            )
        })
        .collect();
    let metas = accounts
        .iter()
        .map(|a| &a.metadata)
        .chain(bindings.iter().map(|b| &b.metadata));
    let mut gone = BTreeSet::new();
    for meta in metas {
        if manifest::set_of(meta).as_deref() != Some(set) {
            continue;
        }
        let namespace = meta.namespace.clone().unwrap_or_default();
        let Some(sa) = meta
            .labels
            .as_ref()
            .and_then(|l| l.get(GRANT_LABEL))
            .cloned()
        else {
            continue;
        };
        if !in_file.contains(&(namespace.clone(), sa.clone())) {
            gone.insert((namespace, sa));
        }
    }
    Ok(gone
        .into_iter()
        .filter_map(|(ns, sa)| {
            Some(GrantRef {
                namespace: NamespaceName::parse(&ns).ok()?,
                service_account: ServiceAccountName::parse(&sa).ok()?,
            })
        })
        .collect())
}

/// Revokes each of `grants`, proving each old token refused.
pub async fn prune(session: &Session, plan: &ApplyPlan, grants: &[GrantRef]) -> Vec<TenantResult> {
    let session = session.quiet();
    let session = &session;
    futures::stream::iter(grants)
        .map(|grant| async move {
            let revoke_plan = RevokePlan {
                grant: grant.clone(),
                confirmed: true,
                dry_run: plan.dry_run.is_some(),
                delete_namespace: false,
                timeout: plan.timeout,
            };
            let outcome = async {
                let survey = revoke::survey(session, &revoke_plan).await?;
                if plan.dry_run.is_some() {
                    return Ok("would prune".to_string());
                }
                revoke::execute(session, &survey, plan.timeout).await?;
                Ok::<_, Error>("pruned".to_string())
            }
            .await;
            let (result, reason) = match outcome {
                Ok(word) => (word, None),
                Err(e) => ("failed".to_string(), Some(e.to_string())),
            };
            TenantResult {
                context: session.caller.context.clone(),
                namespace: grant.namespace.to_string(),
                service_account: grant.service_account.to_string(),
                access: String::new(),
                result,
                reason,
                kubeconfig: None,
            }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await
}

/// Every tenant's manifests as one multi-document YAML stream, each Namespace once: input for
/// `kubectl apply -f` or a GitOps engine. Never a token.
pub fn manifests(plan: &ApplyPlan) -> Result<String> {
    let mut seen = BTreeSet::new();
    let mut out = String::new();
    for tenant in &plan.set.tenants {
        let first = seen.insert(tenant.spec.namespace.to_string());
        out.push_str(&manifest::to_yaml_with(
            &manifest::build(&tenant.spec),
            first,
        )?);
    }
    Ok(out)
}

/// A counter for progress: how many tenants are done.
#[derive(Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    pub fn tick(&self) -> usize {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}
