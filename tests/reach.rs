//! A grant is proven in every namespace a binding of its ServiceAccount reaches, not only in
//! its own, `default` and `kube-system`: a RoleBinding elsewhere that gives the tenant more is
//! a difference naming the binding, and a check that could not look says so.

mod common;
mod runner;

use common::admin;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use serde_json::{Value, json};

/// The answers of a check's JSON about `resource` in `namespace`.
fn answers_in<'a>(check: &'a Value, namespace: &str, resource: &str) -> Vec<&'a Value> {
    check["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .filter(|a| a["namespace"] == namespace && a["resource"] == resource)
        .collect()
}

/// Binds ServiceAccount `app` of `tenant` to the ClusterRole `edit` (Secrets included) by a
/// RoleBinding in namespace `there`, written by hand; returns the API and the binding's name.
async fn bind_edit_in(
    client: &kube::Client,
    there: &str,
    tenant: &str,
) -> (Api<RoleBinding>, String) {
    let name = common::unique_name("extra");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": there},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [common::service_account_subject(tenant, "app")],
    }))
    .unwrap();
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), there);
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    (bindings, name)
}

#[tokio::test]
async fn a_binding_in_a_third_namespace_is_asked_and_named_and_an_unread_one_is_said() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = common::unique_name("reach");
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(0);
    let before = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    assert_eq!(before["bindingsRead"], true, "{before}");
    assert_eq!(
        before["namespaces"],
        json!([ns, "default", "kube-system"]),
        "{before}"
    );

    // Someone binds the tenant's ServiceAccount to `edit` (Secrets included) in namespace b.
    let b = common::unique_name("third");
    common::create_namespace(&client, &b).await;
    let (bindings, binding_name) = bind_edit_in(&client, &b, &ns).await;
    // The tenant really reads b's Secrets: the attack the check must see.
    let kc = kscope.home().join("app.kubeconfig");
    kscope
        .run(["kubeconfig", &ns, "app", "--output", kc.to_str().unwrap()])
        .expect_code(0);
    runner::Run::of(
        common::kubectl(&dir)
            .env("KUBECONFIG", &kc)
            .args(["get", "secrets", "-n", &b]),
    )
    .expect_code(0);

    let after = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(3)
        .stdout_json();
    assert!(
        after["namespaces"].as_array().unwrap().contains(&json!(b)),
        "{after}"
    );
    let secrets = answers_in(&after, &b, "secrets");
    assert!(
        secrets.iter().any(|a| a["allowed"] == true
            && a["expected"] == false
            && a["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(&binding_name)),
        "a read of b's Secrets is a difference naming the binding: {secrets:?}"
    );
    kscope
        .run(["check", &ns, "app"])
        .expect_code(3)
        .stdout_contains(&format!(
            "asked in namespaces: {ns}, default, kube-system, {b}"
        ))
        .stdout_contains(&binding_name);
    kscope
        .run(["check", &ns, "app", "--all-resources"])
        .expect_code(3)
        .stdout_contains(&binding_name);

    // The tenant checking itself may not read bindings everywhere: it says what it proved,
    // and that other namespaces were not.
    runner::Kscope::new()
        .kubeconfig(&kc)
        .run([
            "check",
            &ns,
            "app",
            "--kubeconfig-file",
            kc.to_str().unwrap(),
        ])
        .stdout_contains(&format!(
            "asked in namespaces: {ns}, default, kube-system\n"
        ))
        .stdout_contains("not proved: other namespaces");

    bindings
        .delete(&binding_name, &DeleteParams::default())
        .await
        .unwrap();
    common::delete_namespace(&client, &b).await;
}

#[tokio::test]
async fn check_f_asks_each_tenant_where_its_bindings_reach_from_one_read() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let set = common::unique_name("reachset");
    let lines = [
        format!("{{namespace: {set}-a, serviceAccount: app}}"),
        format!("{{namespace: {set}-b, serviceAccount: app}}"),
    ];
    let file = common::set_file(kscope.home(), &set, &lines);
    let f = file.to_str().unwrap();
    kscope.run(["apply", "-f", f]).expect_code(0);
    let before = kscope
        .run(["check", "-f", f, "-o", "json"])
        .expect_code(0)
        .stdout_json();
    for item in before["items"].as_array().unwrap() {
        assert_eq!(item["bindingsRead"], true, "{item}");
    }

    // Tenant a, and only a, is bound to `edit` in a third namespace.
    let third = common::unique_name("third");
    common::create_namespace(&client, &third).await;
    let (bindings, binding_name) = bind_edit_in(&client, &third, &format!("{set}-a")).await;

    let after = kscope
        .run(["check", "-f", f, "-o", "json"])
        .expect_code(3)
        .stdout_json();
    let items = after["items"].as_array().unwrap();
    let item = |ns: String| {
        items
            .iter()
            .find(|i| i["namespace"] == ns.as_str())
            .unwrap_or_else(|| panic!("no item for {ns}: {after}"))
    };
    let a = item(format!("{set}-a"));
    assert_eq!(a["result"], "differs", "{a}");
    assert!(a["reasons"].to_string().contains(&binding_name), "{a}");
    assert!(
        a["namespaces"].as_array().unwrap().contains(&json!(third)),
        "{a}"
    );
    let b = item(format!("{set}-b"));
    assert_eq!(b["result"], "ok", "{b}");
    assert!(
        !b["namespaces"].as_array().unwrap().contains(&json!(third)),
        "{b}"
    );

    bindings
        .delete(&binding_name, &DeleteParams::default())
        .await
        .unwrap();
    common::delete_namespace(&client, &third).await;
}
