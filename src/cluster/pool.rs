//! One pool of TLS connections to the API server, presenting no credential of its own, that
//! many ServiceAccount tokens share: `check -f` proves thousands of tenants without a TLS
//! handshake (and a kubeconfig to parse) for each. Each token's client adds only its
//! `Authorization` header; the pool never holds a client certificate, so no request can be
//! taken for the caller's.

use super::{Cluster, Https, Wire, https, service};
use crate::error::{Error, Result};
use kscope_core::kubeconfig::Token;

#[derive(Clone)]
pub(crate) struct TokenPool {
    config: kube::Config,
    client: Https,
    wire: Wire,
}

impl TokenPool {
    /// A pool for the server of `config` (a kubeconfig kscope wrote for a tenant: server, CA,
    /// TLS server name). Its credential is dropped; `None` when it goes through a proxy,
    /// which kube's own client handles.
    pub(crate) fn new(mut config: kube::Config, wire: &Wire) -> Result<Option<TokenPool>> {
        if config.proxy_url.is_some() {
            return Ok(None);
        }
        // No token, no client certificate, no exec plugin: only what each client adds.
        config.auth_info = Default::default();
        let client = https(&config).map_err(|e| Error::api("set up the API client", e))?;
        Ok(Some(TokenPool {
            config,
            client,
            wire: wire.clone(),
        }))
    }

    /// A client that presents `token` over the pool's connections.
    pub(crate) fn client(&self, token: &Token) -> Result<Cluster> {
        let mut value = http::HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| Error::bug("the API server issued a token that is not a header value"))?;
        value.set_sensitive(true);
        let builder = service(&self.config, self.client.clone(), Some(value))
            .map_err(|e| Error::api("set up the API client", e))?;
        Ok(Cluster::over(
            builder,
            self.config.cluster_url.to_string(),
            &self.wire,
        ))
    }
}
