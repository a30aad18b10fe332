//! The apply operation: every tenant of a TenantSet granted with the same operation as
//! `kscope grant`, a bounded number at a time, each object labelled with the set; one
//! kubeconfig per tenant in a directory (rewritten only when it changed); and prune, which
//! revokes (with the 401 proof) the set's grants that left the file. One failing tenant does
//! not stop the others. Returns results; prints nothing but the progress it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::RoleBinding;

use crate::cli::DryRun;
use crate::cluster::WriteMode;
use crate::error::{Error, Result};
use crate::ops::credential;
use crate::ops::deliver::{self, Target};
use crate::ops::grant;
use crate::ops::judge;
use crate::ops::revoke;
use crate::plan::{ApplyPlan, GrantPlan, RevokePlan};
use crate::session::Session;
use kscope_core::containment as contained;
use kscope_core::kubeconfig::Endpoint;
use kscope_core::manifest::{self, GRANT_LABEL, Outcome};
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::report::apply::{TenantOutcome, TenantResult};
use kscope_core::rules::Permission;
use kscope_core::spec::GrantRef;
use kscope_core::tenants::{Delivery, Tenant};

/// Where `apply` delivers credentials: the workload cluster's endpoint (what the Secrets
/// point at), and a session per management context the set names, connected up front.
pub(crate) struct Deliveries<'a> {
    pub(crate) endpoint: &'a Endpoint,
    pub(crate) to: &'a BTreeMap<String, Session>,
}

