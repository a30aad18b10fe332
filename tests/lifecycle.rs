//! The credential's whole life against the real control plane, through the built binary and
//! the real kubectl: list (with drift, last use and a fixed number of requests), revoke
//! (proven by kubectl's 401), rotate, changing a grant's access in every direction, and
//! grants made at once by several kscope processes.

mod common;
mod runner;

use std::path::Path;
use std::time::Duration;

use common::admin;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use runner::{Kscope, Run};
use serde_json::json;

fn kubectl_as(dir: &Path, kubeconfig: &Path, args: &[&str]) -> Run {
    runner::kubectl_as(common::kubectl(dir), kubeconfig, args)
}

/// Waits until kubectl with `kubeconfig` is refused with 401 (the server may cache a token it
/// accepted for a few seconds).
async fn refused(dir: &Path, kubeconfig: &Path, ns: &str) {
    common::eventually(
        "kubectl is refused with 401",
        Duration::from_secs(30),
        || {
            let run = kubectl_as(dir, kubeconfig, &["get", "pods", "-n", ns]);
            async move {
                if run.code != 0 && run.stderr.contains("Unauthorized") {
                    Ok(())
                } else {
                    Err(format!("exit {}: {}{}", run.code, run.stdout, run.stderr))
                }
            }
        },
    )
    .await;
}

/// The names of the objects labelled as the grant's, of every kind kscope makes.
async fn grant_objects(client: &Client, ns: &str, sa: &str) -> Vec<String> {
    let params = ListParams::default().labels(&format!("kscope.dev/grant={sa}"));
    let mut names = Vec::new();
    for sa in Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .list(&params)
        .await
        .unwrap()
    {
        names.push(format!("ServiceAccount {}", sa.metadata.name.unwrap()));
    }
    for s in Api::<Secret>::namespaced(client.clone(), ns)
        .list(&params)
        .await
        .unwrap()
    {
        names.push(format!("Secret {}", s.metadata.name.unwrap()));
    }
    for r in Api::<Role>::namespaced(client.clone(), ns)
        .list(&params)
        .await
        .unwrap()
    {
        names.push(format!("Role {}", r.metadata.name.unwrap()));
    }
    for rb in Api::<RoleBinding>::namespaced(client.clone(), ns)
        .list(&params)
        .await
        .unwrap()
    {
        names.push(format!("RoleBinding {}", rb.metadata.name.unwrap()));
    }
    names
}

/// `-v` ends with "kscope: N API requests".
fn requests(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("kscope: ")?.strip_suffix(" API requests"))
        .next_back()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in:\n{}", run.stderr))
}

