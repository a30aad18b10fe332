//! Objects made by hand (never with kscope's own builders, so that tests can disagree with
//! kscope), and the API status of a failed call.

use std::path::{Path, PathBuf};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::names::unique_name;

fn from_json<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a valid object")
}

/// An existing namespace as a careful cluster admin makes one: with Pod Security enforced at
/// baseline (kscope refuses to hand out pod-making access in a namespace that admits pods
/// that take their node; tests/containment.rs makes bare namespaces for that).
pub async fn create_namespace(client: &Client, name: &str) -> Namespace {
    let ns: Namespace = from_json(json!({ "metadata": {
        "name": name,
        "labels": {"pod-security.kubernetes.io/enforce": "baseline"},
    } }));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"))
}

/// A namespace as `kubectl create namespace` makes it (no Pod Security label), once its
/// default ServiceAccount exists (the controller makes it a moment later; admission needs it
/// to answer a pod's dry run).
pub async fn create_bare_namespace(client: &Client, name: &str) -> Namespace {
    let ns: Namespace = from_json(json!({ "metadata": { "name": name } }));
    let created = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"));
    crate::common::eventually(
        "the default ServiceAccount",
        std::time::Duration::from_secs(20),
        || {
            let sas = Api::<ServiceAccount>::namespaced(client.clone(), name);
            async move { sas.get("default").await.map(|_| ()) }
        },
    )
    .await;
    created
}

/// Deletes a namespace, ignoring errors (for cleanup; on the no-KCM cluster it stays
/// Terminating forever, which is harmless).
pub async fn delete_namespace(client: &Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

pub async fn create_service_account(
    client: &Client,
    namespace: &str,
    name: &str,
) -> ServiceAccount {
    let sa: ServiceAccount = from_json(json!({ "metadata": { "name": name } }));
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap_or_else(|e| panic!("creating serviceaccount {namespace}/{name}: {e}"))
}

/// Creates a namespace named `unique_name(prefix)` and a ServiceAccount `sa_name` in it.
/// Returns the namespace name.
pub async fn namespace_with_sa(client: &Client, prefix: &str, sa_name: &str) -> String {
    let ns = unique_name(prefix);
    create_namespace(client, &ns).await;
    create_service_account(client, &ns, sa_name).await;
    ns
}

/// Creates a legacy token Secret (`kubernetes.io/service-account-token`) for `sa_name`; the
/// token controller fills it with `token`, `ca.crt` and `namespace`.
pub async fn create_token_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    sa_name: &str,
) -> Secret {
    let secret: Secret = from_json(json!({
        "metadata": {
            "name": name,
            "annotations": { "kubernetes.io/service-account.name": sa_name },
        },
        "type": "kubernetes.io/service-account-token",
    }));
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("creating secret {namespace}/{name}: {e}"))
}

/// True once the token controller has filled the Secret.
pub fn secret_has_token(secret: Option<&Secret>) -> bool {
    secret
        .and_then(|s| s.data.as_ref())
        .is_some_and(|d| d.get("token").is_some_and(|t| !t.0.is_empty()))
}

/// Mints a token for a ServiceAccount with the TokenRequest API (no Secret involved).
pub async fn mint_token(
    client: &Client,
    namespace: &str,
    sa_name: &str,
    expiration_seconds: Option<i64>,
) -> String {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds,
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(sa_name, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {namespace}/{sa_name}: {e}"))
        .status
        .expect("TokenRequest answered without status")
        .token
}

/// Binds a ClusterRole (e.g. `view`) to a ServiceAccount within its namespace.
pub async fn bind_cluster_role(
    client: &Client,
    namespace: &str,
    binding: &str,
    cluster_role: &str,
    sa_name: &str,
) -> RoleBinding {
    let rb: RoleBinding = from_json(json!({
        "metadata": { "name": binding },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role },
        "subjects": [{ "kind": "ServiceAccount", "name": sa_name, "namespace": namespace }],
    }));
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &rb)
        .await
        .unwrap_or_else(|e| panic!("creating rolebinding {namespace}/{binding}: {e}"))
}

/// A ServiceAccount as the subject of a binding.
pub fn service_account_subject(namespace: &str, sa_name: &str) -> serde_json::Value {
    json!({ "kind": "ServiceAccount", "name": sa_name, "namespace": namespace })
}

