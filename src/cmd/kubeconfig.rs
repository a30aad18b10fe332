//! `kscope kubeconfig [<namespace> <serviceaccount>] [--format kubeconfig|argocd|flux]`: plan,
//! issue the grant's credential, and print it or write it (atomically, mode 0600) to
//! `--output`: as a kubeconfig, or inside the Secret Argo CD or Flux reads.

use crate::cli::{Global, KubeconfigArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, emit_kubeconfig, endpoint};
use crate::credential;
use crate::domain::delivery;
use crate::error::{Exit, Result};
use crate::plan;
use crate::plan::CredentialPlan;

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
    let mut issued = credential::issue(&session, &grant, None, plan.token, &endpoint).await?;
    let namespaces = [grant.namespace.as_str()];
    let secret = match &plan.format {
        CredentialPlan::Kubeconfig => None,
        CredentialPlan::Argocd {
            secret_namespace,
            name,
        } => Some(delivery::argocd_secret(
            &endpoint,
            &grant,
            &namespaces,
            &issued.token,
            name.as_deref(),
            secret_namespace,
        )),
        CredentialPlan::Flux { secret_namespace } => Some(delivery::flux_secret(
            &endpoint,
            &grant,
            &issued.kubeconfig,
            secret_namespace,
        )),
    };
    if let Some(secret) = secret {
        issued.kubeconfig = delivery::secret_yaml(&secret)?;
    }
    emit_kubeconfig(&issued, &plan.destination, plan.strict_duration)?;
    Ok(Exit::Ok)
}
