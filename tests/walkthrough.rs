//! kscope against the real control plane, through the built binary and the real kubectl: the
//! acceptance walkthrough of shared/TESTING.md, idempotence, adoption, escalation prevention,
//! expiring tokens and their revocation, a missing token controller, drift found by `check`,
//! and the API errors a platform engineer meets.

mod common;
mod runner;

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use runner::{Kscope, Run};

fn kubectl_as(dir: &Path, kubeconfig: &Path, args: &[&str]) -> Run {
    runner::kubectl_as(common::kubectl(dir), kubeconfig, args)
}

/// The resourceVersions of a grant's five objects.
async fn versions(client: &Client, ns: &str, sa: &str) -> Vec<String> {
    let rv = |o: Option<String>| o.unwrap_or_else(|| "<missing>".into());
    vec![
        rv(Api::<Namespace>::all(client.clone())
            .get(ns)
            .await
            .unwrap()
            .resource_version()),
        rv(Api::<ServiceAccount>::namespaced(client.clone(), ns)
            .get(sa)
            .await
            .unwrap()
            .resource_version()),
        rv(Api::<Secret>::namespaced(client.clone(), ns)
            .get(&format!("{sa}-token"))
            .await
            .unwrap()
            .resource_version()),
        rv(Api::<Role>::namespaced(client.clone(), ns)
            .get(sa)
            .await
            .unwrap()
            .resource_version()),
        rv(Api::<RoleBinding>::namespaced(client.clone(), ns)
            .get(sa)
            .await
            .unwrap()
            .resource_version()),
    ]
}

async fn token_of(client: &Client, ns: &str, sa: &str) -> String {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get(&format!("{sa}-token"))
        .await
        .unwrap();
    String::from_utf8(secret.data.unwrap()["token"].0.clone()).unwrap()
}

