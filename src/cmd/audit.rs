//! `kscope audit [-n NAMESPACE] [--fail-on high|medium|low] [--unused-for D] [--accept FILE]`:
//! read-only findings across the cluster, each under a stable rule id. Exit 0 when none that
//! counts (not accepted, or accepted until a day that has passed) reaches `--fail-on`, 3
//! otherwise. `-o sarif|junit` only change what is printed.

use crate::cli::{AuditArgs, FailOn, Global, ReportOutput};
use crate::cluster::Wire;
use crate::cmd::{connect, file_problems, print};
use crate::error::{Exit, Result};
use crate::ops::audit;
use crate::plan;
use crate::progress::note;
use kscope_core::acceptance::Acceptance;
use kscope_core::audit::{Accepted, Finding, Severity, beyond_rbac_note, findings};
use kscope_core::catalog::Rule;
use kscope_core::render;

pub(crate) async fn audit(global: &Global, args: &AuditArgs, wire: &Wire) -> Result<Exit> {
    let plan = file_problems(plan::audit(args))?;
    let session = connect(global, wire).await?;
    let inventory = audit::inventory(&session).await?;
    let now = k8s_openapi::jiff::Timestamp::now();
    let mut found: Vec<Finding> = findings(&inventory, now.as_second(), plan.thresholds)
        .into_iter()
        .filter(|f| match (&plan.namespace, &f.scope) {
            (Some(wanted), Some(ns)) => wanted.as_str() == ns,
            (Some(_), None) => true,
            (None, _) => true,
        })
        .collect();
    let today = now.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).date();
    accept(&mut found, &plan.accepted, today);
    let context = &session.caller.context;
    let text = match args.output {
        ReportOutput::Sarif => render::sarif(
            "audit",
            &Rule::AUDIT,
            &render::finding_flags(context, &found),
        )?,
        ReportOutput::Junit => render::junit(&[render::audit_suite(context, &found)])?,
        plain => render::as_output(
            plain.plain().unwrap_or_default(),
            &render::list("Finding", &found),
            || render::findings(&found),
        )?,
    };
    print(&text)?;
    if let Some(error) = &inventory.beyond_rbac {
        note(&beyond_rbac_note(error));
    }
    for finding in &found {
        if let Some(a) = finding.accepted.as_ref().filter(|a| a.expired) {
            note(&format!(
                "the acceptance of {} on {} expired on {}: it counts again",
                finding.rule.id(),
                finding.object,
                a.expires
            ));
        }
    }
    let fail_on = match args.fail_on {
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
    };
    let failing = found
        .iter()
        .filter(|f| f.counts() && f.severity >= fail_on)
        .count();
    if failing > 0 {
        note(&format!(
            "{failing} finding(s) at or above {fail_on}: exit 3"
        ));
        return Ok(Exit::AccessDiffers);
    }
    Ok(Exit::Ok)
}

/// Marks each finding an entry of the accept file covers (the first that does).
fn accept(found: &mut [Finding], accepted: &[Acceptance], today: k8s_openapi::jiff::civil::Date) {
    for finding in found {
        if let Some(entry) = accepted
            .iter()
            .find(|a| a.covers(finding.rule, &finding.target))
        {
            finding.accepted = Some(Accepted {
                reason: entry.reason.clone(),
                expires: entry.expires.to_string(),
                expired: entry.expired(today),
            });
        }
    }
}
