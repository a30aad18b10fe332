//! `kscope kubeconfig [<namespace> <serviceaccount>] [--format kubeconfig|argocd|flux]`: plan,
//! issue the grant's credential, and print it or write it (atomically, mode 0600) to
//! `--output`: as a kubeconfig, or inside the Secret Argo CD or Flux reads.

use crate::cli::{Global, KubeconfigArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, emit_kubeconfig, endpoint};
use crate::error::{Exit, Result};
use crate::kubeconfig::load;
use crate::ops::credential;
use crate::ops::deliver::{self, Target};
use crate::plan;
use crate::plan::CredentialPlan;
use crate::progress::note;
use crate::session::Session;
use kscope_core::delivery::{self, System};
use kscope_core::manifest::Outcome;

pub(crate) async fn kubeconfig(
    global: &Global,
    args: &KubeconfigArgs,
    wire: &Wire,
) -> Result<Exit> {
    let plan = plan::kubeconfig(args)?;
    // The management context must exist before anything is asked of either cluster.
    let management = match &plan.deliver_to {
        Some(context) => Some(load(global.kubeconfig.as_deref(), None)?.with_context(context)?),
        None => None,
    };
    let session = connect(global, wire).await?;
    let endpoint = endpoint(&session, plan.server.as_deref(), plan.ca_file.as_deref())?;
    let grant = session
        .grant_meant(plan.grant.as_ref(), "kubeconfig")
        .await?;
    let mut issued = credential::issue(
        &session,
        &grant,
        credential::Known::default(),
        plan.token,
        &endpoint,
    )
    .await?;
    if issued.expiry.is_none() {
        note(&format!(
            "credential: {}",
            issued.kind.describe(crate::plan::now())
        ));
    }
    let target = match &plan.format {
        CredentialPlan::Kubeconfig => None,
        CredentialPlan::Argocd {
            secret_namespace,
            name,
        } => Some(Target {
            system: System::ArgoCd,
            secret_namespace: secret_namespace.clone(),
            cluster_name: name.clone(),
        }),
        CredentialPlan::Flux { secret_namespace } => Some(Target {
            system: System::Flux,
            secret_namespace: secret_namespace.clone(),
            cluster_name: None,
        }),
    };
    let Some(target) = target else {
        emit_kubeconfig(&issued, &plan.destination, plan.strict_duration)?;
        return Ok(Exit::Ok);
    };
    let secret = deliver::secret(&endpoint, &grant, &issued, &target);
    let Some(caller) = management else {
        issued.kubeconfig = delivery::secret_yaml(&secret)?;
        emit_kubeconfig(&issued, &plan.destination, plan.strict_duration)?;
        return Ok(Exit::Ok);
    };
    let context = caller.context.clone();
    let mgmt = Session::connect(caller, wire).await?;
    let server = mgmt.caller.endpoint(None, None)?.server;
    let shown = format!(
        "Secret {}/{}",
        target.secret_namespace,
        secret.metadata.name.as_deref().unwrap_or_default()
    );
    let outcome = deliver::deliver(&mgmt, secret.clone()).await?;
    deliver::remember(&session, &grant, &server, &secret, &target).await?;
    note(&match outcome {
        Outcome::Unchanged => {
            format!("{shown} in context {context} already holds this credential: nothing was sent")
        }
        other => format!("{shown} {other} in context {context} (the token was not printed)"),
    });
    Ok(Exit::Ok)
}
