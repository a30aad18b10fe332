//! The token of a grant: waiting for the token controller to fill in the Secret, and
//! TokenRequest.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::ResourceExt;
use kube::api::PostParams;
use kube::runtime::wait::{Condition, await_condition};

use super::Cluster;
use crate::error::{Error, Result, TokenError};
use kscope_core::kubeconfig::{SecretToken, Token};

impl Cluster {
    /// Waits until the token controller has filled in the Secret's token, at most `timeout`,
    /// with kube's runtime: one list and a watch from it, so nothing between the apply and
    /// the watch is missed, and a watch that ends or expires (410 Gone) is started again.
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
        let waited = tokio::time::timeout(timeout, await_condition(api, &name, filled_or_gone()))
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
            Err(e) => Err(Error::api(
                format!("watch Secret {namespace}/{name}"),
                kube::Error::Service(Box::new(e)),
            )),
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
        match answer.status.map(|s| s.token).filter(|t| !t.is_empty()) {
            Some(token) => Ok(Token::new(token)),
            None => Err(Error::from(TokenError::EmptyIssued {
                namespace: namespace.to_string(),
                service_account: service_account.to_string(),
            })),
        }
    }
}

/// The token controller has filled in the Secret, as a condition for kube's runtime.
fn filled_or_gone() -> impl Condition<Secret> {
    |secret: Option<&Secret>| secret.is_none_or(has_token)
}

/// The token controller has filled in the Secret.
pub(crate) fn has_token(secret: &Secret) -> bool {
    SecretToken::is_filled(secret)
}
