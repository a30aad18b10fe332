//! Proof that never overclaims, where authorization goes beyond RBAC: on the control plane
//! whose authorizer chain ends in a webhook (`tests/cluster/up --authz-webhook`, as managed
//! clusters run), driven by rule files. A webhook that allows the tenant more is a difference;
//! one that fails is "unproven", never a pass; a neighbour it makes powerful is a path out;
//! `audit` says that its RBAC findings cannot see the webhook; a tenant the webhook leaves
//! alone passes. And a binding of every ServiceAccount (`system:serviceaccounts`) in some
//! namespace is reported by every tenant's check.

mod common;
mod runner;

use std::path::Path;

use common::admin;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use runner::Kscope;
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// The test that binds every ServiceAccount of the cluster takes this for writing: every other
/// test here checks tenants, whose answers that binding changes.
static EVERY_ACCOUNT: RwLock<()> = RwLock::const_new(());

/// A fresh grant of `app` in a new namespace, with `template`.
fn granted(kscope: &mut Kscope, prefix: &str, template: &str) -> String {
    let ns = common::unique_name(prefix);
    kscope
        .run(["grant", &ns, "app", "--template", template])
        .expect_code(0);
    ns
}

fn user(ns: &str, sa: &str) -> String {
    format!("system:serviceaccount:{ns}:{sa}")
}

/// The answers of a check's JSON about `verb` `resource` in `namespace`.
fn answer<'a>(check: &'a Value, namespace: &str, resource: &str, verb: &str) -> &'a Value {
    check["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .find(|a| a["namespace"] == namespace && a["resource"] == resource && a["verb"] == verb)
        .unwrap_or_else(|| panic!("no answer for {verb} {resource} in {namespace}: {check}"))
}

fn rules(dir: &Path, name: &str, rules: Value) {
    common::webhook_rules(dir, name, &rules);
}

