//! `kscope check [<namespace> <serviceaccount>] [--kubeconfig-file F]`: plan, run the check
//! operation, print the matrix (or every answer as JSON/YAML). Exit 0 when every answer
//! matches the grant, 3 when access differs.

use std::io::IsTerminal;

use crate::check;
use crate::cli::{CheckArgs, Global};
use crate::cluster::Wire;
use crate::cmd::{check_exit, connect, print};
use crate::error::{Exit, Result};
use crate::plan;
use crate::render;

pub(crate) async fn check(global: &Global, args: &CheckArgs, wire: &Wire) -> Result<Exit> {
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
