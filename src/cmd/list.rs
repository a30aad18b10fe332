//! `kscope list [-n NAMESPACE]`: every kscope grant the caller can see, with drift.

use crate::cli::{Global, ListArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, print};
use crate::error::{Exit, Result};
use crate::ops::list;
use crate::plan;
use kscope_core::render;

pub(crate) async fn list(global: &Global, args: &ListArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::list(args)?;
    let session = connect(global, wire).await?;
    let rows = list::execute(&session, &plan).await?;
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    print(&render::as_output(
        args.output,
        &render::list("Grant", &rows),
        || render::grant_list(&rows, now),
    )?)?;
    Ok(Exit::Ok)
}
