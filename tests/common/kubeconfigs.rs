//! Kubeconfigs and clients for a test cluster: the admin's (client certificate in
//! `system:masters`) and ones that authenticate with a bearer token.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

/// The admin kubeconfig (client certificate in `system:masters`) of a test cluster.
pub fn admin_kubeconfig_path(dir: &Path) -> PathBuf {
    dir.join("admin.kubeconfig")
}

/// kscope run as the cluster admin of the cluster in `dir` (its admin kubeconfig), in a home
/// of its own. (Every test crate that declares `mod common` also declares `mod runner`.)
pub fn admin(dir: &Path) -> crate::runner::Kscope {
    crate::runner::Kscope::new().kubeconfig(&admin_kubeconfig_path(dir))
}

pub fn admin_kubeconfig(dir: &Path) -> Kubeconfig {
    let path = admin_kubeconfig_path(dir);
    Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The API server URL, e.g. `https://127.0.0.1:40123`.
pub fn server_url(dir: &Path) -> String {
    admin_cluster(dir)
        .server
        .expect("admin.kubeconfig has no server")
}

/// The cluster CA as base64 of its PEM, as kubeconfigs carry it (`certificate-authority-data`).
pub fn ca_data_base64(dir: &Path) -> String {
    admin_cluster(dir)
        .certificate_authority_data
        .expect("admin.kubeconfig has no certificate-authority-data")
}

/// The cluster CA certificate, PEM.
pub fn ca_pem(dir: &Path) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(ca_data_base64(dir))
        .expect("certificate-authority-data is not base64")
}

fn admin_cluster(dir: &Path) -> kube::config::Cluster {
    admin_kubeconfig(dir)
        .clusters
        .into_iter()
        .next()
        .and_then(|c| c.cluster)
        .expect("admin.kubeconfig has no cluster")
}

async fn client_from(kubeconfig: Kubeconfig) -> Client {
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("building a client config from a kubeconfig");
    Client::try_from(config).expect("building a client")
}

/// A client authenticated as the cluster admin (`system:masters`).
pub async fn admin_client(dir: &Path) -> Client {
    client_from(admin_kubeconfig(dir)).await
}

/// A kubeconfig (as JSON, which kubectl and kube read like YAML) for the cluster in `dir`
/// that authenticates with a bearer token, context namespace `namespace` if given.
pub fn token_kubeconfig_json(
    dir: &Path,
    token: &str,
    namespace: Option<&str>,
) -> serde_json::Value {
    let mut context = json!({ "cluster": "kscope-test", "user": "token-user" });
    if let Some(ns) = namespace {
        context["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "kscope-test", "cluster": {
            "server": server_url(dir),
            "certificate-authority-data": ca_data_base64(dir),
        }}],
        "users": [{ "name": "token-user", "user": { "token": token } }],
        "contexts": [{ "name": "kscope-test", "context": context }],
        "current-context": "kscope-test",
    })
}

/// Writes [`token_kubeconfig_json`] to `path` (for kubectl).
pub fn write_token_kubeconfig(dir: &Path, token: &str, namespace: Option<&str>, path: &Path) {
    let text = serde_json::to_string_pretty(&token_kubeconfig_json(dir, token, namespace)).unwrap();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// A client for the cluster in `dir` (its server and CA) that authenticates with `token`.
pub async fn token_client(dir: &Path, token: &str) -> Client {
    let kubeconfig: Kubeconfig = serde_json::from_value(token_kubeconfig_json(dir, token, None))
        .expect("an in-memory token kubeconfig");
    client_from(kubeconfig).await
}

/// One kubeconfig with a context for each of two clusters.
pub fn two_clusters(first: &Path, second: &Path, into: &Path) -> PathBuf {
    let mut merged = admin_kubeconfig(first);
    let mut other: Kubeconfig = admin_kubeconfig(second);
    for named in &mut merged.contexts {
        named.name = "one".into();
    }
    for cluster in &mut other.clusters {
        cluster.name = "two-cluster".into();
    }
    for user in &mut other.auth_infos {
        user.name = "two-user".into();
    }
    for named in &mut other.contexts {
        named.name = "two".into();
        if let Some(context) = named.context.as_mut() {
            context.cluster = "two-cluster".into();
            context.user = Some("two-user".into());
        }
    }
    merged.current_context = Some("one".into());
    merged.clusters.extend(other.clusters);
    merged.auth_infos.extend(other.auth_infos);
    merged.contexts.extend(other.contexts);
    let path = into.join("two-clusters.kubeconfig");
    std::fs::write(&path, serde_json::to_string(&merged).unwrap()).unwrap();
    path
}
