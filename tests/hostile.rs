//! What a tenant writes or hands back is data, never instructions: a kubeconfig handed to
//! `check` runs nothing, an access record names no file, and text from the cluster cannot
//! drive the admin's terminal. Against the real control plane, through the built binary.

mod common;
mod runner;

use common::admin;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

/// "Please check my kubeconfig": the file's exec plugin would run on the admin's machine.
#[tokio::test]
async fn a_handed_in_kubeconfig_with_an_exec_plugin_runs_nothing() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("handed");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "ci", "--template", "read-only"])
        .expect_code(0);
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("the-plugin-ran");
    let plugin = work.path().join("plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"x\"}}}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = work.path().join("tenant.kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {plugin}\n      interactiveMode: Never\ncontexts:\n- name: x\n  context: {{cluster: c, user: u, namespace: {ns}}}\ncurrent-context: x\n",
        server = common::server_url(&dir),
        ca = common::ca_data_base64(&dir),
        plugin = plugin.display(),
    );
    std::fs::write(&file, text).unwrap();
    kscope
        .run([
            "check",
            &ns,
            "ci",
            "--kubeconfig-file",
            file.to_str().unwrap(),
        ])
        .expect_code(2)
        .stderr_contains("an exec plugin")
        .stderr_contains("--trust-kubeconfig-file");
    assert!(!marker.exists(), "the handed-in exec plugin ran");
}

/// The access record is on the ServiceAccount, which a tenant may be able to write: a
/// `template/<path>` record must never make `check` read that file.
#[tokio::test]
async fn an_access_record_that_names_a_path_is_refused() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("record");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "ci", "--template", "read-only"])
        .expect_code(0);
    let work = tempfile::tempdir().unwrap();
    let planted = work.path().join("planted.yaml");
    std::fs::write(
        &planted,
        "name: planted\ndescription: everything\nrules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n",
    )
    .unwrap();
    for record in [
        format!("template/{}", planted.display()),
        "template/../../planted.yaml".to_string(),
    ] {
        let patch = json!({"metadata": {"annotations": {"kscope.dev/access": record}}});
        Api::<ServiceAccount>::namespaced(client.clone(), &ns)
            .patch("ci", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        kscope
            .run(["check", &ns, "ci"])
            .about(format!("kscope.dev/access: {record}"))
            .expect_code(1)
            .stderr_contains("unknown kscope.dev/access");
    }
}

/// A subject name is free text: one that holds terminal escapes is printed escaped.
#[tokio::test]
async fn escape_sequences_from_the_cluster_are_printed_escaped() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("escapes");
    // A bare namespace (no Pod Security label): pod makers there are a finding that names
    // its subjects.
    common::create_bare_namespace(&client, &ns).await;
    let evil = "mallory\u{1b}[2J\u{1b}]0;owned\u{7}";
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "weird"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [
            {"kind": "User", "name": evil, "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "ServiceAccount", "name": "ghost", "namespace": ns},
        ],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    admin(&dir)
        .run(["audit", "-n", &ns, "--fail-on", "high"])
        .stdout_contains(&format!("RoleBinding {ns}/weird"))
        .stdout_contains("User mallory\\u{1b}[2J\\u{1b}]0;owned\\u{7}")
        // No raw escape or BEL reaches the terminal.
        .stdout_lacks("\u{1b}")
        .stderr_lacks("\u{1b}")
        .stdout_lacks("\u{7}");
}

