//! Credentials where deployment systems read them, against the real control plane: Argo CD's
//! cluster Secret (a kubeconfig built in the test from its `config` JSON, as Argo CD builds
//! its client, works with the real kubectl in the grant's namespace and nowhere else), Flux's
//! kubeconfig Secret (its `value` is a kubeconfig the real kubectl uses), and the `gitops`
//! template (syncs workloads, reads no Secret, writes no RBAC).

mod common;
mod runner;

use std::path::Path;

use runner::Kscope;
use serde_json::{Value, json};

fn admin(dir: &Path) -> Kscope {
    Kscope::new().kubeconfig(&common::admin_kubeconfig_path(dir))
}

/// The Secret manifest `kubeconfig --format` printed.
fn secret(stdout: &str) -> Value {
    let value: Value = serde_saphyr::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(value["apiVersion"], "v1", "{stdout}");
    assert_eq!(value["kind"], "Secret", "{stdout}");
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
    assert!(run.stderr.contains("credential"), "{}", run.stderr);
    let argo = secret(&run.stdout);
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
    let run = kubectl_as(&dir, &path, &["get", "deployments", "-n", &ns]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for elsewhere in ["default", "kube-system"] {
        let run = kubectl_as(&dir, &path, &["get", "deployments", "-n", elsewhere]);
        assert_ne!(run.code, 0, "{elsewhere}: {}", run.stdout);
        assert!(
            run.stderr.contains("Forbidden"),
            "{elsewhere}: {}",
            run.stderr
        );
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
    let flux = secret(&run.stdout);
    assert_eq!(flux["metadata"]["namespace"], "flux-system");
    let value = flux["stringData"]["value"].as_str().unwrap();
    let path = kscope.path("flux.kubeconfig");
    std::fs::write(&path, value).unwrap();
    let run = kubectl_as(&dir, &path, &["get", "configmaps"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = kubectl_as(&dir, &path, &["get", "configmaps", "-n", "default"]);
    assert!(run.stderr.contains("Forbidden"), "{}", run.stderr);

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
    let run = kscope
        .run(["kubeconfig", "ns", "sa", "--format", "flux"])
        .expect_code(2);
    assert!(run.stderr.contains("--secret-namespace"), "{}", run.stderr);
    let run = kscope
        .run(["kubeconfig", "ns", "sa", "--name", "prod"])
        .expect_code(2);
    assert!(run.stderr.contains("--format argocd"), "{}", run.stderr);
}
