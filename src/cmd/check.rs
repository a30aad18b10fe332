//! `kscope check [<namespace> <serviceaccount>] [--kubeconfig-file F]`: plan, run the check
//! operation, print the matrix (or every answer as JSON/YAML). Exit 0 when every answer
//! matches the grant, 3 when access differs.
//!
//! `kscope check -f FILE`: every tenant of the TenantSet on each `--context` (one cluster
//! after the other), a line per tenant (or the AccessCheckList, written as the proofs come
//! in), a progress bar on a terminal and a summary. Exit 0 when every tenant holds, 3 when
//! any differs or is missing, 1 when some could not be proven and none differs.

use std::io::IsTerminal;
use std::path::Path;

use crate::check;
use crate::cli::{CheckArgs, Global, Output};
use crate::cluster::Wire;
use crate::cmd::{check_exit, connect, print, tenant_set_problems};
use crate::error::{Exit, GrantError, Result};
use crate::fleet::{self, Verdict};
use crate::plan;
use crate::progress::{Bar, Progress, note};
use crate::render::{self, ListWriter, Row};

pub(crate) async fn check(global: &Global, args: &CheckArgs, wire: &Wire) -> Result<Exit> {
    if let Some(file) = &args.file {
        return check_set(global, args, file, wire).await;
    }
    let plan = plan::check(args)?;
    let session = connect(global, wire).await?;
    let report = check::execute(&session, &plan).await?;
    let document = render::object("AccessCheck", &report);
    let color = std::io::stdout().is_terminal() && console::colors_enabled();
    print(&render::as_output(args.output, &document, || {
        render::check_matrix_styled(&report, color)
    })?)?;
    Ok(check_exit(&report))
}

async fn check_set(global: &Global, args: &CheckArgs, file: &Path, wire: &Wire) -> Result<Exit> {
    let plan = tenant_set_problems(plan::check_set(args, file))?;
    let sessions = super::sessions(global, wire).await?;
    let set = &plan.set;
    let total = set.tenants.len() * sessions.len();
    let bar = Bar::counting(
        Progress::Shown,
        &format!("checking TenantSet {}", set.name),
        total as u64,
        "differ",
    );
    let mut writer = (args.output != Output::Table).then(|| ListWriter::new(args.output));
    if let Some(writer) = &writer {
        print(&writer.begin())?;
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut counts = [0usize; 4];
    for session in &sessions {
        fleet::prove_all(session, &plan, &mut |item| {
            counts[item.verdict as usize] += 1;
            bar.advance(counts[Verdict::Differs as usize] + counts[Verdict::Missing as usize]);
            match &mut writer {
                Some(writer) => print(&writer.item(&item)?),
                None => {
                    rows.push(Row::of(&item));
                    Ok(())
                }
            }
        })
        .await?;
    }
    drop(bar);
    match &writer {
        Some(writer) => print(&writer.end())?,
        None => print(&render::check_rows(&rows, sessions.len() > 1))?,
    }
    let [ok, differs, missing, failed] = counts;
    let sent = wire.requests_sent();
    note(&format!(
        "TenantSet {}: {total} tenant(s) on {} cluster(s): {ok} ok, {differs} differ, {missing} missing, {failed} failed; answers {}; {sent} API requests ({:.1} per tenant)",
        set.name,
        sessions.len(),
        match plan.access_reviews {
            true => "by one SelfSubjectAccessReview each (--access-reviews)",
            false =>
                "from SelfSubjectRulesReviews where they settle them, SelfSubjectAccessReview for the rest",
        },
        sent as f64 / total.max(1) as f64
    ));
    if differs + missing > 0 {
        return Ok(Exit::AccessDiffers);
    }
    if failed > 0 {
        return Err(GrantError::TenantsUnproven { failed, total }.into());
    }
    Ok(Exit::Ok)
}
