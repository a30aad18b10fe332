//! `kscope revoke <namespace> <serviceaccount>`: shows what will be deleted, asks on a terminal
//! (`--yes` otherwise), runs the revoke operation and reports, with the proof that the old
//! token is refused.

use crate::cli::{Global, RevokeArgs};
use crate::cluster::Wire;
use crate::cmd::terminal;
use crate::cmd::{connect, print};
use crate::error::Input;
use crate::error::{Error, Exit, Result};
use crate::ops::revoke;
use crate::plan;
use crate::progress::note;
use kscope_core::render;

pub(crate) async fn revoke(global: &Global, args: &RevokeArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::revoke(args)?;
    let ask = !plan.confirmed && !plan.dry_run;
    if ask && !terminal::can_ask() {
        return Err(Error::from(Input::ConfirmationNeeded {
            command_line: format!(
                "kscope revoke {} {} --yes",
                plan.grant.namespace, plan.grant.service_account
            ),
        }));
    }
    let session = connect(global, wire).await?;
    let survey = revoke::survey(&session, &plan).await?;
    if plan.dry_run {
        print(&render::revocation_preview(&survey))?;
        note("dry run: nothing was deleted");
        return Ok(Exit::Ok);
    }
    if ask {
        note(render::revocation_preview(&survey).trim_end());
        if !terminal::confirm("Delete these objects and revoke the credential?").await? {
            note("Nothing was deleted.");
            return Ok(Exit::Ok);
        }
    }
    let report = revoke::execute(&session, &survey, plan.timeout).await?;
    print(&render::as_output(
        args.output,
        &render::object("Revocation", &report),
        || render::revocation(&report),
    )?)?;
    match revoke::leftovers::remaining(&report.tenant_made) {
        Some(remaining) => Err(remaining.into()),
        None => Ok(Exit::Ok),
    }
}
