//! A grant's credential in the formats deployment systems read, as a `v1` Secret manifest:
//! Argo CD's declarative cluster Secret and the kubeconfig Secret Flux's controllers read
//! through `spec.kubeConfig.secretRef`. Pure.
//!
//! Checked against the projects' own code: Argo CD reads `name`, `server` (trailing `/`
//! trimmed), `namespaces` (comma-separated, each trimmed), `clusterResources` (exactly
//! `"true"` or not) and `config` (JSON of its `ClusterConfig`, whose `tlsClientConfig.caData`
//! is a Go `[]byte`: base64 of the PEM) from Secrets labelled
//! `argocd.argoproj.io/secret-type: cluster` in its own namespace. Flux's kustomize-controller
//! and helm-controller read the key `value` (else `value.yaml`) of a Secret in the
//! Kustomization's or HelmRelease's namespace, and drop exec plugins, file references and
//! `insecure-skip-tls-verify` from it: kscope's kubeconfig has none.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::invalid::Unrenderable;
use crate::kubeconfig::{Endpoint, Token, entry_name};
use crate::manifest::{FIELD_MANAGER, GRANT_LABEL, MANAGED_BY};
use crate::spec::GrantRef;

/// The label that makes a Secret an Argo CD cluster.
pub const ARGOCD_SECRET_TYPE: (&str, &str) = ("argocd.argoproj.io/secret-type", "cluster");
/// The key Flux reads a kubeconfig from by default.
pub const FLUX_KEY: &str = "value";
/// Where Argo CD looks for cluster Secrets unless told otherwise.
pub const ARGOCD_NAMESPACE: &str = "argocd";

/// Which deployment system the Secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    ArgoCd,
    Flux,
}

/// The Secret's name: kscope's, the cluster's (as a DNS label), the namespace and the
/// ServiceAccount, separated by dots. Neither a namespace nor the cluster part holds a dot,
/// so no two grants share a name.
pub fn secret_name(endpoint: &Endpoint, grant: &GrantRef) -> String {
    let mut cluster: String = endpoint
        .cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    cluster = cluster.trim_matches('-').to_string();
    let budget = 253
        - "kscope...".len()
        - grant.namespace.as_str().len()
        - grant.service_account.as_str().len();
    cluster.truncate(budget.min(63));
    let cluster = cluster.trim_end_matches('-');
    let cluster = if cluster.is_empty() {
        "cluster"
    } else {
        cluster
    };
    format!(
        "kscope.{cluster}.{}.{}",
        grant.namespace, grant.service_account
    )
}

fn metadata(endpoint: &Endpoint, grant: &GrantRef, namespace: &str, system: System) -> ObjectMeta {
    let mut labels = BTreeMap::from([
        (MANAGED_BY.to_string(), FIELD_MANAGER.to_string()),
        (GRANT_LABEL.to_string(), grant.service_account.to_string()),
        (
            "kscope.dev/grant-namespace".to_string(),
            grant.namespace.to_string(),
        ),
    ]);
    if system == System::ArgoCd {
        labels.insert(
            ARGOCD_SECRET_TYPE.0.to_string(),
            ARGOCD_SECRET_TYPE.1.to_string(),
        );
    }
    ObjectMeta {
        name: Some(secret_name(endpoint, grant)),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        annotations: Some(BTreeMap::from([(
            "kscope.dev/server".to_string(),
            endpoint.server.clone(),
        )])),
        ..Default::default()
    }
}

