//! Tokens that are not what kscope needs them to be: not filled in, not issued, shortened,
//! still accepted after a revocation, refused after a rotation. Each variant's sentence is its
//! `#[error]`; its exit code and hint are in the `impl` below (exit 4 for the token wait's
//! timeout, 1 for the rest).

use crate::error::Exit;

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("the old token of {namespace}/{service_account} was still accepted after {seconds}s")]
    StillAccepted {
        namespace: String,
        service_account: String,
        seconds: u64,
    },

    #[error(
        "the new token of {namespace}/{service_account} is not accepted: the API server says it is {identity}"
    )]
    NewRefused {
        namespace: String,
        service_account: String,
        identity: String,
    },

    #[error("the API server granted a token for {granted}, not the {requested} asked for")]
    Shortened { requested: String, granted: String },

    #[error(
        "there is no token Secret {namespace}/{service_account}-token: the grant was revoked, or never made"
    )]
    NoSecret {
        namespace: String,
        service_account: String,
    },

    #[error("the token Secret {namespace}/{secret} has no token yet")]
    NotFilled { namespace: String, secret: String },

    #[error("the token in Secret {namespace}/{secret} is not text")]
    NotText { namespace: String, secret: String },

    #[error(
        "the API server answered the TokenRequest for ServiceAccount {namespace}/{service_account} without a token"
    )]
    EmptyIssued {
        namespace: String,
        service_account: String,
    },

    /// The token controller did not fill in the token Secret in time.
    #[error("the token Secret {namespace}/{secret} was not filled in within {seconds}s")]
    Timeout {
        namespace: String,
        secret: String,
        seconds: u64,
    },

    /// The grant's bound token has expired: the API server refuses it.
    #[error(
        "the grant {namespace}/{service_account} expired at {at}: the API server refuses its token"
    )]
    Expired {
        namespace: String,
        service_account: String,
        at: String,
    },

    /// The grant's end (`--expires` at a time of day) is too near for another token.
    #[error(
        "the access of {namespace}/{service_account} ends at {at}: less than 10 minutes are left, and the API server issues no shorter token"
    )]
    Ended {
        namespace: String,
        service_account: String,
        at: String,
    },

    /// The token Secret disappeared while waiting (the controller deletes orphans).
    #[error("the token Secret {namespace}/{secret} was deleted while kscope waited for its token")]
    SecretDeleted { namespace: String, secret: String },
}

impl TokenError {
    pub(crate) fn exit(&self) -> Exit {
        match self {
            TokenError::Timeout { .. } => Exit::Timeout,
            _ => Exit::Runtime,
        }
    }

    /// The line under the sentence: what to do about it.
    pub(crate) fn hint(&self) -> String {
        use TokenError::*;
        match self {
            StillAccepted { .. } => {
                "the credential may still be live: check the API server's token cache and authenticators, and run kscope revoke again".into()
            }
            NewRefused { .. } => {
                "run kscope rotate again; if it keeps failing, check the token controller".into()
            }
            Shortened { .. } => "ask for at most the server's --service-account-max-token-expiration, or drop --strict-duration to accept the shorter token; nothing was written".into(),
            NoSecret {
                namespace,
                service_account,
            } => format!("make it again with kscope grant {namespace} {service_account}"),
            NotFilled { .. } => {
                "the token controller of kube-controller-manager fills it in; run the grant again to wait for it".into()
            }
            NotText { .. } => "delete the Secret and run the grant again".into(),
            EmptyIssued { .. } => {
                "the API server's token issuer is misconfigured (see --service-account-signing-key-file); try again or ask a cluster admin".into()
            }
            Timeout { .. } => "the token controller of kube-controller-manager is the likely cause: \
                 check that kube-controller-manager runs with --service-account-private-key-file \
                 and its serviceaccount-token controller enabled"
                .into(),
            Expired {
                namespace,
                service_account,
                ..
            } => format!(
                "renew it with kscope rotate {namespace} {service_account} (or kscope apply of its TenantSet), or end it with kscope revoke"
            ),
            Ended { .. } => {
                "grant it again with a later --expires, or let it end (kscope revoke removes it)".into()
            }
            SecretDeleted { .. } => {
                "the token controller deletes token Secrets whose ServiceAccount is missing; re-run the grant".into()
            }
        }
    }
}
