//! Delivering a grant's credential into the cluster a deployment system runs in (the
//! management cluster): the Argo CD or Flux Secret, server-side applied there with kscope's
//! field manager and labels, never printed; not sent at all when the Secret there already
//! holds it. Where it went is recorded on the grant's ServiceAccount (the annotation
//! `kscope.dev/delivered`, a JSON list), by the management cluster's **server URL** rather
//! than a context name: a context name belongs to one machine's kubeconfig, the server is the
//! same for every admin, so `rotate` finds it again from any machine that can reach it.
//! The ServiceAccount is where kscope already records the grant, and `rotate` carries its
//! annotations over to the ServiceAccount it makes anew.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use serde::{Deserialize, Serialize};

use crate::cluster::{WriteMode, is_managed};
use crate::error::{Error, GrantError, Result};
use crate::ops::credential::Credential;
use crate::session::Session;
use kscope_core::delivery;
use kscope_core::kubeconfig::Endpoint;
use kscope_core::manifest::Outcome;
use kscope_core::spec::GrantRef;

/// The annotation on the grant's ServiceAccount that lists where its credential went.
pub(crate) const DELIVERED_ANNOTATION: &str = "kscope.dev/delivered";

/// One delivered Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivered {
    /// The management cluster's API server.
    pub(crate) server: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    /// `argocd` or `flux`.
    pub(crate) format: String,
    /// Argo CD's name for the cluster, when `--name` gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cluster_name: Option<String>,
}

/// What a delivery is for: the system, the Secret's namespace, Argo CD's name for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) system: delivery::System,
    pub(crate) secret_namespace: String,
    pub(crate) cluster_name: Option<String>,
}

impl Target {
    fn format(&self) -> &'static str {
        match self.system {
            delivery::System::ArgoCd => "argocd",
            delivery::System::Flux => "flux",
        }
    }

    fn of(recorded: &Delivered) -> Option<Target> {
        let system = match recorded.format.as_str() {
            "argocd" => delivery::System::ArgoCd,
            "flux" => delivery::System::Flux,
            _ => return None,
        };
        Some(Target {
            system,
            secret_namespace: recorded.namespace.clone(),
            cluster_name: recorded.cluster_name.clone(),
        })
    }
}

/// The Secret that carries `credential` for `target`.
pub(crate) fn secret(
    endpoint: &Endpoint,
    grant: &GrantRef,
    credential: &Credential,
    target: &Target,
) -> Secret {
    match target.system {
        delivery::System::ArgoCd => delivery::argocd_secret(
            endpoint,
            grant,
            &std::iter::once(grant.namespace.as_str())
                .chain(credential.also_in.iter().map(String::as_str))
                .collect::<Vec<_>>(),
            &credential.token,
            target.cluster_name.as_deref(),
            &target.secret_namespace,
        ),
        delivery::System::Flux => delivery::flux_secret(
            endpoint,
            grant,
            &credential.kubeconfig,
            &target.secret_namespace,
        ),
    }
}

/// Applies `secret` in the management cluster (`mgmt`); unchanged when the Secret there
/// already holds exactly this. A Secret of that name that kscope did not make is refused.
pub(crate) async fn deliver(mgmt: &Session, secret: Secret) -> Result<Outcome> {
    let namespace = secret.metadata.namespace.clone().unwrap_or_default();
    let name = secret.metadata.name.clone().unwrap_or_default();
    let live = mgmt.cluster.get::<Secret>(&namespace, &name).await?;
    if let Some(live) = &live
        && !is_managed(&live.metadata)
    {
        return Err(Error::from(GrantError::NotManaged {
            objects: vec![format!("Secret {namespace}/{name}")],
        }));
    }
    // As the API server keeps it (`data`), so that a Secret that holds it already compares
    // equal and nothing is sent.
    let mut secret = secret;
    if let Some(text) = secret.string_data.take() {
        secret.data = Some(
            text.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_bytes())))
                .collect(),
        );
    }
    let (_, outcome) = mgmt
        .cluster
        .apply(&secret, live.as_ref(), false, WriteMode::Apply)
        .await?;
    Ok(outcome)
}

/// Where the grant's credential was delivered, as its ServiceAccount records it.
pub(crate) fn recorded(account: &ServiceAccount) -> Vec<Delivered> {
    account
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELIVERED_ANNOTATION))
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Records a delivery on the grant's ServiceAccount (a merge patch of the one annotation; the
/// grant's own server-side apply never owns it, so a later grant keeps it).
pub(crate) async fn remember(
    session: &Session,
    grant: &GrantRef,
    mgmt_server: &str,
    secret: &Secret,
    target: &Target,
) -> Result<()> {
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let account = session
        .cluster
        .get::<ServiceAccount>(ns, sa)
        .await?
        .ok_or_else(|| GrantError::ServiceAccountMissing {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
        })?;
    let entry = Delivered {
        server: mgmt_server.trim_end_matches('/').to_string(),
        namespace: secret.metadata.namespace.clone().unwrap_or_default(),
        name: secret.metadata.name.clone().unwrap_or_default(),
        format: target.format().to_string(),
        cluster_name: target.cluster_name.clone(),
    };
    let mut all = recorded(&account);
    if all.contains(&entry) {
        return Ok(());
    }
    all.retain(|d| {
        !(d.server == entry.server && d.namespace == entry.namespace && d.name == entry.name)
    });
    all.push(entry);
    let text = serde_json::to_string(&all).map_err(|e| Error::bug(e.to_string()))?;
    let patch = serde_json::json!({"metadata": {"annotations": {DELIVERED_ANNOTATION: text}}});
    session
        .cluster
        .merge_patch::<ServiceAccount>(ns, sa, &patch)
        .await
}

/// What a recorded delivery needs again after `rotate`: its target.
pub(crate) fn target_of(recorded: &Delivered) -> Option<Target> {
    Target::of(recorded)
}

/// Deletes the Secrets a grant's credential was delivered to (its grant is gone), each
/// through the first context of the caller's kubeconfig whose server is the recorded one; a
/// Secret there that kscope did not make is left alone. Returns what happened to each.
pub(crate) async fn withdraw(session: &Session, recorded: &[Delivered]) -> Result<Vec<String>> {
    let mut said = Vec::new();
    for delivered in recorded {
        let shown = format!("Secret {}/{}", delivered.namespace, delivered.name);
        let Some(context) = session.caller.context_for_server(&delivered.server) else {
            said.push(format!(
                "{shown} at {} left in place: no context of your kubeconfig points there",
                delivered.server
            ));
            continue;
        };
        let mgmt = Session::connect(session.caller.with_context(&context)?, &session.wire).await?;
        let live = mgmt
            .cluster
            .get::<Secret>(&delivered.namespace, &delivered.name)
            .await?;
        let word = match live {
            Some(live) if is_managed(&live.metadata) => {
                mgmt.cluster
                    .delete::<Secret>(&delivered.namespace, &delivered.name)
                    .await?;
                "deleted"
            }
            Some(_) => "left in place (kscope did not make it)",
            None => "already gone",
        };
        said.push(format!("{shown} in context {context} {word}"));
    }
    Ok(said)
}