#[tokio::test]
async fn a_tenant_the_webhook_gives_nothing_passes_and_the_check_says_what_it_did() {
    let _shared = EVERY_ACCOUNT.read().await;
    let dir = common::webhook_cluster_dir();
    let mut kscope = admin(&dir);
    let ns = granted(&mut kscope, "whnone", "read-only");
    let check = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    let beyond = &check["beyondRbac"];
    assert!(
        beyond["evaluationError"]
            .as_str()
            .unwrap_or_default()
            .contains("webhook authorizer"),
        "{check}"
    );
    // Every rules review is incomplete there: every answer is an access review's.
    assert!(
        check["answers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["answeredBy"] == "SelfSubjectAccessReview"),
        "{check}"
    );
    kscope
        .run(["check", &ns, "app"])
        .expect_code(0)
        .stdout_contains("authorization goes beyond RBAC")
        .stdout_contains("paths out of the namespace are refused");
}

#[tokio::test]
async fn a_webhook_that_allows_the_tenant_more_is_a_difference_naming_it() {
    let _shared = EVERY_ACCOUNT.read().await;
    let dir = common::webhook_cluster_dir();
    let mut kscope = admin(&dir);
    let ns = granted(&mut kscope, "whallow", "read-only");
    rules(
        &dir,
        &ns,
        json!([{"user": user(&ns, "app"), "namespace": "default", "resource": "secrets",
                "decision": "allow"}]),
    );
    let check = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(3)
        .stdout_json();
    let secrets = answer(&check, "default", "secrets", "list");
    assert_eq!(secrets["allowed"], true, "{check}");
    assert!(
        secrets["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("kscope-test-webhook"),
        "{check}"
    );
    kscope
        .run(["check", &ns, "app"])
        .expect_code(3)
        .stdout_contains("! in default, list secrets: kscope-test-webhook");
    rules(&dir, &ns, json!([]));
}

#[tokio::test]
async fn a_webhook_that_fails_for_the_tenant_is_unproven_never_a_pass() {
    let _shared = EVERY_ACCOUNT.read().await;
    let dir = common::webhook_cluster_dir();
    let mut kscope = admin(&dir);
    let ns = granted(&mut kscope, "wherr", "read-only");
    // It fails on Secrets in default, and on the node-escaping pod's dry run in the tenant's
    // own namespace (which RBAC refuses a read-only tenant, so the webhook is asked).
    rules(
        &dir,
        &ns,
        json!([
            {"user": user(&ns, "app"), "namespace": "default", "resource": "secrets",
             "verb": "list", "decision": "error"},
            {"user": user(&ns, "app"), "namespace": ns, "resource": "pods", "verb": "create",
             "decision": "error", "httpStatus": 503}
        ]),
    );
    let check = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(1)
        .stdout_json();
    let secrets = answer(&check, "default", "secrets", "list");
    assert_eq!(secrets["allowed"], false, "{check}");
    assert!(secrets["evaluationError"].is_string(), "{check}");
    let pod = check["containment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "host-pod")
        .expect("host-pod probe");
    assert_eq!(pod["refused"], false, "{check}");
    assert_eq!(pod["unproven"], true, "{check}");
    kscope
        .run(["check", &ns, "app"])
        .expect_code(1)
        .stdout_contains("? in default, list secrets: not proven:")
        .stdout_contains("could not be proven (marked ?)")
        .stdout_contains("? unproven  create a pod that takes its node")
        .stderr_contains("could not be proven");
    let sarif = kscope
        .run(["check", &ns, "app", "-o", "sarif"])
        .expect_code(1)
        .stdout_json();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "KSCOPE-CHECK-UNPROVEN"),
        "{sarif}"
    );
    kscope
        .run(["check", &ns, "app", "-o", "junit"])
        .expect_code(1)
        .stdout_contains("<error")
        .stdout_contains("unproven");
    // check -f: the tenant is unproven, and the set exits 1 (nothing differs).
    let set = common::set_file(
        kscope.home(),
        &ns,
        &[format!("{{namespace: {ns}, serviceAccount: app}}")],
    );
    kscope
        .run(["check", "-f", set.to_str().unwrap()])
        .expect_code(1)
        .stdout_contains("unproven")
        .stderr_contains("1 unproven");
    rules(&dir, &ns, json!([]));
}

#[tokio::test]
async fn a_neighbour_the_webhook_makes_powerful_is_a_path_out() {
    let _shared = EVERY_ACCOUNT.read().await;
    let dir = common::webhook_cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = granted(&mut kscope, "whboss", "namespace-admin");
    common::create_service_account(&client, &ns, "boss").await;
    rules(
        &dir,
        &ns,
        json!([{"user": user(&ns, "boss"), "decision": "allow"}]),
    );
    let check = kscope
        .run(["check", &ns, "app", "-o", "json"])
        .expect_code(3)
        .stdout_json();
    let boss = check["containment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "stronger-account")
        .unwrap_or_else(|| panic!("the boss is a path out: {check}"));
    assert!(
        boss["path"].as_str().unwrap_or_default().contains(":boss"),
        "{check}"
    );
    assert!(
        boss["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("kscope-test-webhook"),
        "{check}"
    );
    assert!(
        check["beyondRbac"]["neighboursAsked"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("{ns}/boss"))),
        "{check}"
    );
    rules(&dir, &ns, json!([]));
    // Without the webhook's favour, boss is an ordinary neighbour again.
    kscope.run(["check", &ns, "app"]).expect_code(0);
}

#[tokio::test]
async fn audit_says_that_authorization_goes_beyond_rbac() {
    let _shared = EVERY_ACCOUNT.read().await;
    let dir = common::webhook_cluster_dir();
    admin(&dir)
        .run(["audit", "-o", "json"])
        .stderr_contains("authorization on this cluster goes beyond RBAC")
        .stderr_contains("KSCOPE-STRONGER-ACCOUNT");
    // A plain RBAC cluster says nothing of the kind.
    admin(&common::cluster_dir())
        .run(["audit", "-n", "kube-public", "-o", "json"])
        .stderr_lacks("beyond RBAC");
}

#[tokio::test]
async fn a_binding_of_every_service_account_is_reported_by_every_tenants_check() {
    let _alone = EVERY_ACCOUNT.write().await;
    let dir = common::webhook_cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let first = granted(&mut kscope, "whall", "read-only");
    let second = granted(&mut kscope, "whall", "namespace-admin");
    let there = common::unique_name("everyone");
    common::create_namespace(&client, &there).await;
    let name = common::unique_name("all-accounts-view");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": there},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [common::group_subject("system:serviceaccounts")],
    }))
    .unwrap();
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), &there);
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    for ns in [&first, &second] {
        let check = kscope
            .run(["check", ns, "app", "-o", "json"])
            .expect_code(3)
            .stdout_json();
        assert!(
            check["namespaces"]
                .as_array()
                .unwrap()
                .contains(&json!(there)),
            "{check}"
        );
        let pods = answer(&check, &there, "pods", "list");
        assert_eq!(pods["allowed"], true, "{check}");
        assert!(
            pods["reason"].as_str().unwrap_or_default().contains(&name),
            "{check}"
        );
    }
    bindings
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    common::delete_namespace(&client, &there).await;
}
