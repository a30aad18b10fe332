//! Containment, tried as a hostile tenant would: with the kubeconfig kscope emitted and the
//! real kubectl, real requests (not dry runs) against the real control plane, which runs
//! kube-apiserver with `--allow-privileged=true` as real clusters do. Each attempt must be
//! refused by the server; `check` must say the same, and say what is open when it is.

mod common;
mod runner;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::admin;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Api;
use runner::{Run, kubectl_as};

/// A pod that would own its node.
const NODE_ESCAPE: &str = r#"{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "escape"},
 "spec": {"hostPID": true, "hostNetwork": true,
  "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
  "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true},
   "volumeMounts": [{"name": "host", "mountPath": "/host"}]}]}}"#;

const ENDPOINTS: &str = r#"{"apiVersion": "v1", "kind": "Endpoints",
 "metadata": {"name": "kubernetes-lookalike"},
 "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 443}]}]}"#;

/// kubectl as the tenant, with `stdin` piped in.
fn tenant(dir: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    if stdin.is_none() {
        return kubectl_as(common::kubectl(dir), kubeconfig, args);
    }
    let mut kubectl = common::kubectl(dir);
    kubectl
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = kubectl.spawn().expect("run kubectl");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("kubectl's output");
    Run::from_output(&kubectl, &out)
}

fn refused(run: &Run, what: &str) {
    assert_ne!(run.code, 0, "{what} was allowed:\n{}", run.describe());
    // Refused by the server's authorization or admission, not by anything else.
    run.stderr_contains_any(&["Forbidden", "forbidden"]);
}

