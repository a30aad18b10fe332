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

use crate::cli::{CheckArgs, Global, ReportOutput};
use crate::cluster::Wire;
use crate::cmd::{check_exit, connect, file_problems, print};
use crate::error::{Exit, GrantError, Result};
use crate::ops::check;
use crate::ops::check::set;
use crate::plan;
use crate::progress::{Bar, Progress, note};
use kscope_core::catalog::Rule;
use kscope_core::render::Format;
use kscope_core::render::{self, Flag, ListWriter, Row, Suite};
use kscope_core::report::fleet::Verdict;

pub(crate) async fn check(global: &Global, args: &CheckArgs, wire: &Wire) -> Result<Exit> {
    if let Some(file) = &args.file {
        return check_set(global, args, file, wire).await;
    }
    let plan = plan::check(args)?;
    let session = connect(global, wire).await?;
    let report = check::execute(&session, &plan).await?;
    if let Some(kind) = &report.credential {
        note(&format!(
            "credential: {}",
            kind.describe(crate::plan::now())
        ));
    }
    let context = &session.caller.context;
    let text = match args.output {
        ReportOutput::Sarif => render::sarif(
            "check",
            &Rule::CHECK,
            &render::report_flags(context, &report),
        )?,
        ReportOutput::Junit => {
            let verdict = Verdict::of(&report);
            let reasons = set::reasons(&report);
            render::junit(&[Suite {
                name: format!("kscope check ({context})"),
                cases: vec![render::check_case(
                    context,
                    &report.namespace,
                    &report.service_account,
                    verdict,
                    &reasons,
                )],
            }])?
        }
        plain => {
            let document = render::object("AccessCheck", &report);
            let color = std::io::stdout().is_terminal() && console::colors_enabled();
            render::as_output(plain.plain().unwrap_or_default(), &document, || {
                render::check_matrix_styled(&report, color)
            })?
        }
    };
    print(&text)?;
    Ok(check_exit(&report))
}

/// What `check -f` keeps of the proofs for its output: the table's rows, or the CI formats'
/// flags and cases (the JSON and YAML items are written as they come and not kept).
#[derive(Default)]
struct Kept {
    rows: Vec<Row>,
    flags: Vec<Flag>,
    suites: Vec<Suite>,
}

async fn check_set(global: &Global, args: &CheckArgs, file: &Path, wire: &Wire) -> Result<Exit> {
    let plan = file_problems(plan::check_set(args, file))?;
    let sessions = super::sessions(global, wire).await?;
    let set = &plan.set;
    let total = set.tenants.len() * sessions.len();
    let bar = Bar::counting(
        Progress::Shown,
        &format!("checking TenantSet {}", set.name),
        total as u64,
        "differ",
    );
    let mut writer = match args.output {
        ReportOutput::Json => Some(ListWriter::new(Format::Json)),
        ReportOutput::Yaml => Some(ListWriter::new(Format::Yaml)),
        _ => None,
    };
    if let Some(writer) = &writer {
        print(&writer.begin())?;
    }
    let mut kept = Kept::default();
    let mut counts = [0usize; 5];
    for session in &sessions {
        let context = session.caller.context.clone();
        let mut cases = Vec::new();
        set::prove_all(session, &plan, &mut |item| {
            counts[item.verdict as usize] += 1;
            bar.advance(counts[Verdict::Differs as usize] + counts[Verdict::Missing as usize]);
            match (&mut writer, args.output) {
                (Some(writer), _) => return print(&writer.item(&item)?),
                (None, ReportOutput::Sarif) => kept.flags.extend(render::item_flags(&item)),
                (None, ReportOutput::Junit) => cases.push(render::check_case(
                    &item.context,
                    &item.namespace,
                    &item.service_account,
                    item.verdict,
                    &item.reasons,
                )),
                (None, _) => kept.rows.push(Row::of(&item)),
            }
            Ok(())
        })
        .await?;
        kept.suites.push(Suite {
            name: format!("kscope check -f ({context})"),
            cases,
        });
    }
    drop(bar);
    match (&writer, args.output) {
        (Some(writer), _) => print(&writer.end())?,
        (None, ReportOutput::Sarif) => {
            print(&render::sarif("check -f", &Rule::CHECK, &kept.flags)?)?
        }
        (None, ReportOutput::Junit) => print(&render::junit(&kept.suites)?)?,
        (None, _) => print(&render::check_rows(&kept.rows, sessions.len() > 1))?,
    }
    let [ok, differs, missing, failed, unproven] = counts;
    let sent = wire.requests_sent();
    note(&format!(
        "TenantSet {}: {total} tenant(s) on {} cluster(s): {ok} ok, {differs} differ, {missing} missing, {failed} failed, {unproven} unproven; answers {}; {sent} API requests ({:.1} per tenant)",
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
    if failed + unproven > 0 {
        return Err(GrantError::TenantsUnproven {
            failed: failed + unproven,
            total,
        }
        .into());
    }
    Ok(Exit::Ok)
}