#[tokio::test]
async fn revoke_kills_long_lived_and_expiring_kubeconfigs_and_leaves_the_namespace() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("revoke");
    let mut kscope = admin(&dir);
    kscope.run(["grant", &ns, "ci"]).expect_code(0);
    let long = kscope.path("long.kubeconfig");
    let short = kscope.path("short.kubeconfig");
    kscope
        .run(["kubeconfig", &ns, "ci", "-o", long.to_str().unwrap()])
        .expect_code(0);
    kscope
        .run([
            "kubeconfig",
            &ns,
            "ci",
            "--duration",
            "1h",
            "-o",
            short.to_str().unwrap(),
        ])
        .expect_code(0);
    for file in [&long, &short] {
        kubectl_as(&dir, file, &["get", "pods"]).expect_code(0);
    }

    // Without a terminal and without --yes: refused before any request, nothing deleted.
    kscope
        .run(["revoke", &ns, "ci"])
        .expect_code(2)
        .stderr_contains("--yes");
    assert_eq!(grant_objects(&client, &ns, "ci").await.len(), 4);

    kscope
        .run(["revoke", &ns, "ci", "--dry-run"])
        .expect_code(0)
        .stdout_contains(&format!("Secret {ns}/ci-token"));
    assert_eq!(
        grant_objects(&client, &ns, "ci").await.len(),
        4,
        "a dry run deletes nothing"
    );

    let run = kscope.run(["revoke", &ns, "ci", "--yes"]).expect_code(0);
    run.stdout_contains("the old token is refused (401)");
    let rows: Vec<&str> = run.stdout.lines().skip(1).take(4).collect();
    assert!(
        rows[0].starts_with("RoleBinding ") && rows[1].starts_with("Secret "),
        "the RoleBinding goes first (no token keeps the access), then the token Secret: {rows:?}"
    );
    assert!(grant_objects(&client, &ns, "ci").await.is_empty());
    for file in [&long, &short] {
        refused(&dir, file, &ns).await;
    }
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt(&ns)
            .await
            .unwrap()
            .is_some(),
        "the namespace stays"
    );

    // Revoked: kubeconfig, check and a second revoke say so, and name kscope grant.
    for args in [
        vec!["kubeconfig", &ns, "ci"],
        vec!["check", &ns, "ci"],
        vec!["revoke", &ns, "ci", "--yes"],
    ] {
        kscope
            .run(&args)
            .expect_code(1)
            .stderr_contains("revoked, or never made")
            .stderr_contains(&format!("kscope grant {ns} ci"));
    }
    // The local memory forgot it: no argument no longer means the revoked grant.
    kscope
        .run(["kubeconfig"])
        .expect_code(1)
        .stderr_contains("no grant named");

    // A namespace kscope created goes with --delete-namespace; one it did not create stays.
    let own = common::unique_name("own");
    kscope.run(["grant", &own, "ci"]).expect_code(0);
    let report = kscope
        .run([
            "revoke",
            &own,
            "ci",
            "--yes",
            "--delete-namespace",
            "-o",
            "json",
        ])
        .expect_code(0)
        .stdout_json();
    assert_eq!(report["kind"], "Revocation");
    assert_eq!(report["namespaceFate"], "deleted");
    assert!(report["tokenRefusedAfter"].is_number(), "{report}");
    let gone = Api::<Namespace>::all(client.clone())
        .get_opt(&own)
        .await
        .unwrap();
    assert!(gone.is_none_or(|n| n.metadata.deletion_timestamp.is_some()));
    let theirs = common::unique_name("theirs");
    common::create_namespace(&client, &theirs).await;
    kscope.run(["grant", &theirs, "ci"]).expect_code(0);
    kscope
        .run(["revoke", &theirs, "ci", "--yes", "--delete-namespace"])
        .expect_code(0)
        .stdout_contains("stays: kscope did not create it");
}

#[tokio::test]
async fn revoke_leaves_what_kscope_does_not_manage_and_finishes_an_interrupted_run() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("half");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "app", "--cluster-role", "view"])
        .expect_code(0);
    // Someone else's Role of the grant's name, made by hand.
    let theirs: Role = serde_json::from_value(json!({
        "metadata": {"name": "app"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }))
    .unwrap();
    Api::<Role>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &theirs)
        .await
        .unwrap();
    // A revoke that stopped after its first step: the token Secret is already gone.
    Api::<Secret>::namespaced(client.clone(), &ns)
        .delete("app-token", &DeleteParams::default())
        .await
        .unwrap();

    kscope
        .run(["revoke", &ns, "app", "--yes", "--delete-namespace"])
        .expect_code(0)
        .stdout_contains("left (not managed by kscope)")
        .stdout_contains("already gone, and its tokens with it")
        .stdout_contains(&format!(
            "Namespace {ns} stays: it holds objects kscope does not manage"
        ));
    let role = Api::<Role>::namespaced(client.clone(), &ns)
        .get_opt("app")
        .await
        .unwrap();
    assert!(role.is_some(), "someone else's Role is left alone");
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get_opt("app")
        .await
        .unwrap();
    assert!(sa.is_none(), "the second revoke finished the job");
}

