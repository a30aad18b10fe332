//! Proof of least privilege against the real control plane: `check --all-resources` over a
//! CRD, `audit` finding a cluster-admin token, and templates that escalate refused. (A binding
//! to a broad group changes every ServiceAccount's access, so that test runs on the faults
//! control plane, in tests/faults.rs.)

mod common;
mod runner;

use std::time::Duration;

use common::admin;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn all_resources_covers_a_crd_by_the_roles_own_rules() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let group = format!("{}.kscope.test", common::unique_name("g"));
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}],
        },
    }))
    .unwrap();
    let crds = Api::<CustomResourceDefinition>::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let ns = common::unique_name("allres");
    let mut kscope = admin(&dir);
    // The walkthrough's own Role (every group): the built-in namespace-admin names the
    // built-in groups only, so the CRD's group is the role's own rules' to cover.
    let role = common::walkthrough_role(kscope.home());
    kscope
        .run(["grant", &ns, "admin", "--template", &role])
        .expect_code(0);
    // developer in a namespace of its own: beside namespace-admin it could run pods as it.
    let dev_ns = common::unique_name("allres-dev");
    kscope
        .run(["grant", &dev_ns, "dev", "--template", "developer"])
        .expect_code(0);
    let templates = kscope.home().to_str().unwrap().to_string();
    let widget = |ns: &str, sa: &'static str| {
        let mut kscope = admin(&dir);
        let (ns, group, templates) = (ns.to_string(), group.clone(), templates.clone());
        async move {
            // One access review per question, so that each answer names its source.
            let run = kscope.run([
                "check",
                &ns,
                sa,
                "--template-dir",
                &templates,
                "--all-resources",
                "--access-reviews",
                "-o",
                "json",
            ]);
            if run.code != 0 {
                return Err(format!("exit {}: {}{}", run.code, run.stdout, run.stderr));
            }
            let report: serde_json::Value =
                serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
            report["answers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| {
                    a["group"] == group.as_str()
                        && a["namespace"] == ns.as_str()
                        && a["verb"] == "list"
                })
                .cloned()
                .ok_or_else(|| "the CRD is not served yet".to_string())
        }
    };
    let for_admin = common::eventually(
        "the CRD in --all-resources",
        Duration::from_secs(30),
        || widget(&ns, "admin"),
    )
    .await;
    assert_eq!(for_admin["allowed"], true, "{for_admin}");
    assert_eq!(for_admin["expected"], true, "{for_admin}");
    assert!(
        for_admin["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("RoleBinding"),
        "{for_admin}"
    );
    let for_dev = common::eventually("the CRD for developer", Duration::from_secs(30), || {
        widget(&dev_ns, "dev")
    })
    .await;
    assert_eq!(for_dev["allowed"], false, "{for_dev}");
    assert_eq!(for_dev["expected"], false, "{for_dev}");
    // Subresources are asked too, with the subresource apart: developer may exec into the
    // pods of its own namespace and nowhere else.
    let run = kscope
        .run(["check", &dev_ns, "dev", "--all-resources", "-o", "json"])
        .expect_code(0);
    let report = run.stdout_json();
    let exec: Vec<(String, bool)> = report["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["group"] == "" && a["resource"] == "pods" && a["subresource"] == "exec")
        .filter(|a| a["verb"] == "create")
        .map(|a| {
            assert_eq!(a["allowed"], a["expected"], "{a}");
            (
                a["namespace"].as_str().unwrap().to_string(),
                a["allowed"] == true,
            )
        })
        .collect();
    assert_eq!(
        exec,
        [
            (dev_ns.clone(), true),
            ("default".to_string(), false),
            ("kube-system".to_string(), false)
        ],
        "{}",
        run.stdout
    );
    crds.delete(&format!("widgets.{group}"), &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn audit_finds_a_long_lived_token_of_a_cluster_admin_service_account() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("audit");
    common::create_namespace(&client, &ns).await;
    common::create_service_account(&client, &ns, "root").await;
    let binding_name = common::unique_name("audit-root");
    common::bind_cluster_admin(&client, &binding_name, &ns, "root").await;
    common::create_token_secret(&client, &ns, "root-token", "root").await;
    let secrets = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &ns);
    common::wait_for(
        &secrets,
        "root-token",
        "its token",
        common::CONTROLLER_TIMEOUT,
        |s: Option<&k8s_openapi::api::core::v1::Secret>| common::secret_has_token(s),
    )
    .await;

    let mut kscope = admin(&dir);
    let run = kscope
        .run(["audit", "-n", &ns, "-o", "json"])
        .expect_code(3);
    let found = run.stdout_json();
    assert_eq!(found["kind"], "FindingList");
    let high = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["severity"] == "high" && f["object"] == format!("Secret {ns}/root-token").as_str()
        })
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        high["message"].as_str().unwrap().contains(&format!(
            "ClusterRoleBinding {binding_name} gives everything"
        )),
        "{high}"
    );
    // Fewer than high does not fail by default; --fail-on low does.
    common::unbind_cluster_wide(&client, &binding_name).await;
    // A token made seconds ago is not "unused" under the default 30 days; under 1s it is.
    kscope
        .run(["audit", "-n", &ns])
        .expect_code(0)
        .stdout_lacks("never used");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    kscope
        .run(["audit", "-n", &ns, "--unused-for", "1s"])
        .expect_code(0)
        .stdout_contains("was never used")
        .stdout_contains("KSCOPE-TOKEN-UNUSED");
    kscope
        .run([
            "audit",
            "-n",
            &ns,
            "--unused-for",
            "1s",
            "--fail-on",
            "medium",
        ])
        .expect_code(3);
}

#[tokio::test]
async fn a_template_that_escalates_is_refused_unless_allowed() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("escalating");
    let mut kscope = admin(&dir);
    let template = kscope.path("binder.yaml");
    std::fs::write(
        &template,
        "name: binder\ndescription: may bind roles\nrules:\n- {apiGroups: [rbac.authorization.k8s.io], resources: [roles, rolebindings], verbs: [get, create, bind]}\n",
    )
    .unwrap();
    let t = template.to_str().unwrap();
    kscope
        .run(["grant", &ns, "app", "--template", t])
        .expect_code(2)
        .stderr_contains("template binder lets the tenant step outside its grant: rule 1 grants bind on roles, rolebindings");
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_none(),
        "nothing created"
    );
    kscope
        .run(["grant", &ns, "app", "--template", t, "--allow-escalation"])
        .expect_code(0);
    // The default matrix asks about the escalating verbs too, and the grant explains them.
    kscope
        .run(["check", &ns, "app", "--template", t])
        .expect_code(0)
        .stdout_contains("BIND");
}
