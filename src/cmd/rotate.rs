//! `kscope rotate <namespace> <serviceaccount>`: runs the rotate operation and emits the new
//! kubeconfig exactly as `kscope kubeconfig` does (stdout, or `--output` written privately).

use crate::cli::{Global, RotateArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, emit_kubeconfig, endpoint};
use crate::error::{Exit, Result};
use crate::plan;
use crate::progress::note;
use crate::rotate;

pub(crate) async fn rotate(global: &Global, args: &RotateArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::rotate(args)?;
    let session = connect(global, wire).await?;
    let endpoint = endpoint(&session, None, None)?;
    let report = rotate::execute(&session, &plan, &endpoint).await?;
    match report.old_refused_after {
        Some(after) => note(&format!(
            "the old token is refused (401) after {:.1}s",
            after.as_secs_f64()
        )),
        None => note("there was no old token to refuse (the token Secret was missing or empty)"),
    }
    note(&format!(
        "every earlier token of the ServiceAccount (self-minted, --duration) is refused (401) after {:.1}s: the ServiceAccount was made anew",
        report.every_refused_after.as_secs_f64()
    ));
    note(&format!("the new token is accepted as {}", report.identity));
    emit_kubeconfig(&report.credential, &plan.destination, plan.strict_duration)?;
    Ok(Exit::Ok)
}
