//! `kscope apply -f` against the real control plane: a set of 200 tenants applied and applied
//! again without a write, kubeconfigs used by the real kubectl, prune that touches exactly the
//! grants that left the file, an invalid file refused whole, one failing tenant among many,
//! and one set on two clusters through two contexts.

mod common;
mod runner;

use common::admin;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};
use runner::{Kscope, Run};
use serde_json::json;

fn results(run: &Run) -> Vec<serde_json::Value> {
    let parsed = run.stdout_json();
    assert_eq!(parsed["kind"], "TenantResultList", "{}", run.describe());
    parsed["items"].as_array().unwrap().clone()
}

async fn account_exists(client: &Client, ns: &str, sa: &str) -> bool {
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .get_opt(sa)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn a_set_of_200_is_applied_reapplied_without_writes_and_pruned_exactly() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let set = common::unique_name("fleet");
    let namespaces: Vec<String> = (0..20).map(|i| format!("{set}-{i}")).collect();
    let tenants: Vec<String> = namespaces
        .iter()
        .flat_map(|ns| {
            (0..10).map(move |j| match j {
                0 => format!("{{namespace: {ns}, serviceAccount: sa{j}, clusterRole: view}}"),
                1 => format!(
                    "{{namespace: {ns}, serviceAccount: sa{j}, kubeconfig: {{duration: 1h}}}}"
                ),
                _ => format!("{{namespace: {ns}, serviceAccount: sa{j}}}"),
            })
        })
        .collect();
    assert_eq!(tenants.len(), 200);
    let mut kscope = admin(&dir);
    let file = common::set_file(kscope.home(), &set, &tenants);
    let kubeconfigs = kscope.path("kubeconfigs");
    std::fs::create_dir_all(&kubeconfigs).unwrap();
    let (f, k) = (file.to_str().unwrap(), kubeconfigs.to_str().unwrap());

    let run = kscope
        .run(["apply", "-f", f, "--kubeconfig-dir", k, "-o", "json"])
        .expect_code(0);
    let first = results(&run);
    assert_eq!(first.len(), 200);
    assert!(
        first.iter().all(|r| r["result"] == "created"),
        "{}",
        run.stdout
    );

    // A grant of the same namespace made by `kscope grant`, and one of another set: prune
    // must not touch them.
    kscope
        .run(["grant", &namespaces[0], "by-hand"])
        .expect_code(0);
    let other = common::set_file(
        kscope.home(),
        &format!("{set}-other"),
        &[format!(
            "{{namespace: {}, serviceAccount: theirs}}",
            namespaces[0]
        )],
    );
    kscope
        .run(["apply", "-f", other.to_str().unwrap()])
        .expect_code(0);

    // Again: every tenant unchanged, and not one object written.
    let run = kscope
        .run(["apply", "-f", f, "--kubeconfig-dir", k, "-o", "json", "-v"])
        .expect_code(0);
    assert!(
        results(&run).iter().all(|r| r["result"] == "unchanged"),
        "{}",
        run.stdout
    );
    let writes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("kscope: PATCH")
                || l.starts_with("kscope: PUT")
                || l.starts_with("kscope: DELETE")
        })
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    let created: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("kscope: POST") && !l.contains("selfsubject") && !l.contains("/token")
        })
        .collect();
    assert!(created.is_empty(), "{created:?}");

    // The kubeconfigs work with the real kubectl (long-lived and expiring).
    for name in ["sa0", "sa1", "sa5"] {
        let path = kubeconfigs.join(format!("{}_{name}.kubeconfig", namespaces[3]));
        runner::kubectl_as(common::kubectl(&dir), &path, &["get", "pods"]).expect_code(0);
    }

    // Five tenants leave the file: prune revokes exactly them.
    let kept: Vec<String> = tenants[5..].to_vec();
    let file = common::set_file(kscope.home(), &set, &kept);
    kscope
        .run([
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--prune",
            "-o",
            "json",
        ])
        .expect_code(2)
        .stderr_contains("--yes");
    let run = kscope
        .run([
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--prune",
            "--yes",
            "-o",
            "json",
        ])
        .expect_code(0);
    let pruned: Vec<(String, String)> = results(&run)
        .iter()
        .filter(|r| r["result"] == "pruned")
        .map(|r| {
            (
                r["namespace"].as_str().unwrap().to_string(),
                r["serviceAccount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = (0..5)
        .map(|j| (namespaces[0].clone(), format!("sa{j}")))
        .collect();
    assert_eq!(pruned, expected);
    for j in 0..5 {
        assert!(!account_exists(&client, &namespaces[0], &format!("sa{j}")).await);
    }
    assert!(account_exists(&client, &namespaces[0], "sa5").await);
    assert!(
        account_exists(&client, &namespaces[0], "by-hand").await,
        "a kscope grant is not the set's"
    );
    assert!(
        account_exists(&client, &namespaces[0], "theirs").await,
        "another set's grant stays"
    );
}

#[tokio::test]
async fn an_invalid_file_is_refused_whole_with_every_line() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("invalid");
    let mut kscope = admin(&dir);
    let file = common::set_file(
        kscope.home(),
        "broken",
        &[
            format!("{{namespace: {ns}, serviceAccount: good}}"),
            format!("{{namespace: {ns}, serviceAccount: Bad_Name}}"),
            format!("{{namespace: {ns}, serviceAccount: two, template: nope}}"),
            format!("{{namespace: {ns}, serviceAccount: good}}"),
        ],
    );
    let f = file.display().to_string();
    kscope
        .run(["apply", "-f", file.to_str().unwrap()])
        .expect_code(2)
        .stderr_contains(&format!("{f}:9:"))
        .stderr_contains("invalid serviceaccount name \"Bad_Name\"")
        .stderr_contains(&format!("{f}:10:"))
        .stderr_contains("unknown template \"nope\"")
        .stderr_contains("listed twice (first at line 8)")
        .stderr_contains("has 3 problems; nothing was sent");
    let namespace = Api::<Namespace>::all(client).get_opt(&ns).await.unwrap();
    assert!(namespace.is_none(), "nothing was created");
}

#[tokio::test]
async fn one_failing_tenant_does_not_stop_the_others() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("onefails");
    common::create_namespace(&client, &ns).await;
    // Someone else's ServiceAccount of a tenant's name: kscope refuses to take it over.
    let theirs: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "taken"}})).unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &theirs)
        .await
        .unwrap();
    let mut kscope = admin(&dir);
    let tenants: Vec<String> = ["a", "b", "taken", "c", "d"]
        .iter()
        .map(|sa| format!("{{namespace: {ns}, serviceAccount: {sa}}}"))
        .collect();
    let file = common::set_file(kscope.home(), &common::unique_name("onefails"), &tenants);
    let run = kscope
        .run(["apply", "-f", file.to_str().unwrap(), "-o", "json"])
        .expect_code(1);
    let rows = results(&run);
    let failed: Vec<&serde_json::Value> = rows.iter().filter(|r| r["result"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert_eq!(failed[0]["serviceAccount"], "taken");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not managed by kscope"),
        "{}",
        run.stdout
    );
    assert_eq!(rows.iter().filter(|r| r["result"] == "created").count(), 4);
    run.stderr_contains("1 of 5 tenants failed");
}

