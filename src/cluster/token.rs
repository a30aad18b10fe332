//! The token of a grant: waiting for the token controller to fill in the Secret, and
//! TokenRequest.

use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};

use super::Cluster;
use crate::error::{Error, Result, TokenError};
use kscope_core::kubeconfig::{SecretToken, Token};

impl Cluster {
    /// Waits until the token controller has filled in the Secret's token, at most `timeout`:
    /// a watch of that one Secret from the resourceVersion of `current` (the Secret as its
    /// write answered), so nothing after the write is missed; a watch that ends or expires
    /// (410 Gone) is started again from a fresh read.
    pub(crate) async fn wait_for_token(
        &self,
        current: Secret,
        timeout: Duration,
    ) -> Result<Secret> {
        if has_token(&current) {
            return Ok(current);
        }
        let namespace = current.namespace().unwrap_or_default();
        let name = current.name_any();
        let api = self.namespaced::<Secret>(&namespace);
        let from = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        let waited = tokio::time::timeout(timeout, filled_or_gone(&api, &name, from))
            .await
            .map_err(|_| TokenError::Timeout {
                namespace: namespace.clone(),
                secret: name.clone(),
                seconds: timeout.as_secs(),
            })?;
        match waited {
            Ok(Some(secret)) => Ok(secret),
            // The condition holds for a Secret that is gone: the controller deletes orphans.
            Ok(None) => Err(TokenError::SecretDeleted {
                namespace,
                secret: name,
            }
            .into()),
            Err(e) => Err(Error::api(format!("watch Secret {namespace}/{name}"), e)),
        }
    }

    /// A TokenRequest for the ServiceAccount; bound to `secret` when given, so that deleting
    /// the Secret revokes the token.
    pub(crate) async fn request_token(
        &self,
        namespace: &str,
        service_account: &str,
        seconds: u64,
        secret: Option<&Secret>,
    ) -> Result<Token> {
        self.token_request(namespace, service_account, seconds, secret)
            .await
            .map(|(token, _)| token)
    }

    /// A TokenRequest as `request_token` makes it, with the expiry the server granted (its
    /// `status.expirationTimestamp`, else the token's `exp` claim): the server may shorten
    /// what was asked for (`--service-account-max-token-expiration`).
    pub(crate) async fn token_request(
        &self,
        namespace: &str,
        service_account: &str,
        seconds: u64,
        secret: Option<&Secret>,
    ) -> Result<(Token, Option<i64>)> {
        let bound_object_ref = secret.map(|s| BoundObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
            name: s.metadata.name.clone(),
            uid: s.metadata.uid.clone(),
        });
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                bound_object_ref,
                expiration_seconds: Some(i64::try_from(seconds).unwrap_or(i64::MAX)),
            },
            ..Default::default()
        };
        let answer = self
            .namespaced::<ServiceAccount>(namespace)
            .create_token_request(service_account, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                Error::api(
                    format!("request a token for ServiceAccount {namespace}/{service_account}"),
                    e,
                )
            })?;
        let granted = answer
            .status
            .as_ref()
            .map(|s| s.expiration_timestamp.0.as_second());
        match answer.status.map(|s| s.token).filter(|t| !t.is_empty()) {
            Some(token) => {
                let token = Token::new(token);
                let expires = granted.or_else(|| token.expires_at());
                Ok((token, expires))
            }
            None => Err(Error::from(TokenError::EmptyIssued {
                namespace: namespace.to_string(),
                service_account: service_account.to_string(),
            })),
        }
    }
}

impl Cluster {
    /// Stores a bound token in the grant's token Secret, with its expiry and credential id
    /// (field manager `kscope-token`, so that applying the grant again leaves them). Returns
    /// the Secret as stored.
    pub(crate) async fn store_token(
        &self,
        secret: &Secret,
        token: &Token,
        expires: i64,
    ) -> Result<Secret> {
        use base64::Engine;
        let namespace = secret.namespace().unwrap_or_default();
        let name = secret.name_any();
        let issued = token
            .issued_at()
            .unwrap_or_else(|| k8s_openapi::jiff::Timestamp::now().as_second());
        let annotations = kscope_core::expiry::token_annotations(
            expires,
            issued,
            token.credential_id().as_deref(),
        );
        let patch = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "data": {"token": base64::engine::general_purpose::STANDARD.encode(token.expose())},
        });
        let params = PatchParams::apply(kscope_core::expiry::TOKEN_FIELD_MANAGER).force();
        self.namespaced::<Secret>(&namespace)
            .patch(&name, &params, &Patch::Apply(&patch))
            .await
            .map_err(|e| {
                Error::api(
                    format!("store the bound token in Secret {namespace}/{name}"),
                    e,
                )
            })
    }
}

/// The Secret once the token controller has filled it in, or `None` once it is gone (the
/// controller deletes a token Secret whose ServiceAccount does not exist): watched from
/// resourceVersion `from`, then, after a watch that ended, from a fresh read.
async fn filled_or_gone(
    api: &Api<Secret>,
    name: &str,
    from: String,
) -> kube::Result<Option<Secret>> {
    let mut from = Some(from).filter(|v| !v.is_empty());
    loop {
        let given = from.take();
        let fresh = given.is_none();
        let version = match given {
            Some(version) => version,
            None => {
                let Some(current) = api.get_opt(name).await? else {
                    return Ok(None);
                };
                if has_token(&current) {
                    return Ok(Some(current));
                }
                current.metadata.resource_version.unwrap_or_default()
            }
        };
        let one = WatchParams::default().fields(&format!("metadata.name={name}"));
        let mut events = Box::pin(api.watch(&one, &version).await?);
        while let Some(event) = events.try_next().await? {
            match event {
                WatchEvent::Added(secret) | WatchEvent::Modified(secret) if has_token(&secret) => {
                    return Ok(Some(secret));
                }
                WatchEvent::Deleted(_) => return Ok(None),
                // Expired (410 Gone) or any other error the server sends in the stream: read
                // again and watch from there.
                WatchEvent::Error(_) => break,
                _ => {}
            }
        }
        // The watch ended (the server closes watches after a while) or erred: a short pause
        // bounds the requests of a server that keeps ending them at once (a watch from the
        // write's version that is already too old is read again at once).
        if fresh {
            tokio::time::sleep(RESTART_PAUSE).await;
        }
    }
}

/// How long the token wait pauses before it reads and watches again.
const RESTART_PAUSE: Duration = Duration::from_millis(250);

/// The token controller has filled in the Secret.
pub(crate) fn has_token(secret: &Secret) -> bool {
    SecretToken::is_filled(secret)
}