/// Argo CD's cluster Secret for the grant: `name` (`--name`, else the name of the
/// kubeconfig kscope writes for it), `server`, `namespaces`, `clusterResources: "false"` and
/// `config` with the bearer token and the TLS settings.
pub fn argocd_secret(
    endpoint: &Endpoint,
    grant: &GrantRef,
    namespaces: &[&str],
    token: &Token,
    name: Option<&str>,
    secret_namespace: &str,
) -> Secret {
    let mut tls = serde_json::json!({"insecure": false});
    if let Some(pem) = &endpoint.ca_pem {
        tls["caData"] = STANDARD.encode(pem).into();
    }
    if let Some(server_name) = &endpoint.tls_server_name {
        tls["serverName"] = server_name.clone().into();
    }
    let mut config = serde_json::json!({
        "bearerToken": token.expose(),
        "tlsClientConfig": tls,
    });
    if let Some(proxy) = &endpoint.proxy_url {
        config["proxyUrl"] = proxy.clone().into();
    }
    let name = name
        .map(String::from)
        .unwrap_or_else(|| entry_name(endpoint, &grant.namespace, &grant.service_account));
    Secret {
        metadata: metadata(endpoint, grant, secret_namespace, System::ArgoCd),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([
            ("name".to_string(), name),
            (
                "server".to_string(),
                endpoint.server.trim_end_matches('/').to_string(),
            ),
            ("namespaces".to_string(), namespaces.join(",")),
            ("clusterResources".to_string(), "false".to_string()),
            ("config".to_string(), config.to_string()),
        ])),
        ..Default::default()
    }
}

/// Flux's kubeconfig Secret for the grant: the self-contained kubeconfig under `value`.
pub fn flux_secret(
    endpoint: &Endpoint,
    grant: &GrantRef,
    kubeconfig: &str,
    secret_namespace: &str,
) -> Secret {
    Secret {
        metadata: metadata(endpoint, grant, secret_namespace, System::Flux),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([(
            FLUX_KEY.to_string(),
            kubeconfig.to_string(),
        )])),
        ..Default::default()
    }
}

/// The Secret as a YAML manifest (`kubectl apply -f` input).
pub fn secret_yaml(secret: &Secret) -> Result<String, Unrenderable> {
    let mut value = serde_json::to_value(secret).map_err(|e| Unrenderable {
        what: "the Secret",
        detail: e.to_string(),
    })?;
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    serde_saphyr::to_string(&value).map_err(|e| Unrenderable {
        what: "the Secret",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{NamespaceName, ServiceAccountName};

    fn endpoint(cluster: &str) -> Endpoint {
        Endpoint {
            cluster: cluster.into(),
            server: "https://10.0.0.1:6443/".into(),
            ca_pem: Some(
                b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            insecure_skip_tls_verify: false,
            tls_server_name: Some("api.internal".into()),
            proxy_url: None,
            proxy_withheld: false,
        }
    }

    fn grant(ns: &str, sa: &str) -> GrantRef {
        GrantRef {
            namespace: NamespaceName::parse(ns).unwrap(),
            service_account: ServiceAccountName::parse(sa).unwrap(),
        }
    }

    #[test]
    fn the_argocd_secret_is_what_argocd_reads() {
        let token = Token::new("tok");
        let secret = argocd_secret(
            &endpoint("arn:aws:eks:eu-west-1:1:cluster/Prod"),
            &grant("team-a", "deploy"),
            &["team-a"],
            &token,
            None,
            "argocd",
        );
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels[ARGOCD_SECRET_TYPE.0], "cluster");
        assert_eq!(
            secret.metadata.name.as_deref(),
            Some("kscope.arn-aws-eks-eu-west-1-1-cluster-prod.team-a.deploy")
        );
        let data = secret.string_data.unwrap();
        assert_eq!(data["server"], "https://10.0.0.1:6443");
        assert_eq!(data["namespaces"], "team-a");
        assert_eq!(data["clusterResources"], "false");
        let config: serde_json::Value = serde_json::from_str(&data["config"]).unwrap();
        assert_eq!(config["bearerToken"], "tok");
        assert_eq!(config["tlsClientConfig"]["insecure"], false);
        assert_eq!(config["tlsClientConfig"]["serverName"], "api.internal");
        let ca = STANDARD
            .decode(config["tlsClientConfig"]["caData"].as_str().unwrap())
            .unwrap();
        assert!(ca.starts_with(b"-----BEGIN CERTIFICATE-----"));
    }

    #[test]
    fn names_never_collide_and_stay_dns_names() {
        let e = endpoint("kind-dev");
        assert_ne!(
            secret_name(&e, &grant("team-a", "ci")),
            secret_name(&e, &grant("team", "a-ci"))
        );
        let long = endpoint(&"x".repeat(300));
        let name = secret_name(&long, &grant("team", "ci"));
        assert!(name.len() <= 253);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        );
    }
}