/// kscope's label on an object kscope never applied does not make it kscope's: it is not
/// taken over without --adopt, and with --adopt kscope applies it, and owns it from then on.
#[tokio::test]
async fn a_label_alone_does_not_make_an_object_kscopes() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("labelled");
    common::create_namespace(&client, &ns).await;
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "ci", "labels": {
            "app.kubernetes.io/managed-by": "kscope",
            "kscope.dev/grant": "ci",
        }},
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "ci", "--template", "read-only"])
        .expect_code(1)
        .stderr_contains("not managed by kscope")
        .stderr_contains("--adopt");
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    let before = accounts.get("ci").await.unwrap();
    assert_eq!(
        common::applied_by(&before.metadata, "kscope"),
        None,
        "refused, yet kscope applied the ServiceAccount"
    );

    kscope
        .run(["grant", &ns, "ci", "--template", "read-only", "--adopt"])
        .expect_code(0);
    // Adopted: kscope's own apply now holds the labels and records the access.
    let adopted = accounts.get("ci").await.unwrap();
    let fields = common::applied_by(&adopted.metadata, "kscope").unwrap_or_else(|| {
        panic!(
            "kscope never applied the adopted ServiceAccount: {:?}",
            adopted.metadata.managed_fields
        )
    });
    for label in ["app.kubernetes.io/managed-by", "kscope.dev/grant"] {
        assert!(
            fields["f:metadata"]["f:labels"]
                .get(format!("f:{label}"))
                .is_some(),
            "kscope's apply does not hold {label}: {fields}"
        );
    }
    let labels = adopted.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kscope");
    assert_eq!(labels["kscope.dev/grant"], "ci");
    let annotations = adopted.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get("kscope.dev/access").map(String::as_str),
        Some("template/read-only"),
        "{annotations:?}"
    );
    // From now on it is kscope's: the same grant needs no --adopt, and the grant holds.
    kscope
        .run(["grant", &ns, "ci", "--template", "read-only"])
        .expect_code(0);
    kscope.run(["check", &ns, "ci"]).expect_code(0);
}

/// Without the guard, a tenant whose role reaches its Namespace (the walkthrough's own Role)
/// could have written kscope's marks on it: --delete-namespace then refuses rather than trust
/// them.
#[tokio::test]
async fn delete_namespace_refuses_when_the_tenant_could_have_forged_its_marks() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("origin");
    let mut kscope = admin(&dir);
    // The walkthrough's own Role: RBAC lets it change its Namespace, only the guard refuses.
    let role = common::walkthrough_role(kscope.home());
    kscope
        .run(["grant", &ns, "admin", "--template", &role])
        .expect_code(0);
    common::untenant_namespace(&client, &ns).await;
    kscope
        .run(["revoke", &ns, "admin", "--yes", "--delete-namespace"])
        .expect_code(1)
        .stderr_contains("cannot tell whether it created");
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get_opt("admin")
        .await
        .unwrap();
    assert!(sa.is_some(), "nothing was deleted");
    kscope.run(["revoke", &ns, "admin", "--yes"]).expect_code(0);
}

/// The rbac-defaults label is one anyone who may write bindings can set: a "default" binding
/// of a broad group that Kubernetes does not make is a finding, not part of the baseline. (Its
/// role grants only a resource no server here serves, so no other test sees the change.)
#[tokio::test]
async fn a_forged_default_binding_is_found_by_audit() {
    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    use kube::api::DeleteParams;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let name = common::unique_name("forged-default");
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name},
        "rules": [{"apiGroups": ["forged.kscope.test"], "resources": ["widgets"], "verbs": ["get"]}],
    }))
    .unwrap();
    let binding_name = format!("system:{name}");
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": binding_name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "Group", "name": "system:authenticated",
            "apiGroup": "rbac.authorization.k8s.io"}],
    }))
    .unwrap();
    let roles = Api::<ClusterRole>::all(client.clone());
    let bindings = Api::<ClusterRoleBinding>::all(client.clone());
    roles.create(&PostParams::default(), &role).await.unwrap();
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let run = admin(&dir).run(["audit", "-o", "json", "--fail-on", "high"]);
    bindings
        .delete(&binding_name, &DeleteParams::default())
        .await
        .unwrap();
    roles.delete(&name, &DeleteParams::default()).await.unwrap();
    assert_eq!(run.code, 3, "{}", run.stderr);
    let found: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let about: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"] == format!("ClusterRoleBinding {binding_name}").as_str())
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        about
            .iter()
            .any(|m| m.contains("is not one of Kubernetes' own")),
        "{about:?}"
    );
    assert!(
        about
            .iter()
            .any(|m| m.contains("more than every user gets")),
        "{about:?}"
    );
}
