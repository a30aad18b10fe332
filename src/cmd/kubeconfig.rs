//! `kscope kubeconfig [<namespace> <serviceaccount>]`: plan, issue the grant's credential, and
//! print it or write it (atomically, mode 0600) to `--output`.

use crate::cli::{Global, KubeconfigArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, emit_kubeconfig, endpoint};
use crate::credential;
use crate::error::{Exit, Result};
use crate::plan;

pub(crate) async fn kubeconfig(
    global: &Global,
    args: &KubeconfigArgs,
    wire: &Wire,
) -> Result<Exit> {
    let plan = plan::kubeconfig(args)?;
    let session = connect(global, wire).await?;
    let endpoint = endpoint(&session, plan.server.as_deref(), plan.ca_file.as_deref())?;
    let grant = session
        .grant_meant(plan.grant.as_ref(), "kubeconfig")
        .await?;
    let issued = credential::issue(&session, &grant, None, plan.token, &endpoint).await?;
    emit_kubeconfig(&issued, &plan.destination, plan.strict_duration)?;
    Ok(Exit::Ok)
}
