//! A tenant's `kubeconfig` options: the token's lifetime, and where its credential is
//! delivered (Argo CD or Flux), each mistake named.

use super::Delivery;
use crate::delivery::{ARGOCD_NAMESPACE, System};
use crate::names::NamespaceName;
use crate::spec::{self, TokenKind};

const KUBECONFIG_FIELDS: [&str; 4] = ["duration", "format", "deliverTo", "secretNamespace"];

/// `kubeconfig.duration`: the token kind.
pub(super) fn kubeconfig_token(
    options: &serde_json::Map<String, serde_json::Value>,
    problem: &mut dyn FnMut(String),
) -> Option<TokenKind> {
    if let Some(unknown) = options
        .keys()
        .find(|key| !KUBECONFIG_FIELDS.contains(&key.as_str()))
    {
        problem(format!(
            "unknown field kubeconfig.{unknown} (kubeconfig has {})",
            KUBECONFIG_FIELDS.join(", ")
        ));
    }
    match options.get("duration") {
        None => Some(TokenKind::LongLived),
        Some(serde_json::Value::String(d)) => spec::token_lifetime(d)
            .map(TokenKind::Expiring)
            .map_err(|e| problem(e.for_field("kubeconfig.duration").to_string()))
            .ok(),
        Some(_) => {
            problem("kubeconfig.duration must be a duration such as 24h".into());
            None
        }
    }
}

/// `kubeconfig.{format, deliverTo, secretNamespace}`: `Some(None)` when nothing is delivered,
/// `None` when the fields are wrong (each problem said).
pub(super) fn kubeconfig_delivery(
    options: &serde_json::Map<String, serde_json::Value>,
    problem: &mut dyn FnMut(String),
) -> Option<Option<Delivery>> {
    let text = |key: &str, problem: &mut dyn FnMut(String)| match options.get(key) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => {
            problem(format!("kubeconfig.{key} must be a non-empty string"));
            Err(())
        }
    };
    let (format, context, namespace) = (
        text("format", problem),
        text("deliverTo", problem),
        text("secretNamespace", problem),
    );
    let (Ok(format), Ok(context), Ok(namespace)) = (format, context, namespace) else {
        return None;
    };
    let system = match format.as_deref() {
        None | Some("kubeconfig") => None,
        Some("argocd") => Some(System::ArgoCd),
        Some("flux") => Some(System::Flux),
        Some(other) => {
            problem(format!(
                "kubeconfig.format must be kubeconfig, argocd or flux, not {other:?}"
            ));
            return None;
        }
    };
    if let Some(ns) = &namespace
        && NamespaceName::parse(ns).is_err()
    {
        problem(format!(
            "kubeconfig.secretNamespace {ns:?} is not a valid namespace name"
        ));
        return None;
    }
    match (system, context, namespace) {
        (None, None, None) => Some(None),
        (None, _, _) => {
            problem("kubeconfig.deliverTo and kubeconfig.secretNamespace need kubeconfig.format argocd or flux".into());
            None
        }
        (Some(_), None, _) => {
            problem("kubeconfig.format argocd or flux needs kubeconfig.deliverTo (the context of the cluster Argo CD or Flux runs in)".into());
            None
        }
        (Some(System::Flux), Some(_), None) => {
            problem("kubeconfig.format flux needs kubeconfig.secretNamespace (the namespace of the Kustomization or HelmRelease)".into());
            None
        }
        (Some(system), Some(context), namespace) => Some(Some(Delivery {
            system,
            context,
            secret_namespace: namespace.unwrap_or_else(|| ARGOCD_NAMESPACE.to_string()),
        })),
    }
}