#[tokio::test]
async fn rotate_replaces_the_token_and_writes_a_private_kubeconfig() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("rotate");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "deploy", "--template", "deployer"])
        .expect_code(0);
    let old = kscope.path("old.kubeconfig");
    kscope
        .run(["kubeconfig", &ns, "deploy", "-o", old.to_str().unwrap()])
        .expect_code(0);
    kubectl_as(&dir, &old, &["get", "pods"]).expect_code(0);

    let new = kscope.path("new.kubeconfig");
    kscope
        .run(["rotate", &ns, "deploy", "-o", new.to_str().unwrap()])
        .expect_code(0)
        .stderr_contains("the old token is refused (401)")
        .stderr_contains(&format!("accepted as system:serviceaccount:{ns}:deploy"));
    refused(&dir, &old, &ns).await;
    kubectl_as(&dir, &new, &["get", "pods"]).expect_code(0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The same rules as kubeconfig --output: no silent overwrite.
    kscope
        .run(["rotate", &ns, "deploy", "-o", new.to_str().unwrap()])
        .expect_code(2)
        .stderr_contains("already exists");

    kscope
        .run(["rotate", &ns, "nobody"])
        .expect_code(1)
        .stderr_contains(&format!("kscope grant {ns} nobody"));
}

#[tokio::test]
async fn list_shows_grants_drift_and_last_use_with_a_fixed_number_of_requests() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let (few, many) = (common::unique_name("few"), common::unique_name("many"));
    let mut kscope = admin(&dir);
    for i in 0..3 {
        kscope
            .run(["grant", &few, &format!("sa{i}")])
            .expect_code(0);
    }
    // 20 grants, made by several kscope processes at once (they share one state file).
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (many, home, dir) = (many.clone(), kscope.home().to_path_buf(), dir.clone());
            std::thread::spawn(move || {
                let mut k = admin(&dir).env("XDG_STATE_HOME", home.join("state"));
                k.run(["grant", &many, &format!("sa{i}"), "--cluster-role", "view"])
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().expect_code(0);
    }

    let run = kscope.run(["list", "-n", &few, "-v"]).expect_code(0);
    let few_requests = requests(&run);
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    let run = kscope.run(["list", "-n", &many, "-v"]).expect_code(0);
    assert_eq!(run.stdout.lines().count(), 21, "{}", run.stdout);
    assert_eq!(
        requests(&run),
        few_requests,
        "the same requests for 3 grants as for 20"
    );
    // The four kscope lists, and one of namespaces for their Pod Security level.
    assert_eq!(few_requests, 5);

    // Drift: a RoleBinding deleted by hand.
    Api::<RoleBinding>::namespaced(client.clone(), &few)
        .delete("sa1", &DeleteParams::default())
        .await
        .unwrap();
    // Last use: the API server labels a Secret-based token when it is used.
    let file = kscope.path("sa2.kubeconfig");
    kscope
        .run(["kubeconfig", &few, "sa2", "-o", file.to_str().unwrap()])
        .expect_code(0);
    kubectl_as(&dir, &file, &["get", "pods"]).expect_code(0);
    let json = common::eventually(
        "the last-used label appears",
        Duration::from_secs(20),
        || {
            let run = kscope.run(["list", "-n", &few, "-o", "json"]);
            async move {
                let parsed: serde_json::Value =
                    serde_json::from_str(&run.stdout).map_err(|e| e.to_string())?;
                if parsed["items"][2]["lastUsed"].is_string() {
                    Ok(parsed)
                } else {
                    Err(run.stdout)
                }
            }
        },
    )
    .await;
    assert_eq!(json["kind"], "GrantList");
    let items = json["items"].as_array().unwrap();
    assert_eq!(items[0]["serviceAccount"], "sa0");
    assert_eq!(items[0]["status"], "ok");
    assert_eq!(items[0]["lastUsed"], serde_json::Value::Null);
    assert_eq!(items[0]["access"], "template/namespace-admin");
    assert!(items[0]["tokenCreated"].is_string());
    assert_eq!(items[1]["status"], "RoleBinding missing");
    kscope
        .run(["list", "-n", &few])
        .expect_code(0)
        .stdout_starts_with("NAMESPACE")
        .stdout_contains("never");
}

