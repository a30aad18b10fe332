//! Proves that the test control plane is the real thing kscope's other tests rely on: the
//! token controller fills Secrets with tokens the API server accepts, RBAC is enforced, the
//! built-in ClusterRoles are aggregated, namespaces get their `default` ServiceAccount and CA
//! ConfigMap and finish deleting, and the cluster without kube-controller-manager really
//! leaves token Secrets empty.
//!
//! Needs the clusters of `tests/run` (or `tests/cluster/up target/testenv/main` and
//! `tests/cluster/up target/testenv/no-kcm --no-controller-manager`).

mod common;
mod runner;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};

/// (a) A manually created token Secret is filled by the token controller with `token`,
/// `ca.crt` (the cluster CA) and `namespace`, gains the SA's uid, and its token authenticates
/// as the ServiceAccount.
#[tokio::test]
async fn token_controller_fills_a_manual_token_secret() {
    let dir = cluster_dir();
    let admin = admin_client(&dir).await;
    let ns = namespace_with_sa(&admin, "cp-secret", "tenant").await;
    let sa = Api::<ServiceAccount>::namespaced(admin.clone(), &ns)
        .get("tenant")
        .await
        .unwrap();
    create_token_secret(&admin, &ns, "tenant-token", "tenant").await;

    let secrets = Api::<Secret>::namespaced(admin.clone(), &ns);
    let secret = wait_for(
        &secrets,
        "tenant-token",
        "the token controller to fill it",
        CONTROLLER_TIMEOUT,
        secret_has_token,
    )
    .await
    .expect("the Secret exists");

    let data = secret.data.expect("data");
    assert_eq!(data["namespace"].0, ns.as_bytes(), "namespace key");
    assert_eq!(data["ca.crt"].0, ca_pem(&dir), "ca.crt is the cluster CA");
    let annotations = secret.metadata.annotations.expect("annotations");
    assert_eq!(
        annotations.get("kubernetes.io/service-account.uid"),
        sa.metadata.uid.as_ref(),
        "the Secret names its SA's uid"
    );

    // The token is signed with the key the API server verifies: it authenticates as the SA
    // (which has no permissions, so the answer is a 403 that names it).
    let token = String::from_utf8(data["token"].0.clone()).expect("token is UTF-8");
    // The API server checks a Secret token against its own cache of Secrets, which may not
    // have the filled-in Secret yet for a few milliseconds: a 401 then is asked again.
    let as_sa = token_client(&dir, &token).await;
    let pods = Api::<Pod>::namespaced(as_sa, &ns);
    let mut err = pods
        .list(&ListParams::default())
        .await
        .expect_err("an SA without bindings may not list pods");
    for _ in 0..20 {
        if !matches!(&err, kube::Error::Api(status) if status.code == 401) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        err = pods
            .list(&ListParams::default())
            .await
            .expect_err("an SA without bindings may not list pods");
    }
    assert!(is_forbidden(&err), "expected 403, got {err}");
    assert!(
        err.to_string()
            .contains(&format!("system:serviceaccount:{ns}:tenant")),
        "the 403 names the SA: {err}"
    );
}

/// (b) RBAC is enforced: a TokenRequest token for an SA without bindings is refused (403) on
/// pods in its own namespace, and allowed once a RoleBinding grants ClusterRole `view`.
#[tokio::test]
async fn rbac_is_enforced_for_service_account_tokens() {
    let dir = cluster_dir();
    let admin = admin_client(&dir).await;
    let ns = namespace_with_sa(&admin, "cp-rbac", "reader").await;
    let token = mint_token(&admin, &ns, "reader", Some(600)).await;
    let pods = Api::<Pod>::namespaced(token_client(&dir, &token).await, &ns);

    let err = pods
        .list(&ListParams::default())
        .await
        .expect_err("no bindings yet");
    assert!(is_forbidden(&err), "expected 403, got {err}");
    let msg = api_status(&err).unwrap().message.clone();
    assert!(
        msg.contains(&format!("system:serviceaccount:{ns}:reader")),
        "403 names the SA: {msg}"
    );
    assert!(
        msg.contains(&format!("in the namespace \"{ns}\"")),
        "403 names the namespace: {msg}"
    );

    // Pods elsewhere stay forbidden after the binding; its own namespace becomes readable.
    bind_cluster_role(&admin, &ns, "reader-view", "view", "reader").await;
    let lp = ListParams::default();
    let list = eventually(
        "listing pods after binding `view`",
        Duration::from_secs(30),
        || pods.list(&lp),
    )
    .await;
    assert!(list.items.is_empty());
    let other = Api::<Pod>::namespaced(token_client(&dir, &token).await, "default");
    let err = other
        .list(&ListParams::default())
        .await
        .expect_err("the binding is namespaced");
    assert!(is_forbidden(&err), "expected 403 in `default`, got {err}");
}

/// The ClusterRole aggregation controller fills the built-in `view` ClusterRole (it is empty
/// without it), including reading pods.
#[tokio::test]
async fn builtin_view_clusterrole_is_aggregated() {
    let dir = cluster_dir();
    let admin = admin_client(&dir).await;
    let roles = Api::<ClusterRole>::all(admin);
    let lists_pods = |cr: Option<&ClusterRole>| {
        cr.and_then(|cr| cr.rules.as_ref()).is_some_and(|rules| {
            rules.iter().any(|r| {
                r.resources
                    .as_ref()
                    .is_some_and(|res| res.iter().any(|x| x == "pods"))
                    && r.verbs.iter().any(|v| v == "list")
            })
        })
    };
    wait_for(
        &roles,
        "view",
        "aggregated rules that list pods",
        CONTROLLER_TIMEOUT,
        lists_pods,
    )
    .await;
}

