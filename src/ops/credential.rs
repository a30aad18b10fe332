//! Issuing a grant's credential: a kubeconfig scoped to the grant's namespace, holding the
//! token Secret's long-lived token or an expiring TokenRequest token bound to that Secret (so
//! that deleting the Secret revokes both). Returns the kubeconfig; writes and prints nothing.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::config::Kubeconfig;

use crate::cluster::{Cluster, TokenPool, accepts};
use crate::error::TokenError;
use crate::error::{Error, Result};
use crate::session::Session;
use kscope_core::expiry::CredentialKind;
use kscope_core::kubeconfig::{self, Endpoint, SecretToken, Token};
use kscope_core::report::credential::Expiry;
use kscope_core::spec::{GrantRef, TokenKind};

/// A kubeconfig that holds a credential. `Debug` never shows it.
pub(crate) struct Credential {
    /// The kubeconfig YAML, token included.
    pub(crate) kubeconfig: String,
    /// The token the kubeconfig holds.
    pub(crate) token: Token,
    /// The grant's other namespaces (a context each in the kubeconfig).
    pub(crate) also_in: Vec<String>,
    /// For an expiring token: what was asked for, and the `exp` claim the server put in it.
    pub(crate) expiry: Option<Expiry>,
    /// What kind of credential the grant's token Secret holds.
    pub(crate) kind: CredentialKind,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("kubeconfig", &"<redacted>")
            .field("expiry", &self.expiry)
            .finish()
    }
}

/// What the caller already knows of a grant it has just made or rotated, so that
/// [`issue`] need not read it again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known<'a> {
    /// The grant's token Secret, filled in.
    pub(crate) secret: Option<&'a Secret>,
    /// The grant's other namespaces, as it was just made.
    pub(crate) also_in: Option<&'a [String]>,
}