/// The RoleBinding's roleRef as `Kind/name`.
async fn bound(client: &Client, ns: &str, sa: &str) -> String {
    let rb = Api::<RoleBinding>::namespaced(client.clone(), ns)
        .get(sa)
        .await
        .unwrap();
    format!("{}/{}", rb.role_ref.kind, rb.role_ref.name)
}

#[tokio::test]
async fn access_changes_in_every_direction_replace_the_binding() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("switch");
    let mut kscope = admin(&dir);
    let roles = Api::<Role>::namespaced(client.clone(), &ns);
    kscope
        .run(["grant", &ns, "sw", "--template", "developer"])
        .expect_code(0);
    let steps: [(&[&str], &str, &str, bool); 4] = [
        (
            &["--cluster-role", "view"],
            "ClusterRole/view",
            "replaced",
            false,
        ),
        (
            &["--cluster-role", "edit"],
            "ClusterRole/edit",
            "replaced",
            false,
        ),
        (&["--template", "read-only"], "Role/sw", "replaced", true),
        (&["--template", "developer"], "Role/sw", "unchanged", true),
    ];
    for (flags, expected, binding_result, has_role) in steps {
        let mut args = vec!["grant", ns.as_str(), "sw", "-o", "json"];
        args.extend(flags);
        let run = kscope.run(&args).expect_code(0);
        let parsed = run.stdout_json();
        let binding = parsed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == "RoleBinding")
            .unwrap();
        assert_eq!(
            binding["result"], binding_result,
            "{flags:?}: {}",
            run.stdout
        );
        assert_eq!(bound(&client, &ns, "sw").await, expected, "{flags:?}");
        assert_eq!(
            roles.get_opt("sw").await.unwrap().is_some(),
            has_role,
            "{flags:?}"
        );
        kscope.run(["check", &ns, "sw"]).expect_code(0);
    }

    // The half-made grant an old failure left: the ServiceAccount records view, the binding
    // still points at the template's Role. check sees it; the same grant again repairs it.
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"kscope.dev/access": "clusterrole/view"}}});
    accounts
        .patch("sw", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    kscope
        .run(["check", &ns, "sw"])
        .expect_code(3)
        .stdout_contains("binds Role/sw !");
    kscope
        .run(["grant", &ns, "sw", "--cluster-role", "view"])
        .expect_code(0);
    assert_eq!(bound(&client, &ns, "sw").await, "ClusterRole/view");
    assert!(
        roles.get_opt("sw").await.unwrap().is_none(),
        "the stale Role is gone"
    );
    kscope.run(["check", &ns, "sw"]).expect_code(0);
}

#[tokio::test]
async fn a_grant_that_cannot_be_remembered_still_succeeds_with_a_warning() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("nostate");
    let kscope = admin(&dir);
    // The state directory's parent is a file: nothing can be written there.
    let blocker = kscope.path("blocker");
    std::fs::write(&blocker, "not a directory").unwrap();
    let mut kscope = kscope.env("XDG_STATE_HOME", blocker.join("state"));
    kscope
        .run(["grant", &ns, "app"])
        .expect_code(0)
        .stderr_contains("warning: could not record the grant in");
    kscope.run(["kubeconfig", &ns, "app"]).expect_code(0);
}

#[tokio::test]
async fn kubectl_runs_kscope_as_its_plugin() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("plugin");
    let mut kscope = admin(&dir);
    kscope.run(["grant", &ns, "app"]).expect_code(0);
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_kscope"),
        bin.path().join("kubectl-kscope"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut kubectl = common::kubectl(&dir);
    kubectl
        .env("PATH", path)
        .env("HOME", kscope.home())
        .args(["kscope", "list", "-n", &ns]);
    Run::of(&mut kubectl)
        .expect_code(0)
        .stdout_contains(&format!("{ns}  "))
        .stdout_contains("app");
}

