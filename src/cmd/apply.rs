//! `kscope apply -f FILE`: plan (the whole file, every problem with its line), then print the
//! manifests (`--dry-run`) or apply the set on each `--context` at once, prune what left the
//! file (asking first), and report per tenant. Exit 1 when any tenant failed.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::apply::{self, Counter, TenantResult};
use crate::cli::{ApplyArgs, DryRun, Global};
use crate::cluster::Wire;
use crate::cmd::print;
use crate::cmd::terminal;
use crate::error::{Error, Exit, Result};
use crate::kubeconfig::{Endpoint, load};
use crate::plan;
use crate::progress::note;
use crate::render;
use crate::session::Session;
use crate::tenants;

pub async fn apply(global: &Global, args: &ApplyArgs, wire: &Wire) -> Result<Exit> {
    let plan = match plan::apply(args) {
        Err(Error::InvalidTenantSet { path, problems }) => {
            for p in &problems {
                eprintln!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message);
            }
            return Err(Error::InvalidTenantSet { path, problems });
        }
        other => other?,
    };
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
        return Err(Error::ConfirmationNeeded {
            command_line: format!("kscope apply -f {} --prune --yes", args.file.display()),
        });
    }

    let base = load(global.kubeconfig.as_deref(), None)?;
    let contexts = if global.contexts.is_empty() {
        vec![base.context.clone()]
    } else {
        global.contexts.clone()
    };
    let mut sessions = Vec::new();
    for context in &contexts {
        sessions.push(Session::connect(base.with_context(context)?, wire).await?);
    }
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
        std::fs::create_dir_all(&dir).map_err(|source| Error::File {
            action: "create the kubeconfig directory",
            path: dir.clone(),
            source,
        })?;
        targets.push(Some((dir, super::endpoint(session, None, None)?)));
    }

    let total = set.tenants.len() * sessions.len();
    let counter = Counter::default();
    let show = std::io::stderr().is_terminal();
    let done = || {
        let n = counter.tick();
        if show {
            eprint!("\rapplying TenantSet {}: {n}/{total} tenants", set.name);
            let _ = std::io::stderr().flush();
        }
    };
    let applied =
        futures::future::join_all(sessions.iter().zip(&targets).map(|(session, target)| {
            let kubeconfigs = target
                .as_ref()
                .map(|(dir, endpoint)| (dir.as_path(), endpoint));
            apply::apply(session, &plan, kubeconfigs, &done)
        }))
        .await;
    if show {
        eprintln!();
    }
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
            terminal::confirm(&format!("Revoke these {count} grants?"))?
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
    let failed = results.iter().filter(|r| r.failed()).count();
    if failed > 0 {
        return Err(Error::TenantsFailed {
            failed,
            total: results.len(),
        });
    }
    Ok(Exit::Ok)
}

/// A context name as a directory name (EKS contexts hold ':' and '/').
fn file_safe(context: &str) -> String {
    context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
