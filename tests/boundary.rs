//! The whole tenant boundary (issue 25), tried as a hostile tenant would, with the kubeconfig
//! kscope emitted and the real kubectl: one guard for the cluster, in force on a grant's first
//! request and not escapable by any label; Services that reach outside the namespace refused
//! unless the grant opens them; kscope's ResourceQuota, LimitRange and NetworkPolicy present
//! and out of the tenant's reach; `check` proving each; and the upgrade from one guard binding
//! per namespace that leaves no namespace unguarded in between.

mod common;
mod runner;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::admin;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use runner::{Kscope, Run, kubectl_as};
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// The upgrade test puts the guard of an earlier kscope back for a moment: every other test
/// here, which relies on today's guard, waits for it.
static GUARD: RwLock<()> = RwLock::const_new(());

const GUARD_NAME: &str = "kscope-tenant-guard";

/// As the tenant: `kubectl create --dry-run=server -f` of `object` in `ns`.
fn try_create(dir: &Path, kscope: &Kscope, kc: &Path, ns: &str, object: &Value) -> Run {
    let file = kscope.path(&format!(
        "{}-{}.json",
        object["kind"].as_str().unwrap_or("object"),
        object["metadata"]["name"].as_str().unwrap_or("x")
    ));
    std::fs::write(&file, object.to_string()).unwrap();
    kubectl_as(
        common::kubectl(dir),
        kc,
        &[
            "-n",
            ns,
            "create",
            "--dry-run=server",
            "-f",
            file.to_str().unwrap(),
        ],
    )
}

fn refused_by_the_guard(run: &Run, what: &str) {
    assert_ne!(run.code, 0, "{what} was admitted:\n{}", run.describe());
    run.stderr_contains("kscope-tenant-guard");
}

/// Refused by the guard, or by RBAC before it (a role that may not write that kind at all).
fn refused(run: &Run, what: &str) {
    assert_ne!(run.code, 0, "{what} was admitted:\n{}", run.describe());
    run.stderr_contains_any(&["kscope-tenant-guard", "\" cannot "]);
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

/// The four Services that reach outside their namespace.
fn reaching_services() -> Vec<(&'static str, Value)> {
    let port = json!([{"port": 80}]);
    vec![
        (
            "nodeport",
            service("np", json!({"type": "NodePort", "ports": port})),
        ),
        (
            "loadbalancer",
            service("lb", json!({"type": "LoadBalancer", "ports": port})),
        ),
        (
            "externalname",
            service(
                "en",
                json!({"type": "ExternalName", "externalName": "db.example.com"}),
            ),
        ),
        (
            "external-ips",
            service("eip", json!({"ports": port, "externalIPs": ["192.0.2.7"]})),
        ),
    ]
}

/// A PersistentVolumeClaim, naming `volume` or none (the cluster's provisioner then decides).
fn claim(volume: Option<&str>) -> Value {
    let mut spec = json!({"accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}}});
    if let Some(volume) = volume {
        spec["volumeName"] = json!(volume);
    }
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": format!("claim-{}", volume.unwrap_or("any"))}, "spec": spec})
}

/// A Deployment whose pods name `class` (none: the cluster's default).
fn deployment(class: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "c", "image": "registry.invalid/app:1"}]});
    if let Some(class) = class {
        spec["priorityClassName"] = json!(class);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("prio-{}", class.unwrap_or("default"))},
        "spec": {"selector": {"matchLabels": {"app": "p"}},
            "template": {"metadata": {"labels": {"app": "p"}}, "spec": spec}}})
}

/// A pod and each kind of workload whose pods would take the system's own priority.
fn system_priority_objects() -> Vec<Value> {
    let pod_spec = |class: &str| {
        json!({"restartPolicy": "Never", "priorityClassName": class,
            "containers": [{"name": "c", "image": "registry.invalid/app:1"}]})
    };
    vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "critical"},
            "spec": pod_spec("system-node-critical")}),
        deployment(Some("system-cluster-critical")),
        json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "critical"},
            "spec": {"schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": {"spec": pod_spec("system-cluster-critical")}}}}}),
        json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "critical"},
            "template": {"spec": pod_spec("system-node-critical")}}),
    ]
}

