//! One identity across several namespaces, against the real control plane: a grant over
//! three namespaces, whose kubeconfig's three contexts work with the real kubectl in their
//! namespaces and are Forbidden in a fourth; `check` proves all three; removing one
//! namespace from the list removes its binding only; `revoke` leaves nothing.

mod common;
mod runner;

use common::admin;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

/// (namespace, name) of the grant's objects in its other namespaces.
async fn extras(client: &kube::Client, ns: &str, sa: &str) -> (Vec<String>, Vec<String>) {
    let selector = format!("kscope.dev/home={ns},kscope.dev/home-grant={sa}");
    let params = ListParams::default().labels(&selector);
    let names = |items: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>| {
        let mut found: Vec<String> = items
            .into_iter()
            .map(|m| m.namespace.unwrap_or_default())
            .collect();
        found.sort();
        found
    };
    let bindings = Api::<RoleBinding>::all(client.clone())
        .list(&params)
        .await
        .unwrap();
    let roles = Api::<Role>::all(client.clone())
        .list(&params)
        .await
        .unwrap();
    (
        names(bindings.items.into_iter().map(|b| b.metadata).collect()),
        names(roles.items.into_iter().map(|r| r.metadata).collect()),
    )
}

#[tokio::test]
async fn one_identity_in_three_namespaces_and_nowhere_else() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("multi");
    let (staging, prod) = (format!("{ns}-staging"), format!("{ns}-prod"));
    let elsewhere = common::unique_name("multi-elsewhere");
    common::create_namespace(&client, &elsewhere).await;
    let mut kscope = admin(&dir);
    kscope
        .run([
            "grant",
            &ns,
            "deploy",
            "--template",
            "developer",
            "--also-in",
            &staging,
            "--also-in",
            &prod,
        ])
        .expect_code(0);
    let mut both = vec![prod.clone(), staging.clone()];
    both.sort();
    assert_eq!(
        extras(&client, &ns, "deploy").await,
        (both.clone(), both.clone())
    );

    // One kubeconfig, a context per namespace, the home one current.
    let path = kscope.path("deploy.kubeconfig");
    kscope
        .run([
            "kubeconfig",
            &ns,
            "deploy",
            "--output",
            path.to_str().unwrap(),
        ])
        .expect_code(0);
    let run = runner::kubectl_as(
        common::kubectl(&dir),
        &path,
        &["config", "get-contexts", "-o", "name"],
    );
    let contexts: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(contexts.len(), 3, "{}", run.stdout);
    runner::kubectl_as(common::kubectl(&dir), &path, &["config", "current-context"])
        .stdout_starts_with(&format!("{ns}/deploy@"));
    for context in &contexts {
        runner::kubectl_as(
            common::kubectl(&dir),
            &path,
            &["--context", context, "get", "deployments"],
        )
        .expect_code(0);
        runner::kubectl_as(
            common::kubectl(&dir),
            &path,
            &["--context", context, "get", "deployments", "-n", &elsewhere],
        )
        .stderr_contains("Forbidden");
    }
    let namespaces: Vec<String> = contexts
        .iter()
        .map(|c| {
            let run = runner::kubectl_as(
                common::kubectl(&dir),
                &path,
                &[
                    "config",
                    "view",
                    "--minify",
                    "--context",
                    c,
                    "-o",
                    "jsonpath={.contexts[0].context.namespace}",
                ],
            );
            run.stdout
        })
        .collect();
    for wanted in [&ns, &staging, &prod] {
        assert!(namespaces.contains(wanted), "{namespaces:?}");
    }

    // check proves every namespace of the grant, and list shows them.
    let report = kscope
        .run(["check", &ns, "deploy", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    for wanted in [&staging, &prod] {
        assert!(
            report["answers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["namespace"] == wanted.as_str()
                    && a["expected"] == true
                    && a["allowed"] == true),
            "{wanted}"
        );
        assert!(
            report["containment"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["path"].as_str().unwrap().contains(wanted.as_str())
                    && p["refused"] == true),
            "{wanted}: {}",
            report["containment"]
        );
    }
    let listed = kscope
        .run(["list", "-n", &ns, "-o", "json"])
        .expect_code(0)
        .stdout_json();
    assert_eq!(listed["items"][0]["alsoIn"], serde_json::json!(both));
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "no phantom grants"
    );

    // prod leaves the list: its Role and RoleBinding go, the namespace stays.
    kscope
        .run([
            "grant",
            &ns,
            "deploy",
            "--template",
            "developer",
            "--also-in",
            &staging,
        ])
        .expect_code(0);
    assert_eq!(
        extras(&client, &ns, "deploy").await,
        (vec![staging.clone()], vec![staging.clone()])
    );
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone());
    assert!(namespaces.get_opt(&prod).await.unwrap().is_some());

    // No other namespace left: the ServiceAccount's record of them goes too (kscope created
    // it, and its later applies drop what they no longer set).
    kscope
        .run(["grant", &ns, "deploy", "--template", "developer"])
        .expect_code(0);
    assert_eq!(extras(&client, &ns, "deploy").await, (vec![], vec![]));
    let accounts =
        Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), &ns);
    let account = accounts.get("deploy").await.unwrap();
    assert_eq!(
        account.annotations().get("kscope.dev/also-in"),
        None,
        "{:?}",
        account.metadata.annotations
    );

    // revoke leaves nothing of the grant anywhere.
    kscope
        .run(["revoke", &ns, "deploy", "--yes"])
        .expect_code(0);
    assert_eq!(extras(&client, &ns, "deploy").await, (vec![], vec![]));
    let sa = Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(sa.get_opt("deploy").await.unwrap().is_none());
}