#[tokio::test]
async fn one_set_on_two_clusters_through_two_contexts() {
    let (first, second) = (common::cluster_dir(), common::faults_cluster_dir());
    let kscope = Kscope::new();
    let kubeconfig = common::two_clusters(&first, &second, kscope.home());
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    let ns = common::unique_name("twoclusters");
    let file = common::set_file(
        kscope.home(),
        &common::unique_name("two"),
        &[format!("{{namespace: {ns}, serviceAccount: ci}}")],
    );
    let out = kscope.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let run = kscope
        .run([
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--context",
            "one",
            "--context",
            "two",
            "--kubeconfig-dir",
            out.to_str().unwrap(),
        ])
        .expect_code(0);
    run.stdout_starts_with("CONTEXT");
    assert_eq!(run.stdout.matches(" created").count(), 2, "{}", run.stdout);
    for (context, dir) in [("one", &first), ("two", &second)] {
        let client = common::admin_client(dir).await;
        assert!(account_exists(&client, &ns, "ci").await, "{context}");
        let path = out.join(context).join(format!("{ns}_ci.kubeconfig"));
        runner::kubectl_as(common::kubectl(dir), &path, &["get", "pods"]).expect_code(0);
    }
}

/// `team-a`/`ci` and `team`/`a-ci` once shared `team-a-ci.kubeconfig`, so one tenant received
/// the other's token. Each grant now has a file of its own, holding its own identity.
#[tokio::test]
async fn names_that_read_alike_never_share_a_kubeconfig_file() {
    let dir = common::cluster_dir();
    let home = tempfile::tempdir().unwrap();
    let base = common::unique_name("alike");
    let (first, second) = (format!("{base}-a"), base.clone());
    let set = common::set_file(
        home.path(),
        &common::unique_name("alike-set"),
        &[
            format!("{{namespace: {first}, serviceAccount: ci}}"),
            format!("{{namespace: {second}, serviceAccount: a-ci}}"),
        ],
    );
    // A directory that does not exist yet, two levels deep: apply makes it, private.
    let out = home.path().join("kubeconfigs").join("alike");
    admin(&dir)
        .run([
            "apply",
            "-f",
            set.to_str().unwrap(),
            "--kubeconfig-dir",
            out.to_str().unwrap(),
        ])
        .expect_code(0);
    for (ns, sa) in [(&first, "ci"), (&second, "a-ci")] {
        let path = out.join(format!("{ns}_{sa}.kubeconfig"));
        let run = runner::kubectl_as(
            common::kubectl(&dir),
            &path,
            &[
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        );
        assert_eq!(
            run.expect_code(0).stdout,
            format!("system:serviceaccount:{ns}:{sa}")
        );
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);
    use std::os::unix::fs::PermissionsExt;
    for made in [&out, &home.path().join("kubeconfigs")] {
        let mode = std::fs::metadata(made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", made.display());
    }
}

/// A tenant that labels an object of its own as another grant's, in the set, cannot make
/// prune revoke that grant: only the grant's own objects, applied by kscope, count.
#[tokio::test]
async fn a_forged_label_never_extends_prune() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let home = tempfile::tempdir().unwrap();
    let ns = common::unique_name("forged");
    let set = common::unique_name("forged-set");
    // The victim: a grant made by hand with kscope grant, in no set.
    admin(&dir)
        .run(["grant", &ns, "victim", "--template", "read-only"])
        .expect_code(0);
    // The forgery: a ServiceAccount of another name claiming the set and the victim's grant.
    let forged: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "decoy", "labels": {
            "app.kubernetes.io/managed-by": "kscope",
            "kscope.dev/grant": "victim",
            "kscope.dev/set": set,
        }},
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &forged)
        .await
        .unwrap();
    let file = common::set_file(
        home.path(),
        &set,
        &[format!("{{namespace: {ns}, serviceAccount: member}}")],
    );
    let run = admin(&dir)
        .run([
            "apply",
            "-f",
            file.to_str().unwrap(),
            "--prune",
            "--yes",
            "-o",
            "json",
        ])
        .expect_code(0);
    assert!(
        results(&run).iter().all(|r| r["result"] != "pruned"),
        "{}",
        run.stdout
    );
    assert!(
        account_exists(&client, &ns, "victim").await,
        "the victim was pruned"
    );
    assert!(account_exists(&client, &ns, "member").await);
}

