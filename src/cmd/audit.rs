//! `kscope audit [-n NAMESPACE] [--fail-on high|medium|low]`: read-only findings across the
//! cluster. Exit 0 when none reaches `--fail-on`, 3 otherwise.

use crate::audit;
use crate::cli::{AuditArgs, FailOn, Global};
use crate::cluster::Wire;
use crate::cmd::{connect, print};
use crate::domain::names::NamespaceName;
use crate::error::{Exit, Result};
use crate::progress::note;
use crate::render;

pub(crate) async fn audit(global: &Global, args: &AuditArgs, wire: &Wire) -> Result<Exit> {
    let namespace = args
        .namespace
        .as_deref()
        .map(NamespaceName::parse)
        .transpose()?;
    let session = connect(global, wire).await?;
    let inventory = audit::inventory(&session).await?;
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let found: Vec<audit::Finding> = audit::findings(&inventory, now, audit::UNUSED_FOR_SECONDS)
        .into_iter()
        .filter(|f| match (&namespace, &f.scope) {
            (Some(wanted), Some(ns)) => wanted.as_str() == ns,
            (Some(_), None) => true,
            (None, _) => true,
        })
        .collect();
    print(&render::as_output(
        args.output,
        &render::list("Finding", &found),
        || render::findings(&found),
    )?)?;
    let fail_on = match args.fail_on {
        FailOn::Low => audit::Severity::Low,
        FailOn::Medium => audit::Severity::Medium,
        FailOn::High => audit::Severity::High,
    };
    let failing = found.iter().filter(|f| f.severity >= fail_on).count();
    if failing > 0 {
        note(&format!(
            "{failing} finding(s) at or above {fail_on}: exit 3"
        ));
        return Ok(Exit::AccessDiffers);
    }
    Ok(Exit::Ok)
}