/// The containment section of `check -o json`: (path, refused) for each probe.
fn containment(run: &Run) -> Vec<(String, bool, String)> {
    let report = run.stdout_json();
    report["containment"]
        .as_array()
        .expect("a containment list")
        .iter()
        .map(|p| {
            assert_eq!(p["expected"], "refused", "{p}");
            (
                p["path"].as_str().unwrap().to_string(),
                p["refused"].as_bool().unwrap(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_built_in_and_edit_and_admin_keep_the_tenant_inside() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let grants: [(&str, &[&str]); 6] = [
        ("admin", &[]),
        ("dev", &["--template", "developer"]),
        ("ci", &["--template", "deployer"]),
        ("viewer", &["--template", "read-only"]),
        ("editor", &["--cluster-role", "edit"]),
        ("owner", &["--cluster-role", "admin"]),
    ];
    for (sa, access) in grants {
        let ns = common::unique_name(&format!("contain-{sa}"));
        let mut kscope = admin(&dir);
        let mut args = vec!["grant", ns.as_str(), sa];
        args.extend_from_slice(access);
        kscope.run(&args).expect_code(0);
        let kc = kscope.kubeconfig_for(&ns, sa);

        // The node: a pod that takes it is refused (by Pod Security, or by RBAC).
        let run = tenant(&dir, &kc, &["create", "-f", "-"], Some(NODE_ESCAPE));
        refused(&run, &format!("{sa}: a node-escaping pod"));
        // The namespace itself: relabelling (Pod Security off) and deleting it.
        let run = tenant(
            &dir,
            &kc,
            &[
                "label",
                "namespace",
                &ns,
                "pod-security.kubernetes.io/enforce=privileged",
                "--overwrite",
            ],
            None,
        );
        refused(&run, &format!("{sa}: relabelling its Namespace"));
        let run = tenant(
            &dir,
            &kc,
            &["delete", "namespace", &ns, "--wait=false"],
            None,
        );
        refused(&run, &format!("{sa}: deleting its Namespace"));
        let live = Api::<Namespace>::all(client.clone())
            .get(&ns)
            .await
            .unwrap();
        assert!(
            live.metadata.deletion_timestamp.is_none(),
            "{sa}: {ns} is being deleted"
        );
        // kscope's own objects: their labels stay.
        for kind in ["serviceaccount", "rolebinding"] {
            let run = tenant(
                &dir,
                &kc,
                &["label", kind, sa, "app.kubernetes.io/managed-by-"],
                None,
            );
            refused(
                &run,
                &format!("{sa}: removing kscope's label from its {kind}"),
            );
        }
        // Endpoints (CVE-2021-25740).
        let run = tenant(&dir, &kc, &["create", "-f", "-"], Some(ENDPOINTS));
        refused(&run, &format!("{sa}: writing Endpoints"));

        let run = kscope.run(["check", &ns, sa, "-o", "json"]).expect_code(0);
        let probes = containment(&run);
        assert!(probes.len() >= 5, "{sa}: {probes:?}");
        assert!(
            probes.iter().all(|(_, refused, _)| *refused),
            "{sa}: {probes:?}"
        );
        kscope
            .run(["check", &ns, sa])
            .expect_code(0)
            .stdout_contains("paths out of the namespace are refused")
            .stdout_contains("Pod Security of namespace");
    }
}

#[tokio::test]
async fn without_its_guard_check_names_what_is_open() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("unguarded");
    let mut kscope = admin(&dir);
    // The walkthrough's own Role: RBAC lets it change its Namespace, only the guard refuses.
    let role = common::walkthrough_role(kscope.home());
    let templates = kscope.home().to_str().unwrap().to_string();
    kscope
        .run(["grant", &ns, "admin", "--template", &role])
        .expect_code(0);
    // The admin takes this namespace out from under the guard (its tenant label; the guard
    // serves the others).
    common::untenant_namespace(&client, &ns).await;
    let open = common::eventually(
        "the guard's removal to reach admission",
        Duration::from_secs(20),
        || {
            let mut kscope = admin(&dir);
            let (ns, templates) = (ns.clone(), templates.clone());
            async move {
                let run = kscope.run([
                    "check",
                    &ns,
                    "admin",
                    "-o",
                    "json",
                    "--template-dir",
                    &templates,
                ]);
                // The API server drops the binding from admission a moment after it is gone,
                // and not from every request at the same instant: wait for all it guarded.
                let probes = containment(&run);
                let open = |path: &str| {
                    probes
                        .iter()
                        .any(|(p, refused, _)| p.contains(path) && !refused)
                };
                if run.code == 3
                    && open("relabel its Namespace")
                    && open("remove kscope's label from its ServiceAccount")
                    && open("write Endpoints")
                {
                    Ok(probes)
                } else {
                    Err(format!("exit {}: {probes:?}", run.code))
                }
            }
        },
    )
    .await;
    let is_open = |path: &str| {
        open.iter()
            .any(|(p, refused, _)| p.contains(path) && !refused)
    };
    assert!(is_open("relabel its Namespace"), "{open:?}");
    assert!(
        is_open("remove kscope's label from its ServiceAccount"),
        "{open:?}"
    );
    assert!(is_open("write Endpoints"), "{open:?}");
    // Pod Security still holds: the namespace kscope made enforces baseline.
    assert!(!is_open("takes its node"), "{open:?}");
    kscope
        .run(["check", &ns, "admin", "--template-dir", &templates])
        .expect_code(3)
        .stdout_contains("! OPEN")
        .stderr_contains("path(s) out of the namespace are open");
    // A grant run again puts the guard back and proves it in force.
    kscope
        .run(["grant", &ns, "admin", "--template", &role])
        .expect_code(0);
    kscope
        .run(["check", &ns, "admin", "--template-dir", &templates])
        .expect_code(0);
}

#[tokio::test]
async fn system_namespaces_are_refused_unless_allowed() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let sa = common::unique_name("sys");
    let mut kscope = admin(&dir);
    for ns in ["kube-system", "default"] {
        kscope
            .run(["grant", ns, &sa, "--template", "read-only"])
            .expect_code(2)
            .stderr_contains("--allow-system-namespace");
        let found = Api::<ServiceAccount>::namespaced(client.clone(), ns)
            .get_opt(&sa)
            .await
            .unwrap();
        assert!(found.is_none(), "{ns}/{sa} was created");
    }
    kscope
        .run([
            "grant",
            "kube-system",
            &sa,
            "--template",
            "read-only",
            "--allow-system-namespace",
        ])
        .expect_code(0);
    let report = kscope
        .run(["check", "kube-system", &sa, "-o", "json"])
        .expect_code(0)
        .stdout_json();
    let probed: std::collections::BTreeSet<&str> = report["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["namespace"].as_str())
        .collect();
    assert_eq!(
        probed,
        ["default", "kube-public", "kube-system"]
            .into_iter()
            .collect(),
        "two namespaces outside the grant are still probed"
    );
    kscope
        .run(["audit", "-o", "json", "--fail-on", "high"])
        .stdout_contains(&format!("RoleBinding kube-system/{sa}"))
        .stdout_contains("a kscope grant in kube-system");
    kscope
        .run(["revoke", "kube-system", &sa, "--yes"])
        .expect_code(0);
}

/// A ServiceAccount `boss` in `ns`, bound to cluster-admin: a neighbour stronger than any
/// grant. Returns the ClusterRoleBinding's name (remove it with `unbind_cluster_wide`).
async fn boss_beside(client: &kube::Client, ns: &str) -> String {
    common::create_service_account(client, ns, "boss").await;
    let binding_name = common::unique_name("boss");
    common::bind_cluster_admin(client, &binding_name, ns, "boss").await;
    binding_name
}

#[tokio::test]
async fn a_more_powerful_service_account_makes_the_namespace_shared() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("shared");
    common::create_namespace(&client, &ns).await;
    let binding_name = boss_beside(&client, &ns).await;

    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "dev", "--template", "developer"])
        .expect_code(1)
        .stderr_contains("holds ServiceAccount boss")
        .stderr_contains(&format!("ClusterRoleBinding {binding_name}"))
        .stderr_contains("--allow-shared-namespace");
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("dev").await.unwrap().is_none(),
        "nothing was created"
    );

    // read-only cannot act as boss: no refusal.
    kscope
        .run(["grant", &ns, "viewer", "--template", "read-only"])
        .expect_code(0);

    kscope
        .run([
            "grant",
            &ns,
            "dev",
            "--template",
            "developer",
            "--allow-shared-namespace",
        ])
        .expect_code(0);
    let run = kscope
        .run(["check", &ns, "dev", "-o", "json"])
        .expect_code(3);
    let probes = containment(&run);
    assert!(
        probes.iter().any(|(p, refused, reason)| p
            .contains(&format!("system:serviceaccount:{ns}:boss"))
            && !refused
            && reason.contains(&binding_name)),
        "{probes:?}"
    );
    kscope
        .run(["audit", "-n", &ns, "-o", "json"])
        .stdout_contains(&format!("RoleBinding {ns}/dev"))
        .stdout_contains(&format!("act as ServiceAccount {ns}/boss"));
    common::unbind_cluster_wide(&client, &binding_name).await;
}

