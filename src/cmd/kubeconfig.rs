//! `kscope kubeconfig [<namespace> <serviceaccount>]`: a kubeconfig for the grant's
//! ServiceAccount, with the long-lived Secret token or (`--duration`) an expiring TokenRequest
//! token bound to that Secret; on stdout or, atomically with mode 0600, in `--output`.

use std::io::IsTerminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::{Global, KubeconfigArgs};
use crate::cluster::Cluster;
use crate::cmd::{Session, named_grant, print, remembered_grant};
use crate::error::{Error, Exit, Result};
use crate::kubeconfig::{self, Endpoint, Token};
use crate::progress::note;
use crate::spec::{self, NamespaceName, ServiceAccountName, format_duration};

pub async fn run(global: &Global, args: &KubeconfigArgs) -> Result<Exit> {
    // Validate everything that needs no server first.
    let named = named_grant(args.namespace.as_deref(), args.serviceaccount.as_deref())?;
    let lifetime = args
        .duration
        .as_deref()
        .map(spec::token_duration)
        .transpose()?;
    if let Some(path) = &args.output {
        kubeconfig::check_destination(path, args.force)?;
    }
    let session = Session::connect(global).await?;
    let endpoint = session
        .caller
        .endpoint(args.server.as_deref(), args.ca_file.as_deref())?;
    let (namespace, service_account) = match named {
        Some(pair) => pair,
        None => remembered_grant(&session, "kubeconfig").await?,
    };
    let text = render(
        &session.cluster,
        &endpoint,
        &namespace,
        &service_account,
        lifetime,
    )
    .await?;
    match &args.output {
        Some(path) => {
            kubeconfig::write_private(path, &text, args.force)?;
            note(&format!("wrote {} (mode 0600)", path.display()));
        }
        None => {
            print(&text)?;
            if std::io::stdout().is_terminal() {
                note("this output holds a credential: do not paste it anywhere public");
            } else {
                note(
                    "the kubeconfig holds a credential: keep the file private (chmod 600), or use --output FILE",
                );
            }
        }
    }
    Ok(Exit::Ok)
}

/// The kubeconfig text for a grant; shared with the wizard.
pub async fn render(
    cluster: &Cluster,
    endpoint: &Endpoint,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
    lifetime: Option<Duration>,
) -> Result<String> {
    let secret_name = service_account.token_secret();
    let secret = cluster
        .secret(namespace.as_str(), &secret_name)
        .await?
        .ok_or_else(|| {
            Error::runtime(
                format!("there is no token Secret {namespace}/{secret_name}"),
                format!("run kscope grant {namespace} {service_account} first"),
            )
        })?;
    let token = match lifetime {
        Some(lifetime) => {
            let answer = cluster
                .request_token(
                    namespace.as_str(),
                    service_account.as_str(),
                    lifetime.as_secs(),
                    Some(&secret),
                )
                .await?;
            let token = Token::new(answer.status.map(|s| s.token).unwrap_or_default());
            report_expiry(&token, lifetime);
            token
        }
        None => {
            let value = secret
                .data
                .as_ref()
                .and_then(|d| d.get("token"))
                .map(|t| t.0.clone());
            match value.filter(|v| !v.is_empty()) {
                Some(bytes) => Token::new(String::from_utf8(bytes).map_err(|_| {
                    Error::runtime(
                        format!("the token in Secret {namespace}/{secret_name} is not text"),
                        "delete the Secret and run the grant again",
                    )
                })?),
                None => {
                    return Err(Error::runtime(
                        format!("the token Secret {namespace}/{secret_name} has no token yet"),
                        "the token controller of kube-controller-manager fills it in; run the grant again to wait for it",
                    ));
                }
            }
        }
    };
    kubeconfig::scoped_kubeconfig(endpoint, namespace, service_account, &token)
}

fn report_expiry(token: &Token, requested: Duration) {
    let Some(expires) = token.expires_at() else {
        note("the token carries no expiry claim");
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let left = u64::try_from(expires - now).unwrap_or(0);
    let when = k8s_openapi::jiff::Timestamp::from_second(expires)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| expires.to_string());
    note(&format!(
        "the token expires at {when} (in {})",
        format_duration(left)
    ));
    if left + 60 < requested.as_secs() {
        note(&format!(
            "the API server shortened the token: {} was asked for (see --service-account-max-token-expiration)",
            format_duration(requested.as_secs())
        ));
    }
}
