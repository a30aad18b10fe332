//! `kscope apply -f FILE`: plan (the whole file, every problem with its line), then print the
//! manifests (`--dry-run`) or apply the set on each `--context` at once, prune what left the
//! file (asking first), and report per tenant. Exit 1 when any tenant failed.

use std::path::PathBuf;

use std::collections::BTreeMap;

use crate::cli::{ApplyArgs, DryRun, Global};
use crate::cluster::Wire;
use crate::cmd::print;
use crate::cmd::terminal;
use crate::error::{Exit, Result};
use crate::error::{GrantError, Input};
use crate::kubeconfig::load;
use crate::ops::apply::{self, Deliveries};
use crate::plan;
use crate::progress::{Bar, Progress, note};
use crate::session::Session;
use kscope_core::kubeconfig::Endpoint;
use kscope_core::render;
use kscope_core::report::apply::TenantResult;
use kscope_core::tenants;

pub(crate) async fn apply(global: &Global, args: &ApplyArgs, wire: &Wire) -> Result<Exit> {
    let plan = super::file_problems(plan::apply(args))?;
    let set = &plan.set;
    if plan.dry_run == Some(DryRun::Client) {
        print(&apply::manifests(&plan)?)?;
        note(&format!(
            "client dry run of TenantSet {}: {} tenants in {} namespaces rendered; no cluster was asked \
             (--dry-run=server shows what would be created, changed or pruned)",
            set.name,
            set.tenants.len(),
            tenants::namespaces(set).len()
        ));
        return Ok(Exit::Ok);
    }
    let ask_prune = plan.prune && !plan.confirmed && plan.dry_run.is_none();
    if ask_prune && !terminal::can_ask() {
        return Err(Input::ConfirmationNeeded {
            command_line: format!("kscope apply -f {} --prune --yes", args.file.display()),
        }
        .into());
    }

    let sessions = super::sessions(global, wire).await?;
    let several = sessions.len() > 1;
    // Where each cluster's kubeconfigs go, and the endpoint they point at: settled before any
    // tenant is granted, so an unusable context fails once, up front.
    let mut targets: Vec<Option<(PathBuf, Endpoint)>> = Vec::new();
    for session in &sessions {
        let Some(dir) = &plan.kubeconfig_dir else {
            targets.push(None);
            continue;
        };
        let dir = if several {
            dir.join(file_safe(&session.caller.context))
        } else {
            dir.clone()
        };
        // A server dry run writes no kubeconfig, so it makes no directory either.
        if plan.dry_run.is_none() {
            crate::kubeconfig::private_dir(&dir, "--kubeconfig-dir")?;
        }
        targets.push(Some((dir, super::endpoint(session, None, None)?)));
    }

    // The management clusters the set delivers credentials to, each connected once, up front,
    // and the endpoint of each workload cluster that those credentials point at.
    let mut management = BTreeMap::new();
    let mut endpoints = Vec::new();
    let delivering = set.tenants.iter().any(|t| t.delivery.is_some()) && plan.dry_run.is_none();
    if delivering {
        let base = load(global.kubeconfig.as_deref(), None)?;
        for tenant in &set.tenants {
            if let Some(delivery) = &tenant.delivery
                && !management.contains_key(&delivery.context)
            {
                let session = Session::connect(base.with_context(&delivery.context)?, wire).await?;
                management.insert(delivery.context.clone(), session);
            }
        }
        for session in &sessions {
            endpoints.push(super::endpoint(session, None, None)?);
        }
    }
    let deliveries: Vec<Deliveries> = endpoints
        .iter()
        .map(|endpoint| Deliveries {
            endpoint,
            to: &management,
        })
        .collect();

    let total = set.tenants.len() * sessions.len();
    let bar = Bar::new(
        Progress::Shown,
        &format!("applying TenantSet {}", set.name),
        total as u64,
    );
    let failures = std::sync::atomic::AtomicUsize::new(0);
    let done = |result: &TenantResult| {
        let failed = if result.failed() {
            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
        } else {
            failures.load(std::sync::atomic::Ordering::Relaxed)
        };
        bar.advance(failed);
    };
    let applied = futures::future::join_all(sessions.iter().zip(&targets).enumerate().map(
        |(i, (session, target))| {
            let kubeconfigs = target
                .as_ref()
                .map(|(dir, endpoint)| (dir.as_path(), endpoint));
            apply::apply(session, &plan, kubeconfigs, deliveries.get(i), &done)
        },
    ))
    .await;
    drop(bar);
    let mut results: Vec<TenantResult> = applied.into_iter().flatten().collect();

    if plan.prune {
        let mut candidates = Vec::new();
        for session in &sessions {
            candidates.push(apply::prune_candidates(session, &plan).await?);
        }
        let count: usize = candidates.iter().map(Vec::len).sum();
        let go = if count == 0 || !ask_prune {
            true
        } else {
            for (session, grants) in sessions.iter().zip(&candidates) {
                for grant in grants {
                    note(&format!(
                        "prune on {}: {}/{} (left TenantSet {})",
                        session.caller.context, grant.namespace, grant.service_account, set.name
                    ));
                }
            }
            terminal::confirm(&format!("Revoke these {count} grants?")).await?
        };
        if go {
            for (session, grants) in sessions.iter().zip(&candidates) {
                results.extend(apply::prune(session, &plan, grants).await);
            }
        } else {
            note("Nothing was pruned.");
        }
    }

    results.sort_by(|a, b| {
        (&a.context, &a.namespace, &a.service_account).cmp(&(
            &b.context,
            &b.namespace,
            &b.service_account,
        ))
    });
    print(&render::as_output(
        args.output,
        &render::list("TenantResult", &results),
        || render::tenant_results(&results, several),
    )?)?;
    for warning in results.iter().flat_map(|r| &r.warnings) {
        note(warning);
    }
    let failed = results.iter().filter(|r| r.failed()).count();
    if failed > 0 {
        return Err(GrantError::TenantsFailed {
            failed,
            total: results.len(),
        }
        .into());
    }
    Ok(Exit::Ok)
}

/// A context name as a directory name (EKS contexts hold ':' and '/'): letters, digits, '-'
/// and '_' as they are, every other byte as `%XX`, so two contexts never share a directory
/// (and `.` or `..` never name one).
fn file_safe(context: &str) -> String {
    let mut out = String::with_capacity(context.len());
    for byte in context.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn context_directories_are_distinct_and_never_dots() {
        assert_eq!(file_safe("kind-dev"), "kind-dev");
        assert_eq!(
            file_safe("arn:aws:eks:eu-west-1:1:cluster/prod"),
            "arn%3Aaws%3Aeks%3Aeu-west-1%3A1%3Acluster%2Fprod"
        );
        assert_ne!(file_safe("a/b"), file_safe("a:b"));
        assert_ne!(file_safe("a_b"), file_safe("a/b"));
        assert_eq!(file_safe(".."), "%2E%2E");
    }
}