/// Subjects from outside a tenant namespace, each of which a RoleBinding there would let in.
fn outside_subjects() -> Vec<(&'static str, Value)> {
    let group = |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name});
    let user =
        |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name});
    vec![
        ("everyone", group("system:authenticated")),
        ("anonymous", group("system:unauthenticated")),
        ("anonymous-user", user("system:anonymous")),
        ("every-sa", group("system:serviceaccounts")),
        ("other-ns-sas", group("system:serviceaccounts:kube-system")),
        ("a-person", user("alice@example.com")),
        (
            "other-ns-sa-user",
            user("system:serviceaccount:kube-system:default"),
        ),
        (
            "other-ns-sa",
            json!({"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"}),
        ),
    ]
}

/// What `audit -n <ns> --fail-on medium -o json` finds in `ns`, as an admin (exit 3: something).
fn findings(dir: &Path, ns: &str) -> Vec<Value> {
    let audit = admin(dir)
        .run(["audit", "-n", ns, "--fail-on", "medium", "-o", "json"])
        .expect_code(3)
        .stdout_json();
    audit["items"].as_array().expect("items").clone()
}

/// The ids and outcomes of `check -o json`'s containment section.
fn paths(check: &Value) -> Vec<(String, bool)> {
    check["containment"]
        .as_array()
        .expect("containment")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_string(),
                p["refused"] == true,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_fresh_grant_is_guarded_from_its_first_request_and_no_label_escapes_it() {
    let _shared = GUARD.read().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    // The walkthrough's own Role reaches the Namespace and the quota: only the guard refuses.
    let role = common::walkthrough_role(kscope.home());
    // A fresh namespace, an existing one, and a second namespace of the same grant.
    let fresh = common::unique_name("first");
    let existing = common::unique_name("existing");
    let other = common::unique_name("other");
    common::create_namespace(&client, &existing).await;
    kscope
        .run(["grant", &fresh, "app", "--template", &role])
        .expect_code(0);
    let kc = kscope.kubeconfig_for(&fresh, "app");
    // No sleep: the tenant's first request.
    let relabel = |ns: &str, label: &str| {
        kubectl_as(
            common::kubectl(&dir),
            &kc,
            &["label", "namespace", ns, label, "--overwrite"],
        )
    };
    refused_by_the_guard(
        &relabel(&fresh, "escape=yes"),
        "a relabel of a fresh namespace",
    );
    kscope
        .run(["grant", &existing, "app", "--template", &role])
        .expect_code(0)
        .stderr_contains(&format!(
            "namespace {existing} existed: kscope labelled it kscope.dev/tenant=true"
        ));
    let kc_existing = kscope.kubeconfig_for(&existing, "app");
    refused_by_the_guard(
        &kubectl_as(
            common::kubectl(&dir),
            &kc_existing,
            &["label", "namespace", &existing, "escape=yes"],
        ),
        "a relabel of an existing namespace",
    );
    kscope
        .run([
            "grant",
            &fresh,
            "app",
            "--template",
            &role,
            "--also-in",
            &other,
        ])
        .expect_code(0);
    refused_by_the_guard(
        &relabel(&other, "escape=yes"),
        "a relabel of the other namespace",
    );

    // Every label the guard or Pod Security reads, removed or changed, on the Namespace.
    for label in [
        "kscope.dev/tenant-",
        "kscope.dev/tenant=false",
        "pod-security.kubernetes.io/enforce=privileged",
        "pod-security.kubernetes.io/enforce-",
        "kscope.dev/allow=nodeport",
    ] {
        refused_by_the_guard(&relabel(&fresh, label), label);
    }
    // kscope's label, removed from each of its objects, or put on a new one.
    let tenant = |args: &[&str]| kubectl_as(common::kubectl(&dir), &kc, args);
    for (kind, name) in [
        ("serviceaccount", "app"),
        ("rolebinding", "app"),
        ("role", "app"),
        ("resourcequota", "kscope-quota"),
        ("limitrange", "kscope-limits"),
        ("networkpolicy", "kscope-isolation"),
    ] {
        refused_by_the_guard(
            &tenant(&[
                "-n",
                &fresh,
                "label",
                kind,
                name,
                "app.kubernetes.io/managed-by-",
            ]),
            &format!("unlabelling {kind} {name}"),
        );
        refused_by_the_guard(
            &tenant(&["-n", &fresh, "delete", kind, name, "--dry-run=server"]),
            &format!("deleting {kind} {name}"),
        );
    }
    let forged = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "forged", "labels": {"app.kubernetes.io/managed-by": "kscope"}},
        "rules": []});
    refused_by_the_guard(
        &try_create(&dir, &kscope, &kc, &fresh, &forged),
        "a Role wearing kscope's label",
    );
    for ns in [&fresh, &existing, &other] {
        common::delete_namespace(&client, ns).await;
    }
}