#[tokio::test]
async fn a_grant_refused_for_two_reasons_names_both_with_their_fixes() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("twice");
    // No Pod Security label (host pods admitted), and a cluster-admin ServiceAccount beside.
    common::create_bare_namespace(&client, &ns).await;
    let binding_name = boss_beside(&client, &ns).await;

    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "dev", "--template", "developer"])
        .expect_code(1)
        .stderr_first_line_contains("refused for 2 reasons")
        .stderr_contains("(1) namespace")
        .stderr_contains("admits pods that take their node")
        .stderr_contains("(2) namespace")
        .stderr_contains("holds ServiceAccount boss")
        .stderr_contains("--allow-host-pods")
        .stderr_contains("--allow-shared-namespace")
        .stderr_contains("nothing was created");
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("dev").await.unwrap().is_none(),
        "nothing was created"
    );

    // One reason accepted: the other is said alone, as before.
    kscope
        .run([
            "grant",
            &ns,
            "dev",
            "--template",
            "developer",
            "--allow-host-pods",
        ])
        .expect_code(1)
        .stderr_lacks("reasons")
        .stderr_contains("holds ServiceAccount boss");
    assert!(sas.get_opt("dev").await.unwrap().is_none());
    common::unbind_cluster_wide(&client, &binding_name).await;
}

#[tokio::test]
async fn an_existing_namespace_that_admits_host_pods_is_refused() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("bare");
    common::create_bare_namespace(&client, &ns).await;

    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "dev", "--template", "developer"])
        .expect_code(1)
        .stderr_contains("admits pods that take their node")
        .stderr_contains("pod-security.kubernetes.io/enforce=baseline")
        .stderr_contains("--allow-host-pods");
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("dev").await.unwrap().is_none(),
        "nothing was created"
    );
    let live = Api::<Namespace>::all(client.clone())
        .get(&ns)
        .await
        .unwrap();
    assert!(
        live.metadata
            .labels
            .unwrap_or_default()
            .keys()
            .all(|k| !k.starts_with("pod-security")),
        "an existing namespace is never changed"
    );

    kscope
        .run([
            "grant",
            &ns,
            "dev",
            "--template",
            "developer",
            "--allow-host-pods",
        ])
        .expect_code(0);
    let kc = kscope.kubeconfig_for(&ns, "dev");
    // Real, as the tenant: the pod is admitted (then removed), which is what check reports.
    tenant(&dir, &kc, &["create", "-f", "-"], Some(NODE_ESCAPE)).expect_code(0);
    tenant(
        &dir,
        &kc,
        &["delete", "pod", "escape", "--wait=false"],
        None,
    );
    let run = kscope
        .run(["check", &ns, "dev", "-o", "json"])
        .expect_code(3);
    let probes = containment(&run);
    assert!(
        probes
            .iter()
            .any(|(p, refused, _)| p.contains("takes its node") && !refused),
        "{probes:?}"
    );
    kscope
        .run(["audit", "-n", &ns, "-o", "json"])
        .stdout_contains(&format!("RoleBinding {ns}/dev"))
        .stdout_contains("admits pods that take their node");
}

#[tokio::test]
async fn binding_cluster_admin_is_refused_before_any_request() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("root");
    admin(&dir)
        .run(["grant", &ns, "root", "--cluster-role", "cluster-admin"])
        .expect_code(2)
        .stderr_contains("--allow-escalation");
    let found = Api::<Namespace>::all(client.clone())
        .get_opt(&ns)
        .await
        .unwrap();
    assert!(found.is_none(), "nothing was created");
}