/// A group (such as `system:serviceaccounts`) as the subject of a binding.
pub fn group_subject(group: &str) -> serde_json::Value {
    json!({ "kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group })
}

/// Binds a ClusterRole to `subject` cluster-wide (a ClusterRoleBinding named `binding`):
/// access from outside any grant. Remove it with [`unbind_cluster_wide`].
pub async fn bind_cluster_role_cluster_wide(
    client: &Client,
    binding: &str,
    cluster_role: &str,
    subject: serde_json::Value,
) -> ClusterRoleBinding {
    let crb: ClusterRoleBinding = from_json(json!({
        "metadata": { "name": binding },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role },
        "subjects": [subject],
    }));
    Api::<ClusterRoleBinding>::all(client.clone())
        .create(&PostParams::default(), &crb)
        .await
        .unwrap_or_else(|e| panic!("creating clusterrolebinding {binding}: {e}"))
}

/// Makes ServiceAccount `namespace/sa_name` a cluster admin (`cluster-admin`, cluster-wide):
/// the most powerful identity a cluster has. Remove it with [`unbind_cluster_wide`].
pub async fn bind_cluster_admin(
    client: &Client,
    binding: &str,
    namespace: &str,
    sa_name: &str,
) -> ClusterRoleBinding {
    bind_cluster_role_cluster_wide(
        client,
        binding,
        "cluster-admin",
        service_account_subject(namespace, sa_name),
    )
    .await
}

/// Deletes the ClusterRoleBinding `binding`; panics unless it is gone afterwards (an absent
/// one is gone).
pub async fn unbind_cluster_wide(client: &Client, binding: &str) {
    match Api::<ClusterRoleBinding>::all(client.clone())
        .delete(binding, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(e) if api_status(&e).is_some_and(|s| s.code == 404) => {}
        Err(e) => panic!("deleting clusterrolebinding {binding}: {e}"),
    }
}

/// The fields server-side apply records that `manager` applied to an object (its `fieldsV1`,
/// e.g. `{"f:metadata": {"f:labels": {...}}}`), or None when `manager` never applied it.
pub fn applied_by(meta: &ObjectMeta, manager: &str) -> Option<serde_json::Value> {
    meta.managed_fields
        .as_ref()?
        .iter()
        .find(|m| m.manager.as_deref() == Some(manager) && m.operation.as_deref() == Some("Apply"))
        .map(|m| {
            m.fields_v1
                .as_ref()
                .map(|f| f.0.clone())
                .unwrap_or_default()
        })
}

/// The HTTP status of a failed API call, if the server answered with one.
pub fn api_status(err: &kube::Error) -> Option<&kube::core::Status> {
    match err {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

pub fn is_forbidden(err: &kube::Error) -> bool {
    api_status(err).is_some_and(|s| s.code == 403)
}

/// A TenantSet named `name` with `tenants` lines (already YAML flow maps).
pub fn set_file(into: &Path, name: &str, tenants: &[String]) -> PathBuf {
    let mut text = format!(
        "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata:\n  name: {name}\nspec:\n  defaults: {{template: read-only}}\n  tenants:\n"
    );
    for tenant in tenants {
        text.push_str(&format!("  - {tenant}\n"));
    }
    let path = into.join(format!("{name}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Takes a namespace out from under kscope's guard, as an admin could: its tenant label goes
/// (the guard applies only where a Namespace carries it).
pub async fn untenant_namespace(client: &Client, name: &str) {
    use kube::api::{Patch, PatchParams};
    Api::<Namespace>::all(client.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"metadata": {"labels": {"kscope.dev/tenant": null}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("removing the tenant label of {name}: {e}"));
}

/// The token of a delivered Argo CD Secret, read back from the management cluster.
pub async fn delivered_token(client: &kube::Client, ns: &str, name: &str) -> (String, String) {
    use k8s_openapi::api::core::v1::Secret;
    let secret = kube::Api::<Secret>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("the delivered Secret {ns}/{name}: {e}"));
    let data = secret.data.unwrap();
    let config: serde_json::Value = serde_json::from_slice(&data["config"].0).unwrap();
    (
        config["bearerToken"].as_str().unwrap().to_string(),
        secret.metadata.resource_version.unwrap(),
    )
}

/// `kscope --context one kubeconfig <ns> <sa> --format argocd` delivered into
/// `secret_namespace` of context `two` (the clusters of `two_clusters`).
pub fn deliver_to_argocd(ns: &str, sa: &str, secret_namespace: &str) -> Vec<String> {
    [
        "--context",
        "one",
        "kubeconfig",
        ns,
        sa,
        "--format",
        "argocd",
        "--secret-namespace",
        secret_namespace,
        "--deliver-to",
        "two",
    ]
    .map(String::from)
    .to_vec()
}

/// The seed walkthrough's own Role as a template file in `dir` (every resource of every group,
/// the verbs spelled out): a tenant that RBAC lets change its own Namespace and write its
/// quota, so that only kscope's guard refuses it. The built-in `namespace-admin` no longer
/// reaches either. Returns the file's path, for `--template`.
pub fn walkthrough_role(dir: &Path) -> String {
    let path = dir.join("walkthrough-role.yaml");
    std::fs::write(
        &path,
        "name: walkthrough-role\n\
         description: the seed walkthrough's Role, every resource of every group\n\
         rules:\n\
         - apiGroups: [\"\", \"*\"]\n  \
           resources: [\"*\"]\n  \
           verbs: [get, list, watch, create, update, patch, delete, deletecollection]\n",
    )
    .unwrap();
    path.to_str().expect("a UTF-8 temporary path").to_string()
}
