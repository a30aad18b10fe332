//! `kscope rotate <namespace> <serviceaccount>`: runs the rotate operation and emits the new
//! kubeconfig exactly as `kscope kubeconfig` does (stdout, or `--output` written privately).

use k8s_openapi::api::core::v1::ServiceAccount;

use crate::cli::{Global, RotateArgs};
use crate::cluster::Wire;
use crate::cmd::{connect, emit_kubeconfig, endpoint};
use crate::error::{Exit, GrantError, Result};
use crate::kubeconfig::load;
use crate::ops::credential::Credential;
use crate::ops::deliver;
use crate::ops::rotate;
use crate::plan;
use crate::progress::note;
use crate::session::Session;
use kscope_core::kubeconfig::Endpoint;
use kscope_core::spec::GrantRef;

pub(crate) async fn rotate(global: &Global, args: &RotateArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::rotate(args)?;
    let session = connect(global, wire).await?;
    let endpoint = endpoint(&session, None, None)?;
    if let Some(reason) = rotate::not_due(&session, &plan).await? {
        note(&reason);
        return Ok(Exit::Ok);
    }
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
    // A rotation renews the grant's credential; what the tenant made lives on.
    for held in crate::ops::revoke::leftovers::held(&report.tenant_made) {
        note(&format!(
            "warning: what the tenant made during the grant still holds access, and rotate does not end it: {held} (kscope revoke --purge removes it)"
        ));
    }
    emit_kubeconfig(&report.credential, &plan.destination, plan.strict_duration)?;
    redeliver(
        global,
        wire,
        &session,
        &plan.grant,
        &report.credential,
        &endpoint,
    )
    .await?;
    Ok(Exit::Ok)
}

/// Puts the new credential into every Secret the grant's credential was delivered to (as
/// its ServiceAccount records them), in place, through the context of your kubeconfig whose
/// server is the recorded one. A delivery no context reaches is an error: the Secret there
/// holds a token that no longer works.
async fn redeliver(
    global: &Global,
    wire: &Wire,
    session: &Session,
    grant: &GrantRef,
    credential: &Credential,
    endpoint: &Endpoint,
) -> Result<()> {
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let Some(account) = session.cluster.get::<ServiceAccount>(ns, sa).await? else {
        return Ok(());
    };
    let recorded = deliver::recorded(&account);
    if recorded.is_empty() {
        return Ok(());
    }
    let base = load(global.kubeconfig.as_deref(), None)?;
    let mut missed = Vec::new();
    for delivered in &recorded {
        let (Some(target), Some(context)) = (
            deliver::target_of(delivered),
            base.context_for_server(&delivered.server),
        ) else {
            missed.push(format!(
                "Secret {}/{} at {}",
                delivered.namespace, delivered.name, delivered.server
            ));
            continue;
        };
        let mgmt = Session::connect(base.with_context(&context)?, wire).await?;
        let mut secret = deliver::secret(endpoint, grant, credential, &target);
        // The name it was delivered under, whatever this machine calls the cluster.
        secret.metadata.name = Some(delivered.name.clone());
        let outcome = deliver::deliver(&mgmt, secret).await?;
        note(&format!(
            "the new credential is in Secret {}/{} in context {context} ({outcome})",
            delivered.namespace, delivered.name
        ));
    }
    if missed.is_empty() {
        Ok(())
    } else {
        Err(GrantError::NotRedelivered { secrets: missed }.into())
    }
}
