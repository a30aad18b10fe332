//! `kscope kubeconfig [<namespace> <serviceaccount>]`: plan, issue the grant's credential, and
//! print it or write it (atomically, mode 0600) to `--output`.

use std::io::IsTerminal;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{Global, KubeconfigArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, print};
use crate::credential;
use crate::error::{Exit, Result};
use crate::kubeconfig::write_private;
use crate::plan::{self, Destination};
use crate::progress::note;
use crate::render;

pub async fn kubeconfig(global: &Global, args: &KubeconfigArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::kubeconfig(args)?;
    let session = connect(global, wire).await?;
    let endpoint = session
        .caller
        .endpoint(plan.server.as_deref(), plan.ca_file.as_deref())?;
    let grant = session
        .grant_meant(plan.grant.as_ref(), "kubeconfig")
        .await?;
    let issued = credential::issue(&session, &grant, plan.token, &endpoint).await?;
    if let Some(expiry) = &issued.expiry {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        render::expiry_notes(expiry, now)
            .iter()
            .for_each(|n| note(n));
    }
    match &plan.destination {
        Destination::File { path, force } => {
            write_private(path, &issued.kubeconfig, *force)?;
            note(&format!("wrote {} (mode 0600)", path.display()));
        }
        Destination::Stdout => {
            print(&issued.kubeconfig)?;
            note(if std::io::stdout().is_terminal() {
                "this output holds a credential: do not paste it anywhere public"
            } else {
                "the kubeconfig holds a credential: keep the file private (chmod 600), or use --output FILE"
            });
        }
    }
    Ok(Exit::Ok)
}