/// A new namespace gets its `default` ServiceAccount (serviceaccount controller) and the
/// `kube-root-ca.crt` ConfigMap (root-CA publisher), and deleting it finishes (namespace
/// controller removes its content and the finalizer).
#[tokio::test]
async fn namespace_lifecycle_controllers_run() {
    let dir = cluster_dir();
    let admin = admin_client(&dir).await;
    let ns = unique_name("cp-nslife");
    let created = create_namespace(&admin, &ns).await;

    let sas = Api::<ServiceAccount>::namespaced(admin.clone(), &ns);
    wait_for(
        &sas,
        "default",
        "the serviceaccount controller to create it",
        CONTROLLER_TIMEOUT,
        exists,
    )
    .await;
    let cms = Api::<ConfigMap>::namespaced(admin.clone(), &ns);
    let cm = wait_for(
        &cms,
        "kube-root-ca.crt",
        "the root-CA publisher to create it",
        CONTROLLER_TIMEOUT,
        exists,
    )
    .await
    .expect("the ConfigMap exists");
    let published = cm.data.expect("data")["ca.crt"].clone();
    assert_eq!(
        published.as_bytes(),
        ca_pem(&dir),
        "kube-root-ca.crt holds the cluster CA"
    );

    // Some content for the namespace controller to delete.
    create_service_account(&admin, &ns, "leftover").await;
    let namespaces = Api::<Namespace>::all(admin.clone());
    namespaces
        .delete(&ns, &DeleteParams::default())
        .await
        .expect("deleting the namespace");
    let uid = created.metadata.uid.expect("uid");
    wait_for(
        &namespaces,
        &ns,
        "the namespace controller to finish deleting it",
        CONTROLLER_TIMEOUT,
        is_deleted(&uid),
    )
    .await;
}

/// NamespaceLifecycle admission is on: a namespace that does not exist refuses objects.
#[tokio::test]
async fn admission_refuses_objects_in_missing_namespace() {
    let dir = cluster_dir();
    let admin = admin_client(&dir).await;
    let ns = unique_name("cp-missing");
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({ "metadata": { "name": "x" } })).unwrap();
    let err = Api::<ServiceAccount>::namespaced(admin, &ns)
        .create(&PostParams::default(), &sa)
        .await
        .expect_err("the namespace does not exist");
    assert_eq!(api_status(&err).map(|s| s.code), Some(404), "got {err}");
}

/// (c) Without kube-controller-manager nothing fills a token Secret, while the API server
/// itself still issues TokenRequest tokens and enforces RBAC.
#[tokio::test]
async fn without_controller_manager_token_secret_stays_empty() {
    let dir = no_kcm_cluster_dir();
    let admin = admin_client(&dir).await;
    let ns = namespace_with_sa(&admin, "cp-nokcm", "tenant").await;
    create_token_secret(&admin, &ns, "tenant-token", "tenant").await;

    let secrets = Api::<Secret>::namespaced(admin.clone(), &ns);
    assert!(
        never_within(
            &secrets,
            "tenant-token",
            Duration::from_secs(5),
            secret_has_token
        )
        .await,
        "a token Secret was filled on the cluster without kube-controller-manager"
    );
    let secret = secrets
        .get("tenant-token")
        .await
        .expect("the Secret still exists");
    assert!(
        !secret_has_token(Some(&secret)),
        "no token: {:?}",
        secret.data.map(|d| d.into_keys().collect::<Vec<_>>())
    );
    let sas = Api::<ServiceAccount>::namespaced(admin.clone(), &ns);
    assert!(
        sas.get_opt("default").await.unwrap().is_none(),
        "no `default` SA without the serviceaccount controller"
    );

    let token = mint_token(&admin, &ns, "tenant", None).await;
    let err = Api::<Pod>::namespaced(token_client(&dir, &token).await, &ns)
        .list(&ListParams::default())
        .await
        .expect_err("an SA without bindings may not list pods");
    assert!(is_forbidden(&err), "expected 403, got {err}");
}

/// The built kubectl works against the cluster with the admin kubeconfig, and with a
/// token kubeconfig written by the helpers.
#[tokio::test]
async fn kubectl_talks_to_the_cluster() {
    let dir = cluster_dir();
    let mut whoami = kubectl(&dir);
    whoami.args([
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    let run = runner::Run::of(&mut whoami).expect_code(0);
    assert_eq!(run.stdout, "kscope-admin");

    let admin = admin_client(&dir).await;
    let ns = namespace_with_sa(&admin, "cp-kubectl", "tenant").await;
    let token = mint_token(&admin, &ns, "tenant", None).await;
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("tenant.kubeconfig");
    write_token_kubeconfig(&dir, &token, Some(&ns), &kubeconfig);
    let run = runner::kubectl_as(kubectl(&dir), &kubeconfig, &["get", "pods"]);
    assert_ne!(
        run.code,
        0,
        "an SA without bindings may not list pods\n{}",
        run.describe()
    );
    run.stderr_contains("Forbidden")
        .stderr_contains(&format!("system:serviceaccount:{ns}:tenant"));
}
