//! A session: the caller's kubeconfig with the chosen context, a client that acts as the
//! caller, and what every client of the run shares (request counting, `-v`, progress).
//! Operations take a `&Session`; only paths that need a cluster make one.

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cluster::{Cluster, TokenPool, Wire};
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::kubeconfig::Caller;
use crate::progress::Progress;
use crate::state;
use kscope_core::spec::GrantRef;

pub(crate) struct Session {
    pub(crate) caller: Caller,
    pub(crate) cluster: Cluster,
    pub(crate) wire: Wire,
    pub(crate) progress: Progress,
}

impl Session {
    /// Connects as the caller, through the caller's chosen context.
    pub(crate) async fn connect(caller: Caller, wire: &Wire) -> Result<Session> {
        let cluster = Cluster::connect(caller.client_config().await?, wire)?;
        Ok(Session {
            caller,
            cluster,
            wire: wire.clone(),
            progress: Progress::Shown,
        })
    }

    /// The same session, showing no progress (for many operations at once).
    pub(crate) fn quiet(&self) -> Session {
        Session {
            caller: self.caller.clone(),
            cluster: self.cluster.clone(),
            wire: self.wire.clone(),
            progress: Progress::Hidden,
        }
    }

    /// A client holding another credential (a ServiceAccount's kubeconfig), counted and
    /// logged like the caller's. The error is why the kubeconfig cannot be used.
    pub(crate) async fn client_for(&self, kubeconfig: Kubeconfig) -> Result<Cluster, String> {
        let config = client_config(kubeconfig).await?;
        Cluster::connect(config, &self.wire).map_err(|e| e.to_string())
    }

    /// A pool of connections for many ServiceAccount tokens to the server of `kubeconfig`
    /// (one kscope wrote), presenting none of its own; `None` through a proxy.
    pub(crate) async fn token_pool(&self, kubeconfig: Kubeconfig) -> Result<Option<TokenPool>> {
        let config = client_config(kubeconfig).await.map_err(Error::bug)?;
        TokenPool::new(config, &self.wire)
    }

    /// The grant a command means: the one named, else the last one made from this machine
    /// for the context. Without either, the error lists the kscope grants the caller can see.
    pub(crate) async fn grant_meant(
        &self,
        named: Option<&GrantRef>,
        command: &'static str,
    ) -> Result<GrantRef> {
        if let Some(grant) = named {
            return Ok(grant.clone());
        }
        if let Some(last) = state::last(&self.caller.context) {
            return Ok(last);
        }
        Err(Error::from(GrantError::NoGrantNamed {
            context: self.caller.context.clone(),
            command,
            grants: self.cluster.grants(None).await.unwrap_or_default(),
        }))
    }
}

async fn client_config(kubeconfig: Kubeconfig) -> Result<kube::Config, String> {
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| e.to_string())
}