/// The tenants of one namespace are granted one after the other, each handing what it saw of
/// the namespace to the next: a later tenant is still judged with the grants made before it
/// (a developer beside a namespace-admin can act as it, and is refused), in a namespace the
/// run made and again when it exists; kscope's bounds are made once and hold against a later
/// tenant, tried with the real kubectl.
#[tokio::test]
async fn later_tenants_of_a_namespace_are_judged_with_the_grants_before_them() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("near");
    let mut kscope = admin(&dir);
    let tenants: Vec<String> = [
        ("boss", "namespace-admin"),
        ("dev", "developer"),
        ("peer", "namespace-admin"),
    ]
    .iter()
    .map(|(sa, t)| format!("{{namespace: {ns}, serviceAccount: {sa}, template: {t}}}"))
    .collect();
    let file = common::set_file(kscope.home(), &common::unique_name("near"), &tenants);
    let kubeconfigs = kscope.path("kubeconfigs");
    std::fs::create_dir_all(&kubeconfigs).unwrap();
    let (f, k) = (file.to_str().unwrap(), kubeconfigs.to_str().unwrap());
    for (round, made) in [(1, "created"), (2, "unchanged")] {
        let run = kscope
            .run(["apply", "-f", f, "--kubeconfig-dir", k, "-o", "json", "-v"])
            .expect_code(1);
        let rows = results(&run);
        let by = |sa: &str| {
            rows.iter()
                .find(|r| r["serviceAccount"] == sa)
                .unwrap()
                .clone()
        };
        assert_eq!(by("boss")["result"], made, "round {round}: {}", run.stdout);
        assert_eq!(by("peer")["result"], made, "round {round}: {}", run.stdout);
        assert_eq!(
            by("dev")["result"],
            "failed",
            "round {round}: {}",
            run.stdout
        );
        let reason = by("dev")["reason"].as_str().unwrap().to_string();
        assert!(
            reason.contains("holds ServiceAccount boss") || reason.contains("ServiceAccount peer"),
            "round {round}: {reason}"
        );
        assert!(!account_exists(&client, &ns, "dev").await, "round {round}");
        // The namespace, its quota and its network policy are written by the first tenant
        // only: the later ones know them from it.
        if round == 1 {
            for (kind, name) in [
                ("resourcequotas", "kscope-quota"),
                ("networkpolicies", "kscope-isolation"),
            ] {
                // Created (POST to the collection) or applied (PATCH of the object), never as
                // a server dry run (the guard's proofs).
                let (created, applied) = (format!("{ns}/{kind}?"), format!("{ns}/{kind}/{name}"));
                let writes = run
                    .stderr
                    .lines()
                    .filter(|l| {
                        (l.starts_with("kscope: POST") && l.contains(&created))
                            || (l.starts_with("kscope: PATCH") && l.contains(&applied))
                    })
                    .filter(|l| !l.contains("dryRun"))
                    .count();
                assert_eq!(writes, 1, "{kind}/{name}: {}", run.stderr);
            }
        }
    }
    // The later tenant's kubeconfig, through the real kubectl: at work in its namespace, and
    // refused where kscope's quota (by RBAC: no template writes quotas) and network policy
    // (by the guard) would change.
    let peer = kubeconfigs.join(format!("{ns}_peer.kubeconfig"));
    runner::kubectl_as(common::kubectl(&dir), &peer, &["get", "pods"]).expect_code(0);
    for (object, refused_by) in [
        ("resourcequota/kscope-quota", "cannot delete resource"),
        ("networkpolicy/kscope-isolation", "kscope-tenant-guard"),
    ] {
        let run = runner::kubectl_as(
            common::kubectl(&dir),
            &peer,
            &["delete", object, "--dry-run=server"],
        );
        assert_ne!(run.code, 0, "{object}: {}", run.describe());
        run.stderr_contains(refused_by);
    }
}