#[tokio::test]
async fn acceptance_walkthrough() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("ask");
    let sa = "ask-sa";
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));

    // 1. grant: every object exists, the token is filled in.
    let run = kscope.run(["grant", &ns, sa, "-v"]).expect_code(0);
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
    ] {
        assert!(run.stdout.contains(kind), "{kind}: {}", run.stdout);
    }
    // The five objects are new; so is the guard's binding for the namespace (the policy may
    // have come with an earlier test's grant).
    let created = |kind: &str| {
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(kind) && l.ends_with("created"))
    };
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
        "ValidatingAdmissionPolicyBinding",
    ] {
        assert!(created(kind), "{kind} not created: {}", run.stdout);
    }
    let token = token_of(&client, &ns, sa).await;
    assert!(!token.is_empty());
    let sa_object = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get(sa)
        .await
        .unwrap();
    assert!(
        sa_object.secrets.is_none(),
        "the token Secret must not be listed on the SA"
    );
    assert!(
        !run.stderr.contains(&token),
        "-v output must never hold the token"
    );
    assert!(
        !run.stderr.contains("/api/v1/namespaces?"),
        "no discovery or listing"
    );
    assert!(
        !run.stderr.contains("/apis?") && !run.stderr.contains("GET /api\n"),
        "no discovery calls"
    );

    // 2. kubeconfig on stdout, as `kscope kubeconfig > ask.kubeconfig`.
    let run = kscope.run(["kubeconfig"]).expect_code(0);
    assert!(
        run.stdout.contains(&token),
        "the kubeconfig holds the Secret's token"
    );
    assert!(
        run.stderr.contains("credential"),
        "warns that the output is a credential"
    );
    assert!(!run.stderr.contains(&token));
    let file = kscope.path("ask.kubeconfig");
    std::fs::write(&file, &run.stdout).unwrap();

    // 3. the real kubectl with that kubeconfig.
    let denied = kubectl_as(&dir, &file, &["get", "pods", "-n", "default"]);
    assert_ne!(denied.code, 0);
    let expected = format!(
        "pods is forbidden: User \"system:serviceaccount:{ns}:{sa}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    assert!(denied.stderr.contains(&expected), "{}", denied.stderr);
    // The context carries the namespace, so a bare `get pods` lands in the tenant namespace.
    for args in [vec!["get", "pods"], vec!["get", "pods", "-n", &ns]] {
        let ok = kubectl_as(&dir, &file, &args);
        assert_eq!(ok.code, 0, "{args:?}: {}", ok.stderr);
        assert!(
            ok.stderr
                .contains(&format!("No resources found in {ns} namespace.")),
            "{}",
            ok.stderr
        );
    }

    // 4. check exits 0 with the matrix.
    let run = kscope.run(["check"]).expect_code(0);
    assert!(
        run.stdout
            .contains(&format!("identity: system:serviceaccount:{ns}:{sa}")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("all 105 answers match the grant"),
        "{}",
        run.stdout
    );
    let run = kscope
        .run([
            "check",
            &ns,
            sa,
            "--kubeconfig-file",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    assert!(run.stdout.contains("answers match the grant"));
    // With only the file, the grant is whoever the file's credential is.
    let run = Kscope::new()
        .kubeconfig(&common::admin_kubeconfig_path(&dir))
        .run([
            "check",
            "--kubeconfig-file",
            file.to_str().unwrap(),
            "-o",
            "json",
        ])
        .expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["apiVersion"], "kscope.dev/v1alpha1");
    assert_eq!(report["kind"], "AccessCheck");
    assert_eq!(report["namespace"], ns.as_str());
    assert_eq!(report["serviceAccount"], sa);
    assert!(report["answers"][0]["expected"].is_boolean(), "{report}");

    // 5. grant again: nothing changes, not even a resourceVersion.
    let before = versions(&client, &ns, sa).await;
    let run = kscope.run(["grant", &ns, sa, "-o", "json"]).expect_code(0);
    let results: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(results["kind"], "GrantResultList");
    let outcomes: Vec<&str> = results["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "exists",
            "unchanged",
            "unchanged",
            "unchanged",
            "unchanged",
            "unchanged",
            "unchanged"
        ]
    );
    assert_eq!(versions(&client, &ns, sa).await, before);
}

#[tokio::test]
async fn kubeconfig_file_output_is_private_merges_and_never_overwrites() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("files");
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    kscope
        .run(["grant", &ns, "one", "--template", "read-only"])
        .expect_code(0);
    kscope
        .run(["grant", &ns, "two", "--cluster-role", "view"])
        .expect_code(0);
    let (a, b) = (kscope.path("a.kubeconfig"), kscope.path("b.kubeconfig"));
    kscope
        .run(["kubeconfig", &ns, "one", "--output", a.to_str().unwrap()])
        .expect_code(0);
    kscope
        .run(["kubeconfig", &ns, "two", "-o", b.to_str().unwrap()])
        .expect_code(0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = kscope
        .run(["kubeconfig", &ns, "one", "--output", a.to_str().unwrap()])
        .expect_code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    kscope
        .run([
            "kubeconfig",
            &ns,
            "one",
            "--output",
            a.to_str().unwrap(),
            "--force",
        ])
        .expect_code(0);

    // Two kscope kubeconfigs merge through KUBECONFIG=a:b: both contexts, distinct names.
    let merged = format!("{}:{}", a.display(), b.display());
    let out = common::kubectl(&dir)
        .env("KUBECONFIG", &merged)
        .args(["config", "get-contexts", "-o", "name"])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(
        names.contains(&format!("{ns}/one@")) && names.contains(&format!("{ns}/two@")),
        "{names}"
    );
    for context in names.lines() {
        let out = common::kubectl(&dir)
            .env("KUBECONFIG", &merged)
            .args(["--context", context, "get", "pods"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{context}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn expiring_token_works_and_dies_with_its_secret() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("expiring");
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    kscope.run(["grant", &ns, "ci"]).expect_code(0);
    let file = kscope.path("ci.kubeconfig");
    let run = kscope
        .run([
            "kubeconfig",
            &ns,
            "ci",
            "--duration",
            "10m",
            "--output",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    assert!(
        run.stderr.contains("the token expires at"),
        "{}",
        run.stderr
    );
    let legacy = token_of(&client, &ns, "ci").await;
    assert!(
        !std::fs::read_to_string(&file).unwrap().contains(&legacy),
        "an expiring token, not the Secret's"
    );
    let ok = kubectl_as(&dir, &file, &["get", "pods"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);

    Api::<Secret>::namespaced(client.clone(), &ns)
        .delete("ci-token", &DeleteParams::default())
        .await
        .unwrap();
    common::eventually(
        "the bound token is rejected",
        Duration::from_secs(30),
        || {
            let run = kubectl_as(&dir, &file, &["get", "pods"]);
            async move {
                if run.code != 0 && run.stderr.contains("Unauthorized") {
                    Ok(())
                } else {
                    Err(format!("exit {}: {}", run.code, run.stderr))
                }
            }
        },
    )
    .await;
}

#[tokio::test]
async fn adopt_is_needed_to_take_over_objects_kscope_did_not_make() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::namespace_with_sa(&client, "adopt", "builder").await;
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    let run = kscope.run(["grant", &ns, "builder"]).expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "ServiceAccount {ns}/builder already exists and is not managed by kscope"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--adopt"));
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    assert!(
        secrets.get_opt("builder-token").await.unwrap().is_none(),
        "nothing half made"
    );
    assert!(
        Api::<Role>::namespaced(client.clone(), &ns)
            .get_opt("builder")
            .await
            .unwrap()
            .is_none()
    );

    kscope
        .run(["grant", &ns, "builder", "--adopt"])
        .expect_code(0);
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get("builder")
        .await
        .unwrap();
    assert_eq!(sa.labels()["app.kubernetes.io/managed-by"], "kscope");
}

#[tokio::test]
async fn escalation_is_refused_before_anything_is_created() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    // A namespace admin (the built-in `admin` ClusterRole, bound in one namespace) may hand
    // out `developer` there, but not the wildcard rules of `namespace-admin`.
    let ns = common::namespace_with_sa(&client, "escalate", "lead").await;
    common::bind_cluster_role(&client, &ns, "lead-admin", "admin", "lead").await;
    let token = common::mint_token(&client, &ns, "lead", Some(3600)).await;
    let lead = std::env::temp_dir().join(format!("{ns}-lead.kubeconfig"));
    common::write_token_kubeconfig(&dir, &token, Some(&ns), &lead);
    let mut kscope = Kscope::new().kubeconfig(&lead);

    let run = kscope.run(["grant", &ns, "tenant"]).expect_code(1);
    assert!(
        run.stderr.contains("you may not make this grant: you lack"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("on *"),
        "names the wildcard it lacks: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(&token));
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("tenant").await.unwrap().is_none(),
        "nothing was created"
    );

    // Another namespace is out of reach altogether: the lead holds nothing there.
    let other = common::unique_name("elsewhere");
    let run = kscope
        .run(["grant", &other, "tenant", "--template", "developer"])
        .expect_code(1);
    assert!(
        run.stderr.contains("get,create,patch on serviceaccounts"),
        "{}",
        run.stderr
    );

    // The lead itself is a ServiceAccount of the namespace with more than developer: a
    // developer could run a pod as it. That is refused, naming it, until accepted.
    let run = kscope
        .run(["grant", &ns, "tenant", "--template", "developer"])
        .expect_code(1);
    assert!(
        run.stderr.contains("holds ServiceAccount lead"),
        "{}",
        run.stderr
    );
    let run = kscope.run([
        "grant",
        &ns,
        "tenant",
        "--template",
        "developer",
        "--allow-shared-namespace",
    ]);
    assert_eq!(run.code, 0, "admin may grant developer: {}", run.stderr);
    std::fs::remove_file(lead).ok();
}

#[tokio::test]
async fn check_exits_3_when_the_binding_is_removed_behind_its_back() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("drift");
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    kscope
        .run(["grant", &ns, "app", "--template", "developer"])
        .expect_code(0);
    // A grant that holds is answered from one rules review per namespace, not one request
    // per answer.
    let holds = kscope
        .run(["check", &ns, "app", "-o", "json", "-v"])
        .expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&holds.stdout).unwrap();
    let answers = report["answers"].as_array().unwrap();
    assert!(answers.len() > 100, "{}", holds.stdout);
    assert!(
        answers
            .iter()
            .all(|a| a["answeredBy"] == "SelfSubjectRulesReview"),
        "{}",
        holds.stdout
    );
    assert_eq!(
        holds.stderr.matches("selfsubjectrulesreviews").count(),
        3,
        "{}",
        holds.stderr
    );
    assert!(
        !holds.stderr.contains("selfsubjectaccessreviews"),
        "{}",
        holds.stderr
    );
    Api::<RoleBinding>::namespaced(client.clone(), &ns)
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    let run = common::eventually(
        "check notices the missing binding",
        Duration::from_secs(20),
        || {
            let run = kscope.run(["check", &ns, "app", "-o", "json"]);
            async move {
                if run.code == 3 {
                    Ok(run)
                } else {
                    Err(run.stdout)
                }
            }
        },
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let differing = report["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["allowed"] != a["expected"])
        .inspect(|a| {
            // A difference always comes from the authorizer's own decision on that question.
            assert_eq!(a["answeredBy"], "SelfSubjectAccessReview", "{a}");
            assert_eq!(a["allowed"], false, "{a}");
        })
        .count();
    assert!(differing > 0);
    assert!(
        run.stderr.contains("differs from the grant"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn no_token_controller_means_exit_4_with_the_cause() {
    let dir = common::no_kcm_cluster_dir();
    let ns = common::unique_name("nokcm");
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    let run = kscope
        .run(["grant", &ns, "waiter", "--timeout", "3s"])
        .expect_code(4);
    assert!(
        run.stderr.contains(&format!(
            "the token Secret {ns}/waiter-token was not filled in within 3s"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("kube-controller-manager"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_terminating_namespace_is_explained() {
    // Without kube-controller-manager a deleted namespace stays Terminating for good.
    let dir = common::no_kcm_cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("ending");
    common::create_namespace(&client, &ns).await;
    common::delete_namespace(&client, &ns).await;
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    let run = kscope.run(["grant", &ns, "late"]).expect_code(1);
    assert!(
        run.stderr.contains("is being deleted (terminating)"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_field_manager_conflict_is_a_409_with_a_hint() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("conflict");
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(0);
    // Another manager takes over the Role's rules.
    let role = serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": { "name": "app", "namespace": ns },
        "rules": [{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get"] }],
    });
    Api::<Role>::namespaced(client.clone(), &ns)
        .patch(
            "app",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&role),
        )
        .await
        .unwrap();
    let run = kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(1);
    assert!(run.stderr.contains("conflict"), "{}", run.stderr);
    assert!(run.stderr.contains("--adopt"), "{}", run.stderr);
    kscope
        .run(["grant", &ns, "app", "--template", "read-only", "--adopt"])
        .expect_code(0);
}

/// A kubeconfig like the admin one, changed by `edit`, in a temp file.
fn variant(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(common::admin_kubeconfig_path(dir)).unwrap();
    let mut value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    edit(&mut value);
    let path =
        std::env::temp_dir().join(format!("{}-{name}.kubeconfig", common::unique_name("kc")));
    std::fs::write(&path, serde_json::to_string(&value).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn api_failures_become_sentences() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("errors");
    let refused = variant(&dir, "refused", |v| {
        v["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1".into()
    });
    let wrong_ca = variant(&dir, "wrong-ca", |v| {
        let client_cert = v["users"][0]["user"]["client-certificate-data"].clone();
        v["clusters"][0]["cluster"]["certificate-authority-data"] = client_cert;
    });
    let bad_token = common::token_kubeconfig_json(&dir, "not-a-real-token", None);
    let unauthorized = std::env::temp_dir().join(format!("{ns}-401.kubeconfig"));
    std::fs::write(&unauthorized, bad_token.to_string()).unwrap();
    let cases: [(&Path, &[&str], &str); 4] = [
        (
            &refused,
            &["grant", &ns, "x"],
            "the connection to the API server was refused",
        ),
        (
            &wrong_ca,
            &["grant", &ns, "x"],
            "the TLS handshake with the API server failed",
        ),
        (
            &unauthorized,
            &["grant", &ns, "x"],
            "the API server rejected the credentials (401 Unauthorized)",
        ),
        (
            &common::admin_kubeconfig_path(&dir),
            &["kubeconfig", &ns, "nobody"],
            "there is no token Secret",
        ),
    ];
    for (kubeconfig, args, says) in cases {
        let run = Kscope::new()
            .kubeconfig(kubeconfig)
            .run(args)
            .expect_code(1);
        assert!(
            run.stderr.contains(says),
            "{args:?} should say {says:?}: {}",
            run.stderr
        );
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count(),
            1,
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    }
    for path in [refused, wrong_ca, unauthorized] {
        std::fs::remove_file(path).ok();
    }
}

#[tokio::test]
async fn server_dry_run_validates_without_persisting() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("validate");
    common::create_namespace(&client, &ns).await;
    let mut kscope = Kscope::new().kubeconfig(&common::admin_kubeconfig_path(&dir));
    let run = kscope
        .run(["grant", &ns, "probe", "--dry-run=server"])
        .expect_code(0);
    assert!(run.stdout.contains("created"), "{}", run.stdout);
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("probe").await.unwrap().is_none(),
        "a server dry run persists nothing"
    );
}

#[tokio::test]
async fn without_arguments_kubeconfig_lists_the_grants() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("listed");
    Kscope::new()
        .kubeconfig(&common::admin_kubeconfig_path(&dir))
        .run(["grant", &ns, "someone", "--template", "read-only"])
        .expect_code(0);
    // A fresh home remembers no grant: kscope names the ones it can see (it asked the
    // server for them, so this is exit 1, not the "nothing sent" exit 2).
    let run = Kscope::new()
        .kubeconfig(&common::admin_kubeconfig_path(&dir))
        .run(["kubeconfig"])
        .expect_code(1);
    assert!(run.stderr.contains("no grant named"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("kscope kubeconfig {ns} someone")),
        "{}",
        run.stderr
    );
}