#[tokio::test]
async fn a_tenant_set_grants_across_its_namespaces_and_argocd_sees_them_all() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("multiset");
    let other = format!("{ns}-b");
    let mut kscope = admin(&dir);
    let file = kscope.path("set.yaml");
    let write = |namespaces: &str| {
        std::fs::write(
            &file,
            format!(
                "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {{name: {ns}}}\nspec:\n  tenants:\n  - {{namespace: {ns}, serviceAccount: argocd, template: gitops, namespaces: [{namespaces}]}}\n"
            ),
        )
        .unwrap();
    };
    write(&other);
    let f = file.to_str().unwrap().to_string();
    kscope.run(["apply", "-f", &f]).expect_code(0);
    assert_eq!(
        extras(&client, &ns, "argocd").await,
        (vec![other.clone()], vec![other.clone()])
    );
    kscope.run(["check", "-f", &f]).expect_code(0);
    let secret = kscope
        .run(["kubeconfig", &ns, "argocd", "--format", "argocd"])
        .expect_code(0)
        .stdout_yaml();
    assert_eq!(
        secret["stringData"]["namespaces"],
        format!("{ns},{other}").as_str()
    );
    write("");
    kscope.run(["apply", "-f", &f]).expect_code(0);
    assert_eq!(extras(&client, &ns, "argocd").await, (vec![], vec![]));
}

/// A stronger ServiceAccount in one of the grant's other namespaces is a path out there
/// too: `check` names it by its own namespace.
#[tokio::test]
async fn a_stronger_account_in_another_namespace_of_the_grant_is_found() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("multistrong");
    let other = format!("{ns}-b");
    let mut kscope = admin(&dir);
    kscope
        .run([
            "grant",
            &ns,
            "dev",
            "--template",
            "developer",
            "--also-in",
            &other,
        ])
        .expect_code(0);
    common::create_service_account(&client, &other, "builder").await;
    common::bind_cluster_role(&client, &other, "builder-edit", "edit", "builder").await;
    let report = kscope
        .run(["check", &ns, "dev", "-o", "json"])
        .expect_code(3)
        .stdout_json();
    let open: Vec<&str> = report["containment"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["refused"] == false)
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        open,
        [format!("act as ServiceAccount system:serviceaccount:{other}:builder, which holds more than the grant").as_str()],
        "{}",
        report["containment"]
    );
}