#[tokio::test]
async fn services_that_reach_outside_are_refused_for_every_role_and_the_bounds_hold() {
    let _shared = GUARD.read().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    for access in [
        ["--template", "namespace-admin"],
        ["--template", "developer"],
        ["--cluster-role", "edit"],
        ["--cluster-role", "admin"],
    ] {
        let ns = common::unique_name("svc");
        kscope
            .run(["grant", &ns, "app", access[0], access[1]])
            .expect_code(0);
        let kc = kscope.kubeconfig_for(&ns, "app");
        for (id, object) in reaching_services() {
            refused(
                &try_create(&dir, &kscope, &kc, &ns, &object),
                &format!("a {id} Service as {access:?}"),
            );
        }
        // A Service of the namespace's own is fine.
        try_create(
            &dir,
            &kscope,
            &kc,
            &ns,
            &service("inside", json!({"ports": [{"port": 80}]})),
        )
        .expect_code(0);
        // kscope's bounds are there; the tenant may not change or delete them.
        for (kind, name) in [
            ("resourcequota", "kscope-quota"),
            ("limitrange", "kscope-limits"),
            ("networkpolicy", "kscope-isolation"),
        ] {
            Run::of(common::kubectl(&dir).args(["-n", &ns, "get", kind, name])).expect_code(0);
            refused(
                &kubectl_as(
                    common::kubectl(&dir),
                    &kc,
                    &["-n", &ns, "delete", kind, name, "--dry-run=server"],
                ),
                &format!("deleting {kind} as {access:?}"),
            );
        }
        // No pod, and no workload's pods, of the system's own priority; the cluster's default
        // and a workload that names no class are fine.
        for object in system_priority_objects() {
            refused(
                &try_create(&dir, &kscope, &kc, &ns, &object),
                &format!(
                    "a {} of the system's priority as {access:?}",
                    object["kind"]
                ),
            );
        }
        try_create(&dir, &kscope, &kc, &ns, &deployment(None)).expect_code(0);
        // No claim on a volume of the cluster's by its name.
        refused(
            &try_create(&dir, &kscope, &kc, &ns, &claim(Some("someone-elses"))),
            &format!("a claim naming a PersistentVolume as {access:?}"),
        );
        // Nobody from outside the namespace let in: the grant's own role (which RBAC's
        // escalation check lets the tenant bind) to each kind of outside subject.
        let role_ref = match access[0] {
            "--template" => {
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"})
            }
            _ => {
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": access[1]})
            }
        };
        for (name, subject) in outside_subjects() {
            let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": name}, "roleRef": role_ref, "subjects": [subject]});
            refused(
                &try_create(&dir, &kscope, &kc, &ns, &binding),
                &format!("a RoleBinding for {subject} as {access:?}"),
            );
        }
        // No quota of the tenant's own either.
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "mine"}, "spec": {"hard": {"pods": "1000"}}});
        refused(
            &try_create(&dir, &kscope, &kc, &ns, &quota),
            "a quota of the tenant's own",
        );
        let check = kscope
            .run(["check", &ns, "app", "-o", "json"])
            .expect_code(0)
            .stdout_json();
        let found = paths(&check);
        for id in [
            "service-nodeport",
            "service-loadbalancer",
            "service-externalname",
            "service-external-ips",
            "quota-write",
            "limits-write",
            "network-policy-write",
            "binding-outside",
            "priority-system",
            "volume-named",
        ] {
            assert!(
                found.iter().any(|(p, refused)| p == id && *refused),
                "{id} refused as {access:?}: {found:?}"
            );
        }
        common::delete_namespace(&client, &ns).await;
    }
    // A namespace-admin still makes its own Role, RoleBinding and NetworkPolicy.
    let ns = common::unique_name("own");
    kscope.run(["grant", &ns, "app"]).expect_code(0);
    let kc = kscope.kubeconfig_for(&ns, "app");
    for object in [
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "mine"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "mine"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "mine"}, "spec": {"podSelector": {}}}),
        claim(None),
        // Every ServiceAccount of its own namespace, by their group, and one by its user name.
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "all-mine"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("system:serviceaccounts:{ns}")},
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("system:serviceaccount:{ns}:builder")},
                {"kind": "ServiceAccount", "name": "builder"}]}),
    ] {
        try_create(&dir, &kscope, &kc, &ns, &object).expect_code(0);
    }
    common::delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn an_opened_service_kind_is_admitted_shown_and_closed_again() {
    let _shared = GUARD.read().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = common::unique_name("open");
    kscope
        .run(["grant", &ns, "app", "--allow-service", "nodeport"])
        .expect_code(0);
    let kc = kscope.kubeconfig_for(&ns, "app");
    let nodeport = &reaching_services()[0].1;
    try_create(&dir, &kscope, &kc, &ns, nodeport).expect_code(0);
    refused_by_the_guard(
        &try_create(&dir, &kscope, &kc, &ns, &reaching_services()[1].1),
        "a LoadBalancer the grant did not open",
    );
    kscope
        .run(["list", "-n", &ns])
        .expect_code(0)
        .stdout_contains("OPENS")
        .stdout_contains("nodeport");
    kscope
        .run(["check", &ns, "app"])
        .expect_code(0)
        .stdout_contains("opened by the grant (--allow-service), not tried: nodeport");
    // Granted again without it: closed on the next request.
    kscope.run(["grant", &ns, "app"]).expect_code(0);
    refused_by_the_guard(
        &try_create(&dir, &kscope, &kc, &ns, nodeport),
        "a NodePort once the grant closed it",
    );
    kscope
        .run(["grant", &ns, "app", "--allow-service", "sideways"])
        .expect_code(2)
        .stderr_contains("invalid --allow-service \"sideways\"");
    common::delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn a_deleted_quota_and_an_unbound_guard_are_open_paths_for_check_and_audit() {
    let _alone = GUARD.write().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    // The walkthrough's own Role reaches the Namespace and the quota: only the guard refuses.
    let role = common::walkthrough_role(kscope.home());
    let templates = kscope.home().to_str().unwrap().to_string();
    let ns = common::unique_name("holes");
    kscope
        .run(["grant", &ns, "app", "--template", &role])
        .expect_code(0);
    Run::of(common::kubectl(&dir).args(["-n", &ns, "delete", "resourcequota", "kscope-quota"]))
        .expect_code(0);
    let as_json = [
        "check",
        &ns,
        "app",
        "-o",
        "json",
        "--template-dir",
        &templates,
    ];
    let check = kscope.run(as_json).expect_code(3).stdout_json();
    assert!(
        paths(&check)
            .iter()
            .any(|(id, refused)| id == "quota-missing" && !refused),
        "{check}"
    );
    // The audit sees the same, and a NodePort and a binding for another namespace's
    // ServiceAccount that an admin made in the tenant's namespace (not for a group: every
    // other test's check would see it while the namespace is deleted).
    Run::of(common::kubectl(&dir).args([
        "-n", &ns, "create", "service", "nodeport", "admins", "--tcp=80",
    ]))
    .expect_code(0);
    Run::of(common::kubectl(&dir).args([
        "-n",
        &ns,
        "create",
        "rolebinding",
        "outsider",
        "--clusterrole=view",
        "--serviceaccount=kube-system:default",
    ]))
    .expect_code(0);
    let audit = findings(&dir, &ns);
    let rules: Vec<&str> = audit.iter().filter_map(|f| f["ruleId"].as_str()).collect();
    assert!(rules.contains(&"KSCOPE-TENANT-UNBOUNDED"), "{audit:?}");
    assert!(rules.contains(&"KSCOPE-REACHING-SERVICE"), "{audit:?}");
    assert!(rules.contains(&"KSCOPE-OUTSIDE-BINDING"), "{audit:?}");
    Run::of(common::kubectl(&dir).args(["-n", &ns, "delete", "rolebinding", "outsider"]))
        .expect_code(0);
    // The guard's one binding removed by an admin: every path it held is open.
    let bindings = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone());
    bindings
        .delete(GUARD_NAME, &DeleteParams::default())
        .await
        .unwrap();
    let open = common::eventually(
        "the unbound guard to show",
        Duration::from_secs(15),
        || async {
            let run = admin(&dir).run(as_json);
            let open = paths(&run.stdout_json());
            if run.code == 3
                && open
                    .iter()
                    .any(|(id, refused)| id == "namespace-relabel" && !refused)
            {
                Ok(open)
            } else {
                Err(open)
            }
        },
    )
    .await;
    for id in [
        "service-nodeport",
        "binding-outside",
        "priority-system",
        "volume-named",
    ] {
        assert!(
            open.iter().any(|(p, refused)| p == id && !refused),
            "{id} open: {open:?}"
        );
    }
    admin(&dir)
        .run(["audit", "-n", &ns, "--fail-on", "medium"])
        .expect_code(3)
        .stdout_contains("KSCOPE-GUARD-BINDING");
    // A grant puts it back, proven in force before it returns.
    kscope
        .run(["grant", &ns, "app", "--template", &role])
        .expect_code(0);
    kscope
        .run(["check", &ns, "app", "--template-dir", &templates])
        .expect_code(0);
    common::delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn a_tenant_set_opens_services_and_opts_out_of_quota_and_network() {
    let _shared = GUARD.read().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = common::unique_name("setopen");
    let file = common::set_file(
        kscope.home(),
        &ns,
        &[format!(
            "{{namespace: {ns}, serviceAccount: app, template: developer, allowServices: nodeport, quota: none, network: open}}"
        )],
    );
    let f = file.to_str().unwrap();
    kscope.run(["apply", "-f", f]).expect_code(0);
    for kind in ["resourcequotas", "limitranges", "networkpolicies"] {
        Run::of(common::kubectl(&dir).args(["-n", &ns, "get", kind, "-o", "name"]))
            .expect_code(0)
            .stdout_is_empty();
    }
    let kc = kscope.kubeconfig_for(&ns, "app");
    try_create(&dir, &kscope, &kc, &ns, &reaching_services()[0].1).expect_code(0);
    refused_by_the_guard(
        &try_create(&dir, &kscope, &kc, &ns, &reaching_services()[1].1),
        "a LoadBalancer the set did not open",
    );
    kscope.run(["check", "-f", f]).expect_code(0);
    common::delete_namespace(&client, &ns).await;
}

/// The guard of kscope before one guard per cluster: the same policy name, whose rules apply
/// to every ServiceAccount of a namespace its per-namespace binding selects.
fn earlier_policy() -> Value {
    let labelled = |o: &str| {
        format!(
            "{o} != null && has({o}.metadata.labels) && 'app.kubernetes.io/managed-by' in {o}.metadata.labels && {o}.metadata.labels['app.kubernetes.io/managed-by'] == 'kscope'"
        )
    };
    let writes = ["CREATE", "UPDATE", "DELETE"];
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": GUARD_NAME, "labels": {"app.kubernetes.io/managed-by": "kscope"}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [
                {"apiGroups": [""], "apiVersions": ["*"], "operations": ["UPDATE", "DELETE"], "resources": ["namespaces"]},
                {"apiGroups": [""], "apiVersions": ["*"], "operations": writes, "resources": ["serviceaccounts", "secrets", "endpoints"]},
                {"apiGroups": ["rbac.authorization.k8s.io"], "apiVersions": ["*"], "operations": writes, "resources": ["roles", "rolebindings"]}
            ]},
            "matchConditions": [
                {"name": "a-service-account-outside-kube-system", "expression": "request.userInfo.username.startsWith('system:serviceaccount:') && !request.userInfo.username.startsWith('system:serviceaccount:kube-system:')"},
                {"name": "not-a-cluster-administrator", "expression": "!authorizer.group('rbac.authorization.k8s.io').resource('clusterroles').check('escalate').allowed()"}
            ],
            "variables": [{"name": "kscopes", "expression": format!("({}) || ({})", labelled("object"), labelled("oldObject"))}],
            "validations": [
                {"expression": "request.resource.resource != 'namespaces'", "message": "kscope's guard: a tenant may not change or delete its own Namespace", "reason": "Forbidden"},
                {"expression": "!variables.kscopes", "message": "kscope's guard: a tenant may not create, change or delete the objects of its kscope grant", "reason": "Forbidden"}
            ]
        }
    })
}