/// The tenant mints its own long token, bound to its ServiceAccount rather than to the token
/// Secret, with the kubeconfig kscope gave it; writes it to a kubeconfig of its own.
fn self_minted(
    dir: &Path,
    kscope: &Kscope,
    given: &Path,
    ns: &str,
    sa: &str,
    name: &str,
) -> std::path::PathBuf {
    // The tenant may mint its own token, and it works.
    let run = kubectl_as(dir, given, &["create", "token", sa, "--duration=8760h"]).expect_code(0);
    let path = kscope.path(name);
    common::write_token_kubeconfig(dir, run.stdout.trim(), Some(ns), &path);
    kubectl_as(dir, &path, &["get", "pods"]).expect_code(0);
    path
}

/// A namespace-admin grant `ci` in `ns`, the kubeconfig kscope gave it, and a kubeconfig with
/// the token the tenant minted for itself with that one.
fn granted_and_self_minted(
    dir: &Path,
    ns: &str,
) -> (Kscope, std::path::PathBuf, std::path::PathBuf) {
    let mut kscope = admin(dir);
    kscope.run(["grant", ns, "ci"]).expect_code(0);
    let given = kscope.path("given.kubeconfig");
    kscope
        .run(["kubeconfig", ns, "ci", "-o", given.to_str().unwrap()])
        .expect_code(0);
    let mine = self_minted(dir, &kscope, &given, ns, "ci", "mine.kubeconfig");
    (kscope, given, mine)
}

#[tokio::test]
async fn a_self_minted_token_is_refused_after_rotate_and_after_revoke() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("selfmint");
    let (mut kscope, given, mine) = granted_and_self_minted(&dir, &ns);

    let new = kscope.path("new.kubeconfig");
    kscope
        .run(["rotate", &ns, "ci", "-o", new.to_str().unwrap()])
        .expect_code(0)
        .stderr_contains("every earlier token of the ServiceAccount");
    refused(&dir, &mine, &ns).await;
    refused(&dir, &given, &ns).await;
    // The new kubeconfig works.
    kubectl_as(&dir, &new, &["get", "pods"]).expect_code(0);
    // Nothing else of the grant changed: it still checks out.
    kscope.run(["check", &ns, "ci"]).expect_code(0);

    let again = self_minted(&dir, &kscope, &new, &ns, "ci", "again.kubeconfig");
    kscope
        .run(["revoke", &ns, "ci", "--yes"])
        .expect_code(0)
        .stdout_contains("a token minted for the ServiceAccount just before is refused (401)");
    refused(&dir, &again, &ns).await;
}

/// Killed anywhere, a revoke leaves the grant whole or no token of the ServiceAccount with
/// the grant's access (the RoleBinding goes first); a second revoke finishes it.
#[tokio::test]
async fn a_revoke_killed_anywhere_leaves_no_token_with_the_grants_access() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    for delay in [0u64, 40, 100, 200, 400] {
        let ns = common::unique_name(&format!("killed{delay}"));
        let (mut kscope, _, mine) = granted_and_self_minted(&dir, &ns);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kscope"))
            .args(["revoke", &ns, "ci", "--yes"])
            .env("KUBECONFIG", common::admin_kubeconfig_path(&dir))
            .env("HOME", kscope.home())
            .env("XDG_STATE_HOME", kscope.home().join("state"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let left = grant_objects(&client, &ns, "ci").await;
        if left.iter().any(|o| o.starts_with("RoleBinding")) {
            assert_eq!(
                left.len(),
                4,
                "after {delay} ms: a RoleBinding without the rest: {left:?}"
            );
        } else {
            let run = kubectl_as(&dir, &mine, &["get", "pods", "-n", &ns]);
            assert_ne!(
                run.code, 0,
                "after {delay} ms, with {left:?} left, the self-minted token still lists pods"
            );
        }
        // The second revoke finishes the job, or finds nothing left to revoke.
        let run = kscope
            .run(["revoke", &ns, "ci", "--yes"])
            .about(format!("the second revoke, after {delay} ms"));
        if run.code != 0 {
            run.expect_code(1).stderr_contains("no kscope grant");
        }
        assert!(grant_objects(&client, &ns, "ci").await.is_empty());
        refused(&dir, &mine, &ns).await;
    }
}