impl<'a> Known<'a> {
    pub(crate) fn secret(secret: Option<&'a Secret>) -> Known<'a> {
        Known {
            secret,
            also_in: None,
        }
    }
}

/// The grant's credential as a kubeconfig for `endpoint`. What `known` does not hold (the
/// filled-in token Secret; the other namespaces, which the Secret or else the ServiceAccount
/// records) is read here.
pub(crate) async fn issue(
    session: &Session,
    grant: &GrantRef,
    known: Known<'_>,
    token: TokenKind,
    endpoint: &Endpoint,
) -> Result<Credential> {
    let (namespace, service_account) = (&grant.namespace, &grant.service_account);
    // The Secret, read here unless known, holds the token and (as every grant kscope applies
    // now records them) the grant's other namespaces; a Secret that does not record them
    // leaves them to the ServiceAccount, read beside the token's issue.
    let read;
    let secret = match known.secret {
        Some(secret) => secret,
        None => {
            read = session
                .cluster
                .get::<Secret>(namespace.as_str(), &service_account.token_secret())
                .await?
                .ok_or_else(|| TokenError::NoSecret {
                    namespace: namespace.to_string(),
                    service_account: service_account.to_string(),
                })?;
            &read
        }
    };
    let recorded = match known.also_in {
        Some(known) => Some(known.to_vec()),
        None => kscope_core::manifest::also_in_of_secret(secret)?
            .map(|list| list.iter().map(|n| n.to_string()).collect()),
    };
    let token = async {
        let kind = CredentialKind::of(secret);
        // A grant whose access ended hands out nothing: the API server refuses its token.
        if let Some(at) = kind.expires().filter(|_| kind.expired(crate::plan::now())) {
            return Err(Error::from(TokenError::Expired {
                namespace: namespace.to_string(),
                service_account: service_account.to_string(),
                at: kscope_core::expiry::rfc3339(at),
            }));
        }
        match token {
            TokenKind::Expiring(lifetime) => {
                // Never past the grant's own end.
                let lifetime = match kind.expires() {
                    Some(end) => {
                        let left = u64::try_from(end - crate::plan::now()).unwrap_or(0);
                        lifetime.min(std::time::Duration::from_secs(
                            left.max(kscope_core::duration::MIN_TOKEN_SECONDS),
                        ))
                    }
                    None => lifetime,
                };
                let token = session
                    .cluster
                    .request_token(
                        namespace.as_str(),
                        service_account.as_str(),
                        lifetime.as_secs(),
                        Some(secret),
                    )
                    .await?;
                let expiry = Expiry {
                    requested: lifetime,
                    expires_at: token.expires_at(),
                    issued_at: token
                        .issued_at()
                        .unwrap_or_else(|| k8s_openapi::jiff::Timestamp::now().as_second()),
                };
                Ok::<_, Error>((token, Some(expiry), kind))
            }
            TokenKind::LongLived => Ok((long_lived_token(secret, grant)?, None, kind)),
        }
    };
    let also_in = async {
        if let Some(recorded) = recorded {
            return Ok(recorded);
        }
        let account = session
            .cluster
            .get::<k8s_openapi::api::core::v1::ServiceAccount>(
                namespace.as_str(),
                service_account.as_str(),
            )
            .await?;
        let also_in = account
            .map(|sa| kscope_core::manifest::also_in_of(&sa.metadata))
            .transpose()?
            .unwrap_or_default();
        Ok::<_, Error>(also_in.iter().map(|n| n.to_string()).collect::<Vec<_>>())
    };
    let ((token, expiry, kind), also_in) = futures::try_join!(token, also_in)?;
    Ok(Credential {
        kubeconfig: kubeconfig::scoped_kubeconfig_in(
            endpoint,
            namespace,
            service_account,
            &token,
            &also_in,
        )?,
        token,
        also_in,
        expiry,
        kind,
    })
}

/// A client holding a short-lived token of the ServiceAccount (unbound): what `check` proves
/// access through when given no kubeconfig file.
pub(crate) async fn mint(session: &Session, grant: &GrantRef, seconds: u64) -> Result<Cluster> {
    mint_pooled(session, None, grant, seconds).await
}

/// Connections to the caller's cluster for many ServiceAccounts' tokens, set up as the
/// kubeconfigs `kscope kubeconfig` writes are (server, CA, TLS server name) but holding no
/// credential: each proof adds its own token. `None` when the cluster is reached through a
/// proxy (each client then goes through kube's own stack, [`mint`]).
pub(crate) async fn token_pool(session: &Session, grant: &GrantRef) -> Result<Option<TokenPool>> {
    let endpoint = session.caller.endpoint(None, None)?;
    let placeholder = Token::new("none");
    let text = kubeconfig::scoped_kubeconfig(
        &endpoint,
        &grant.namespace,
        &grant.service_account,
        &placeholder,
    )?;
    let parsed = Kubeconfig::from_yaml(&text)
        .map_err(|e| Error::bug(format!("kscope built a kubeconfig it cannot read: {e}")))?;
    session.token_pool(parsed).await
}

/// [`mint`] over a [`TokenPool`] when there is one: the same short token, no new connection.
pub(crate) async fn mint_pooled(
    session: &Session,
    pool: Option<&TokenPool>,
    grant: &GrantRef,
    seconds: u64,
) -> Result<Cluster> {
    let token = session
        .cluster
        .request_token(
            grant.namespace.as_str(),
            grant.service_account.as_str(),
            seconds,
            None,
        )
        .await?;
    match pool {
        Some(pool) => pool.client(&token),
        None => client_with(session, grant, &token).await,
    }
}

/// A client that presents `token` to the caller's cluster, through the same kubeconfig that
/// `kscope kubeconfig` would write.
pub(crate) async fn client_with(
    session: &Session,
    grant: &GrantRef,
    token: &Token,
) -> Result<Cluster> {
    let endpoint = session.caller.endpoint(None, None)?;
    let text =
        kubeconfig::scoped_kubeconfig(&endpoint, &grant.namespace, &grant.service_account, token)?;
    client_of(session, &text).await
}

/// A client for a kubeconfig kscope built itself.
pub(crate) async fn client_of(session: &Session, kubeconfig: &str) -> Result<Cluster> {
    let parsed = Kubeconfig::from_yaml(kubeconfig)
        .map_err(|e| Error::bug(format!("kscope built a kubeconfig it cannot read: {e}")))?;
    session.client_for(parsed).await.map_err(Error::bug)
}

/// Presents `token` once, before the revocation it stands in for: kube-apiserver keeps a token
/// it has just accepted in its authentication cache (10 s by default) and goes on accepting it
/// from there after its ServiceAccount is gone, so a token never presented would be refused at
/// once while one the tenant used a moment ago still works. Presented first, the minted token
/// is like the tenant's, and the proof that follows waits out the cache too.
pub(crate) async fn present(session: &Session, grant: &GrantRef, token: &Token) -> Result<()> {
    let client = client_with(session, grant, token).await?;
    accepts(&client).await.map(drop)
}

/// Presents `token` until the API server refuses it (401), at most `timeout` (the server may
/// cache a token it accepted for a few seconds). Returns how long that took.
pub(crate) async fn prove_refused(
    session: &Session,
    grant: &GrantRef,
    token: &Token,
    timeout: Duration,
) -> Result<Duration> {
    let client = client_with(session, grant, token).await?;
    let start = Instant::now();
    loop {
        if !accepts(&client).await? {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return Err(Error::from(TokenError::StillAccepted {
                namespace: grant.namespace.to_string(),
                service_account: grant.service_account.to_string(),
                seconds: timeout.as_secs(),
            }));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// [`prove_refused`] for a token that may be missing: `None` when there is none to present.
pub(crate) async fn prove_refused_if_any(
    session: &Session,
    grant: &GrantRef,
    token: Option<&Token>,
    timeout: Duration,
) -> Result<Option<Duration>> {
    match token {
        Some(token) => prove_refused(session, grant, token, timeout)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// Who the API server says the holder of `kubeconfig` is.
pub(crate) async fn identity_of(session: &Session, kubeconfig: &str) -> Result<String> {
    let client = client_of(session, kubeconfig).await?;
    Ok(client.whoami().await?.username.unwrap_or_default())
}

/// The long-lived token a filled token Secret holds, if it holds one as text.
pub(crate) fn secret_token(secret: &Secret) -> Option<Token> {
    SecretToken::token(secret)
}

fn long_lived_token(secret: &Secret, grant: &GrantRef) -> Result<Token> {
    let (namespace, secret_name) = (
        grant.namespace.to_string(),
        grant.service_account.token_secret(),
    );
    match SecretToken::of(secret) {
        SecretToken::Filled(token) => Ok(token),
        SecretToken::Empty => Err(TokenError::NotFilled {
            namespace,
            secret: secret_name,
        }
        .into()),
        SecretToken::NotText => Err(TokenError::NotText {
            namespace,
            secret: secret_name,
        }
        .into()),
    }
}
