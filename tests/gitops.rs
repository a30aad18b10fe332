//! Credentials where deployment systems read them, against the real control plane: Argo CD's
//! cluster Secret (a kubeconfig built in the test from its `config` JSON, as Argo CD builds
//! its client, works with the real kubectl in the grant's namespace and nowhere else), Flux's
//! kubeconfig Secret (its `value` is a kubeconfig the real kubectl uses), and the `gitops`
//! template (syncs workloads, reads no Secret, writes no RBAC).

mod common;
mod runner;

use std::path::Path;

use common::admin;
use runner::{Kscope, Run};
use serde_json::{Value, json};

/// The Secret manifest `kubeconfig --format` printed.
fn secret(run: &Run) -> Value {
    let value = run.stdout_yaml();
    assert_eq!(value["apiVersion"], "v1", "{}", run.stdout);
    assert_eq!(value["kind"], "Secret", "{}", run.stdout);
    value
}

fn kubectl_as(dir: &Path, kubeconfig: &Path, args: &[&str]) -> runner::Run {
    runner::kubectl_as(common::kubectl(dir), kubeconfig, args)
}

#[tokio::test]
async fn the_argocd_and_flux_secrets_hold_a_credential_scoped_to_the_grant() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("gitops");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "argocd", "--template", "gitops"])
        .expect_code(0);

    let run = kscope
        .run(["kubeconfig", &ns, "argocd", "--format", "argocd"])
        .expect_code(0);
    run.stderr_contains("credential");
    let argo = secret(&run);
    assert_eq!(argo["metadata"]["namespace"], "argocd");
    assert_eq!(
        argo["metadata"]["labels"]["argocd.argoproj.io/secret-type"],
        "cluster"
    );
    let data = &argo["stringData"];
    assert_eq!(data["namespaces"], ns.as_str());
    assert_eq!(data["clusterResources"], "false");
    assert!(data["name"].as_str().unwrap().contains(&ns), "{data}");
    let config: Value = serde_json::from_str(data["config"].as_str().unwrap()).unwrap();
    assert_eq!(config["tlsClientConfig"]["insecure"], false);
    // As Argo CD builds its client: server, the CA (base64 of the PEM) and the bearer token.
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "argo", "cluster": {
            "server": data["server"],
            "certificate-authority-data": config["tlsClientConfig"]["caData"],
        }}],
        "users": [{"name": "argo", "user": {"token": config["bearerToken"]}}],
        "contexts": [{"name": "argo", "context": {"cluster": "argo", "user": "argo"}}],
        "current-context": "argo",
    });
    let path = kscope.path("argo.kubeconfig");
    std::fs::write(&path, kubeconfig.to_string()).unwrap();
    kubectl_as(&dir, &path, &["get", "deployments", "-n", &ns]).expect_code(0);
    for elsewhere in ["default", "kube-system"] {
        let run = kubectl_as(&dir, &path, &["get", "deployments", "-n", elsewhere]);
        assert_ne!(run.code, 0, "{elsewhere}: {}", run.describe());
        run.stderr_contains("Forbidden");
    }

    // Flux: the kubeconfig under `value`, in the namespace given.
    let run = kscope
        .run([
            "kubeconfig",
            &ns,
            "argocd",
            "--format",
            "flux",
            "--secret-namespace",
            "flux-system",
        ])
        .expect_code(0);
    let flux = secret(&run);
    assert_eq!(flux["metadata"]["namespace"], "flux-system");
    let value = flux["stringData"]["value"].as_str().unwrap();
    let path = kscope.path("flux.kubeconfig");
    std::fs::write(&path, value).unwrap();
    kubectl_as(&dir, &path, &["get", "configmaps"]).expect_code(0);
    kubectl_as(&dir, &path, &["get", "configmaps", "-n", "default"]).stderr_contains("Forbidden");

    // The gitops template syncs workloads, and reads no Secret and writes no RBAC.
    let manifest = kscope.path("app.yaml");
    std::fs::write(
        &manifest,
        json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"}, "data": {"k": "v"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app"},
             "spec": {"ports": [{"port": 80}], "selector": {"app": "app"}}},
        ]})
        .to_string(),
    )
    .unwrap();
    let run = kubectl_as(
        &dir,
        &path,
        &["apply", "--server-side", "-f", manifest.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (verb, what) in [
        ("get", "secrets"),
        ("create", "rolebindings.rbac.authorization.k8s.io"),
    ] {
        let run = kubectl_as(&dir, &path, &["auth", "can-i", verb, what]);
        assert_eq!(run.stdout.trim(), "no", "{verb} {what}: {}", run.stderr);
    }
    kscope.run(["check", &ns, "argocd"]).expect_code(0);
}

#[test]
fn flux_needs_the_namespace_its_secret_goes_to() {
    let mut kscope = Kscope::new().env("KUBECONFIG", "/nonexistent/kubeconfig");
    kscope
        .run(["kubeconfig", "ns", "sa", "--format", "flux"])
        .expect_code(2)
        .stderr_contains("--secret-namespace");
    kscope
        .run(["kubeconfig", "ns", "sa", "--name", "prod"])
        .expect_code(2)
        .stderr_contains("--format argocd");
}

/// A kubeconfig for the workload cluster holding `token`.
fn with_token(kscope: &Kscope, dir: &Path, token: &str, name: &str) -> std::path::PathBuf {
    let path = kscope.path(name);
    common::write_token_kubeconfig(dir, token, None, &path);
    path
}

#[tokio::test]
async fn a_delivered_secret_is_sent_once_and_rotate_updates_it_in_place() {
    let (workload, management) = (common::cluster_dir(), common::faults_cluster_dir());
    let kscope = Kscope::new();
    let kubeconfig = common::two_clusters(&workload, &management, kscope.home());
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    let ns = common::unique_name("deliver");
    kscope
        .run([
            "--context",
            "one",
            "grant",
            &ns,
            "argocd",
            "--template",
            "gitops",
        ])
        .expect_code(0);
    let mgmt = common::admin_client(&management).await;
    let argocd = common::unique_name("argocd");
    common::create_namespace(&mgmt, &argocd).await;
    let deliver = common::deliver_to_argocd(&ns, "argocd", &argocd);
    let run = kscope.run(&deliver).expect_code(0);
    // Nothing printed: the credential went to the management cluster.
    run.stdout_is_empty()
        .stderr_contains("created in context two");
    let listed = kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(mgmt.clone(), &argocd)
        .list(&kube::api::ListParams::default().labels("argocd.argoproj.io/secret-type=cluster"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "one cluster Secret delivered");
    let name = listed.items[0].metadata.name.clone().unwrap();
    assert!(
        name.starts_with("kscope.") && name.ends_with(&format!(".{ns}.argocd")),
        "{name}"
    );
    let (token, version) = common::delivered_token(&mgmt, &argocd, &name).await;
    // The token is never printed.
    run.stderr_lacks(&token);
    let path = with_token(&kscope, &workload, &token, "delivered.kubeconfig");
    let run = runner::kubectl_as(
        common::kubectl(&workload),
        &path,
        &["get", "deployments", "-n", &ns],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Again, with the same long-lived token: nothing is sent.
    kscope
        .run(&deliver)
        .expect_code(0)
        .stderr_contains("nothing was sent");
    assert_eq!(
        common::delivered_token(&mgmt, &argocd, &name).await.1,
        version
    );

    // rotate puts the new token there, in place; the old one is refused.
    let run = kscope.run([
        "--context",
        "one",
        "rotate",
        &ns,
        "argocd",
        "-o",
        kscope.path("rotated.kubeconfig").to_str().unwrap(),
    ]);
    run.expect_code(0).stderr_contains(&format!(
        "the new credential is in Secret {argocd}/{name} in context two"
    ));
    let (rotated, _) = common::delivered_token(&mgmt, &argocd, &name).await;
    assert_ne!(rotated, token);
    let path = with_token(&kscope, &workload, &rotated, "rotated-token.kubeconfig");
    let run = runner::kubectl_as(
        common::kubectl(&workload),
        &path,
        &["get", "deployments", "-n", &ns],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let old = with_token(&kscope, &workload, &token, "old.kubeconfig");
    let run = runner::kubectl_as(
        common::kubectl(&workload),
        &old,
        &["get", "deployments", "-n", &ns],
    );
    assert_ne!(run.code, 0, "the old token is refused\n{}", run.describe());
    run.stderr_contains_any(&["Unauthorized", "must be logged in"]);
}

#[tokio::test]
async fn apply_delivers_each_tenants_secret_and_prune_takes_it_away() {
    let (workload, management) = (common::cluster_dir(), common::faults_cluster_dir());
    let kscope = Kscope::new();
    let kubeconfig = common::two_clusters(&workload, &management, kscope.home());
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    let mgmt = common::admin_client(&management).await;
    let argocd = common::unique_name("argocd-set");
    common::create_namespace(&mgmt, &argocd).await;
    let ns = common::unique_name("delivered-set");
    let set = common::unique_name("delivered");
    let set_path = kscope.path("set.yaml");
    let write = |tenants: &[String]| {
        let mut text = format!(
            "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {{name: {set}}}\nspec:\n  defaults: {{template: gitops}}\n  tenants:\n"
        );
        for tenant in tenants {
            text.push_str(&format!("  - {tenant}\n"));
        }
        std::fs::write(&set_path, text).unwrap();
        set_path.clone()
    };
    let keep = format!("{{namespace: {ns}, serviceAccount: keep}}");
    let delivered = format!(
        "{{namespace: {ns}, serviceAccount: argocd, kubeconfig: {{format: argocd, deliverTo: two, secretNamespace: {argocd}}}}}"
    );
    let file = write(&[keep.clone(), delivered]);
    let f = file.to_str().unwrap().to_string();
    let apply = |kscope: &mut Kscope, extra: &[&str]| {
        let mut args = vec!["--context", "one", "apply", "-f", &f, "-o", "json"];
        args.extend(extra);
        let parsed = kscope.run(&args).expect_code(0).stdout_json();
        parsed["items"].as_array().unwrap().clone()
    };
    let items = apply(&mut kscope, &[]);
    let said = |items: &[Value], sa: &str| -> String {
        items
            .iter()
            .find(|i| i["serviceAccount"] == sa)
            .map(|i| i["delivered"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert!(said(&items, "argocd").contains("(created)"), "{items:?}");
    assert_eq!(said(&items, "keep"), "");
    let secrets =
        kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(mgmt.clone(), &argocd);
    let cluster_secrets =
        |list: kube::core::ObjectList<k8s_openapi::api::core::v1::Secret>| list.items.len();
    let selector =
        kube::api::ListParams::default().labels("argocd.argoproj.io/secret-type=cluster");
    assert_eq!(cluster_secrets(secrets.list(&selector).await.unwrap()), 1);

    // Again: the Secret already holds the credential.
    let items = apply(&mut kscope, &[]);
    assert!(said(&items, "argocd").contains("(unchanged)"), "{items:?}");

    // The tenant leaves the file: prune revokes it and takes its Secret away.
    write(&[keep]);
    let items = apply(&mut kscope, &["--prune", "--yes"]);
    let pruned = items
        .iter()
        .find(|i| i["serviceAccount"] == "argocd")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(pruned["result"], "pruned", "{pruned}");
    assert!(
        pruned["delivered"].as_str().unwrap().contains("deleted"),
        "{pruned}"
    );
    assert_eq!(cluster_secrets(secrets.list(&selector).await.unwrap()), 0);
}