/// The permissions a caller needs, cluster-wide, so that no tenant needs its own check.
fn set_permissions() -> Vec<Permission> {
    use kscope_core::rules::RBAC_GROUP as RBAC;
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
/// kubeconfig for that endpoint into that directory. `done` is given each tenant's result.
pub(crate) async fn apply(
    session: &Session,
    plan: &ApplyPlan,
    kubeconfigs: Option<(&Path, &Endpoint)>,
    deliveries: Option<&Deliveries<'_>>,
    done: &(dyn Fn(&TenantResult) + Sync),
) -> Vec<TenantResult> {
    let session = session.quiet();
    let mode = match plan.dry_run {
        Some(DryRun::Server) => WriteMode::ServerDryRun,
        _ => WriteMode::Apply,
    };
    // One permission check for the whole set where the server answers it; otherwise each
    // tenant is checked as `kscope grant` checks it.
    let mut questions: Vec<_> = set_permissions().into_iter().map(|p| (None, p)).collect();
    let needed = questions.len();
    // And whether the caller holds everything (so may act as each tenant to prove its guard,
    // with no token to mint and no connection to open).
    questions.push((None, Permission::new("*", "*", "*")));
    // What every tenant would read alike (the guard, kscope's bindings outside home
    // namespaces, the ClusterRoleBindings, which no tenant of a set makes) is read once,
    // beside that check.
    let (answers, shared) = futures::join!(
        session.cluster.can_i(&questions),
        grant::Shared::read(&session.cluster)
    );
    let answers = answers.unwrap_or_default();
    let checked_once = answers.len() > needed && answers[..needed].iter().all(|a| *a);
    let may_impersonate = answers.get(needed).copied().unwrap_or(false);
    let mut shared = shared;
    // The set's token Secrets are waited for through one watch, not one per tenant.
    if mode == WriteMode::Apply {
        let expected = plan
            .set
            .tenants
            .iter()
            .map(|t| {
                let grant = t.spec.grant_ref();
                (
                    grant.namespace.to_string(),
                    grant.service_account.token_secret(),
                )
            })
            .collect();
        shared.watch_tokens(&session.cluster, &plan.set.name, expected);
    }
    let shared = &shared;
    let session = &session;
    // The tenants of one namespace one after the other, namespaces at once: each tenant's
    // containment judgement (a stronger ServiceAccount in its namespace) must see the grants
    // of the set made before it, or two tenants of one namespace judged at once would each
    // miss the other.
    let mut by_namespace: Vec<Vec<&Tenant>> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for tenant in &plan.set.tenants {
        let ns = tenant.spec.namespace.as_str();
        let at = *index.entry(ns).or_insert_with(|| {
            by_namespace.push(Vec::new());
            by_namespace.len() - 1
        });
        by_namespace[at].push(tenant);
    }
    // A namespace that another tenant of the set reaches as one of its other namespaces may
    // change under its own tenants while they are granted: they read it afresh, each.
    let reached: BTreeSet<&str> = plan
        .set
        .tenants
        .iter()
        .flat_map(|t| t.spec.also_in.iter().map(|n| n.as_str()))
        .collect();
    let reached = &reached;
    let mut results: Vec<TenantResult> = futures::stream::iter(by_namespace)
        .map(|tenants| async move {
            let mut results = Vec::with_capacity(tenants.len());
            // What each tenant saw of the namespace, handed to the next.
            let mut near = grant::Neighbourhood::default();
            for tenant in tenants {
                if reached.contains(tenant.spec.namespace.as_str()) {
                    near = grant::Neighbourhood::default();
                }
                let result = one(
                    session,
                    plan,
                    tenant,
                    mode,
                    (checked_once, shared, &mut near),
                    kubeconfigs,
                    deliveries,
                )
                .await;
                done(&result);
                results.push(result);
            }
            results
        })
        .buffer_unordered(plan.concurrency)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    // Every guard this run installed is proven in force (as the tenant, a write it protects
    // refused) before its tenant is reported made. Proven after the whole set, not tenant by
    // tenant: by then the API server has loaded most of them, so one dry run each suffices.
    futures::stream::iter(results.iter_mut())
        .for_each_concurrent(plan.concurrency, |result| async move {
            let Some((grant, also_in, reach)) = result.guard.take() else {
                return;
            };
            let proven = judge::prove_guard(session, &grant, &also_in, reach, may_impersonate);
            if let Err(error) = proven.await {
                result.result = TenantOutcome::Failed;
                result.reason = Some(error.to_string());
            }
        })
        .await;
    results
}

async fn one(
    session: &Session,
    plan: &ApplyPlan,
    tenant: &Tenant,
    mode: WriteMode,
    (checked_once, shared, near): (bool, &grant::Shared, &mut grant::Neighbourhood),
    kubeconfigs: Option<(&Path, &Endpoint)>,
    deliveries: Option<&Deliveries<'_>>,
) -> TenantResult {
    let grant_plan = GrantPlan {
        spec: tenant.spec.clone(),
        adopt: false,
        dry_run: plan.dry_run,
        timeout: plan.timeout,
        preflight: !checked_once,
        remember: false,
        allow: plan.allow,
        prove_guard: false,
        renew_before: plan.renew_before,
    };
    let mut result = TenantResult {
        context: session.caller.context.clone(),
        namespace: tenant.spec.namespace.to_string(),
        service_account: tenant.spec.service_account.to_string(),
        access: tenant.spec.role.record().to_string(),
        result: TenantOutcome::Failed,
        reason: None,
        kubeconfig: None,
        warnings: Vec::new(),
        delivered: None,
        guard: None,
    };
    let outcome = async {
        let report = grant::execute_sharing(session, &grant_plan, mode, shared, near).await?;
        let written = match (kubeconfigs, mode) {
            (Some((dir, endpoint)), WriteMode::Apply) => Some(
                write_kubeconfig(session, tenant, report.token_secret.as_ref(), endpoint, dir)
                    .await?,
            ),
            _ => None,
        };
        let delivered = match (&tenant.delivery, deliveries, mode) {
            (Some(delivery), Some(deliveries), WriteMode::Apply) => Some(
                deliver_one(
                    session,
                    tenant,
                    delivery,
                    deliveries,
                    report.token_secret.as_ref(),
                )
                .await?,
            ),
            _ => None,
        };
        Ok::<_, Error>((report, written, delivered))
    }
    .await;
    match outcome {
        Ok((report, written, delivered)) => {
            result.delivered = delivered;
            result.result = if mode == WriteMode::ServerDryRun {
                TenantOutcome::Validated
            } else {
                summary(&report.objects)
            };
            result.kubeconfig = written;
            result.warnings = report.notes;
            result.guard = report
                .guard_unproven
                .map(|reach| (tenant.spec.grant_ref(), report.also_in.clone(), reach));
        }
        Err(error) => {
            result.result = TenantOutcome::Failed;
            result.reason = Some(error.to_string());
        }
    }
    result
}

/// One word for what a grant did to its objects.
fn summary(objects: &[manifest::ObjectResult]) -> TenantOutcome {
    let created = objects
        .iter()
        .any(|o| o.kind == manifest::Kind::ServiceAccount && o.result == Outcome::Created);
    let changed = objects
        .iter()
        .any(|o| !matches!(o.result, Outcome::Unchanged | Outcome::Exists));
    match (created, changed) {
        (true, _) => TenantOutcome::Created,
        (false, true) => TenantOutcome::Configured,
        (false, false) => TenantOutcome::Unchanged,
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
    let also_in = grant::also_in(&tenant.spec);
    let known = credential::Known {
        secret: known,
        also_in: Some(&also_in),
    };
    let issued = credential::issue(session, &grant, known, tenant.token, endpoint).await?;
    let path: PathBuf = dir.join(format!(
        // '_' occurs in no namespace or ServiceAccount name: one file per grant, by
        // construction (with '-', team-a/ci and team/a-ci would share a file and a token).
        "{}_{}.kubeconfig",
        grant.namespace, grant.service_account
    ));
    let shown = path.display().to_string();
    if kscope_core::files::read_text(&path).is_ok_and(|old| old == issued.kubeconfig) {
        return Ok(format!("{shown} (unchanged)"));
    }
    crate::kubeconfig::write_private(&path, &issued.kubeconfig, true, "--kubeconfig-dir")?;
    Ok(shown)
}

/// Delivers one tenant's credential as its `kubeconfig` says, and records where it went.
async fn deliver_one(
    session: &Session,
    tenant: &Tenant,
    delivery: &Delivery,
    deliveries: &Deliveries<'_>,
    known: Option<&k8s_openapi::api::core::v1::Secret>,
) -> Result<String> {
    let grant = tenant.spec.grant_ref();
    let mgmt = deliveries
        .to
        .get(&delivery.context)
        .ok_or_else(|| Error::bug("a delivery context was not connected"))?;
    let also_in = grant::also_in(&tenant.spec);
    let known = credential::Known {
        secret: known,
        also_in: Some(&also_in),
    };
    let issued =
        credential::issue(session, &grant, known, tenant.token, deliveries.endpoint).await?;
    let target = Target {
        system: delivery.system,
        secret_namespace: delivery.secret_namespace.clone(),
        cluster_name: None,
    };
    let secret = deliver::secret(deliveries.endpoint, &grant, &issued, &target);
    let name = secret.metadata.name.clone().unwrap_or_default();
    let outcome = deliver::deliver(mgmt, secret.clone()).await?;
    let server = mgmt.caller.endpoint(None, None)?.server;
    deliver::remember(session, &grant, &server, &secret, &target).await?;
    Ok(format!(
        "Secret {}/{name} in context {} ({outcome})",
        delivery.secret_namespace, delivery.context
    ))
}

/// The set's grants on the session's cluster that are no longer in the file: found by the
/// set's label on ServiceAccounts and RoleBindings (two list requests).
pub(crate) async fn prune_candidates(session: &Session, plan: &ApplyPlan) -> Result<Vec<GrantRef>> {
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
        // Only the grant's own objects count (named like its ServiceAccount, applied by
        // kscope): another object that claims the grant's label never extends prune to it.
        if manifest::set_of(meta).as_deref() != Some(set) || !manifest::is_kscopes(meta) {
            continue;
        }
        let namespace = meta.namespace.clone().unwrap_or_default();
        let Some(sa) = meta
            .labels
            .as_ref()
            .and_then(|l| l.get(GRANT_LABEL))
            .cloned()
            .filter(|sa| meta.name.as_deref() == Some(sa.as_str()))
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
pub(crate) async fn prune(
    session: &Session,
    plan: &ApplyPlan,
    grants: &[GrantRef],
) -> Vec<TenantResult> {
    let session = session.quiet();
    let session = &session;
    futures::stream::iter(grants)
        .map(|grant| async move {
            let revoke_plan = RevokePlan {
                grant: grant.clone(),
                confirmed: true,
                dry_run: plan.dry_run.is_some(),
                delete_namespace: false,
                purge: false,
                timeout: plan.timeout,
            };
            let outcome = async {
                let survey = revoke::survey(session, &revoke_plan).await?;
                // Where its credential was delivered, read before the grant is gone.
                let recorded = match session
                    .cluster
                    .get::<ServiceAccount>(grant.namespace.as_str(), grant.service_account.as_str())
                    .await?
                {
                    Some(account) => deliver::recorded(&account),
                    None => Vec::new(),
                };
                if plan.dry_run.is_some() {
                    return Ok((TenantOutcome::WouldPrune, None));
                }
                let revoked = revoke::execute(session, &survey, plan.timeout).await?;
                let removed = deliver::withdraw(session, &recorded).await?;
                // What the tenant made and still holds access fails the tenant: pruned, but
                // not gone.
                if let Some(remaining) = revoke::leftovers::remaining(&revoked.tenant_made) {
                    return Err(remaining.into());
                }
                Ok::<_, Error>((
                    TenantOutcome::Pruned,
                    (!removed.is_empty()).then(|| removed.join(", ")),
                ))
            }
            .await;
            let (result, reason, delivered) = match outcome {
                Ok((word, removed)) => (word, None, removed),
                Err(e) => (TenantOutcome::Failed, Some(e.to_string()), None),
            };
            TenantResult {
                context: session.caller.context.clone(),
                namespace: grant.namespace.to_string(),
                service_account: grant.service_account.to_string(),
                access: String::new(),
                result,
                reason,
                kubeconfig: None,
                warnings: Vec::new(),
                delivered,
                guard: None,
            }
        })
        .buffer_unordered(plan.concurrency)
        .collect()
        .await
}

/// Every tenant's manifests as one multi-document YAML stream, each Namespace once: input for
/// `kubectl apply -f` or a GitOps engine. Never a token.
pub(crate) fn manifests(plan: &ApplyPlan) -> Result<String> {
    let mut seen = BTreeSet::new();
    let mut guarded = false;
    let mut out = String::new();
    for tenant in &plan.set.tenants {
        let first = seen.insert(tenant.spec.namespace.to_string());
        out.push_str(&manifest::to_yaml_with(
            &manifest::build(&tenant.spec),
            first,
        )?);
        guarded |= contained::spec_needs_guard(&tenant.spec);
    }
    if guarded {
        out.push_str(&contained::guard_yaml()?);
    }
    Ok(out)
}