#[tokio::test]
async fn the_upgrade_from_per_namespace_bindings_leaves_no_namespace_unguarded() {
    let _alone = GUARD.write().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    // The walkthrough's own Role reaches the Namespace and the quota: only the guard refuses.
    let role = common::walkthrough_role(kscope.home());
    // A tenant of an earlier kscope: its namespace without the tenant label, guarded by a
    // binding of its own and the earlier policy.
    let old = common::unique_name("before");
    kscope
        .run(["grant", &old, "app", "--template", &role])
        .expect_code(0);
    let namespaces = Api::<Namespace>::all(client.clone());
    namespaces
        .patch(
            &old,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"kscope.dev/tenant": null}}})),
        )
        .await
        .unwrap();
    let policies = Api::<ValidatingAdmissionPolicy>::all(client.clone());
    let bindings = Api::<ValidatingAdmissionPolicyBinding>::all(client.clone());
    let earlier: ValidatingAdmissionPolicy = serde_json::from_value(earlier_policy()).unwrap();
    policies
        .patch(
            GUARD_NAME,
            &PatchParams::apply("kscope").force(),
            &Patch::Apply(&earlier),
        )
        .await
        .unwrap();
    let old_binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("{GUARD_NAME}.{old}"),
                     "labels": {"app.kubernetes.io/managed-by": "kscope"}},
        "spec": {"policyName": GUARD_NAME, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": old}}}}
    }))
    .unwrap();
    bindings
        .create(&PostParams::default(), &old_binding)
        .await
        .unwrap();
    bindings
        .delete(GUARD_NAME, &DeleteParams::default())
        .await
        .unwrap();
    // The earlier guard in force for the old tenant.
    let kc = kscope.kubeconfig_for(&old, "app");
    let relabel = || {
        kubectl_as(
            common::kubectl(&dir),
            &kc,
            &["label", "namespace", &old, "escape=yes", "--dry-run=server"],
        )
    };
    common::eventually(
        "the earlier guard in force",
        Duration::from_secs(15),
        || async {
            let run = relabel();
            if run.code != 0 {
                Ok(())
            } else {
                Err(run.describe())
            }
        },
    )
    .await;

    // The old tenant tries all along the upgrade (every 50 ms, until a while after it).
    let admitted = Arc::new(AtomicUsize::new(0));
    let tries = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (admitted, tries, stop) = (admitted.clone(), tries.clone(), stop.clone());
        let (dir, kc, old) = (dir.clone(), kc.clone(), old.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let run = kubectl_as(
                    common::kubectl(&dir),
                    &kc,
                    &["label", "namespace", &old, "escape=yes", "--dry-run=server"],
                );
                tries.fetch_add(1, Ordering::SeqCst);
                if run.code == 0 {
                    admitted.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let new = common::unique_name("after");
    kscope
        .run(["grant", &new, "app", "--template", &role])
        .expect_code(0)
        .stdout_contains(&format!("{GUARD_NAME}.{old}"));
    // The upgraded policy's own rules hold as soon as the grant returns: its proof waited
    // for them, not for a rule the earlier policy holds too.
    let kc_new = kscope.kubeconfig_for(&new, "app");
    refused_by_the_guard(
        &try_create(&dir, &kscope, &kc_new, &new, &system_priority_objects()[0]),
        "a pod of the system's priority right after the upgrade",
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    assert!(tries.load(Ordering::SeqCst) > 5, "too few tries");
    assert_eq!(
        admitted.load(Ordering::SeqCst),
        0,
        "the old tenant escaped during the upgrade"
    );
    // The per-namespace binding is gone, the old namespace carries the label, one binding
    // guards both.
    assert!(
        bindings
            .get_opt(&format!("{GUARD_NAME}.{old}"))
            .await
            .unwrap()
            .is_none()
    );
    let labelled = namespaces.get(&old).await.unwrap();
    assert_eq!(
        labelled.metadata.labels.unwrap()["kscope.dev/tenant"],
        "true"
    );
    assert!(bindings.get_opt(GUARD_NAME).await.unwrap().is_some());
    refused_by_the_guard(&relabel(), "the old tenant's relabel after the upgrade");
    for ns in [&old, &new] {
        common::delete_namespace(&client, ns).await;
    }
}

/// A developer grant with a quota of one pod (and `extra` flags): `check`'s JSON (with the
/// exit code expected) and the tenant's kubeconfig.
fn capped_tenant(kscope: &mut Kscope, ns: &str, extra: &[&str], code: i32) -> (Value, PathBuf) {
    let mut grant = vec![
        "grant",
        ns,
        "app",
        "--template",
        "developer",
        "--quota",
        "pods=1",
    ];
    grant.extend(extra);
    kscope.run(grant).expect_code(0);
    let check = kscope
        .run(["check", ns, "app", "-o", "json"])
        .expect_code(code)
        .stdout_json();
    (check, kscope.kubeconfig_for(ns, "app"))
}

/// The tenant's pods past a quota of one pod: the first stored, the second as the server
/// answers it.
fn two_pods(dir: &Path, kubeconfig: &Path) -> (Run, Run) {
    let pod = |name: &str| {
        kubectl_as(
            common::kubectl(dir),
            kubeconfig,
            &[
                "run",
                name,
                "--image=registry.k8s.io/pause:3.10",
                "--restart=Never",
            ],
        )
    };
    (pod("first"), pod("second"))
}

#[tokio::test]
async fn kscopes_quota_is_in_force_against_the_tenant() {
    let _shared = GUARD.read().await;
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = common::unique_name("capped");
    // check proves the quota enforced (it waits for the resource quota controller's record)...
    let (check, kc) = capped_tenant(&mut kscope, &ns, &[], 0);
    assert!(
        paths(&check)
            .iter()
            .any(|(id, refused)| id == "quota-unenforced" && *refused),
        "{check}"
    );
    // ...and the tenant meets it: its second pod is refused.
    let (first, second) = two_pods(&dir, &kc);
    first.expect_code(0);
    second.expect_code(1).stderr_contains("exceeded quota");
    common::delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn a_quota_no_controller_records_is_open_for_check_and_audit() {
    // Without kube-controller-manager no resource quota controller records kscope's quota, and
    // the API server enforces only what one has recorded.
    let dir = common::no_kcm_cluster_dir();
    let client = common::admin_client(&dir).await;
    let mut kscope = admin(&dir);
    let ns = common::unique_name("unrecorded");
    // An expiring grant: its token needs no token controller either.
    let (check, kc) = capped_tenant(&mut kscope, &ns, &["--expires", "1h"], 3);
    let open: Vec<&Value> = check["containment"]
        .as_array()
        .expect("containment")
        .iter()
        .filter(|p| p["refused"] != true)
        .collect();
    assert_eq!(open.len(), 1, "only the quota is open: {check}");
    assert_eq!(open[0]["id"], "quota-unenforced", "{check}");
    assert!(
        open[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("kscope-quota: none of its limits recorded")
                && r.contains("resourcequota controller")),
        "{check}"
    );
    // What check said is what the tenant finds: both pods are stored (their ServiceAccount
    // made here, as kube-controller-manager would have).
    Run::of(common::kubectl(&dir).args(["-n", &ns, "create", "serviceaccount", "default"]))
        .expect_code(0);
    let (first, second) = two_pods(&dir, &kc);
    first.expect_code(0);
    second.expect_code(0);
    let audit = findings(&dir, &ns);
    let unbounded: Vec<&Value> = audit
        .iter()
        .filter(|f| f["ruleId"] == "KSCOPE-TENANT-UNBOUNDED")
        .collect();
    assert_eq!(unbounded.len(), 1, "{audit:?}");
    assert!(
        unbounded[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no ResourceQuota in force")),
        "{audit:?}"
    );
    common::delete_namespace(&client, &ns).await;
}
