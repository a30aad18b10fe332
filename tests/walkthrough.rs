//! kscope against the real control plane, through the built binary and the real kubectl: the
//! acceptance walkthrough of shared/TESTING.md, idempotence, adoption, escalation prevention,
//! expiring tokens and their revocation, a missing token controller, drift found by `check`,
//! and the API errors a platform engineer meets.

mod common;
mod runner;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::admin;
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
    let mut kscope = admin(&dir);

    // 1. grant: every object exists, the token is filled in.
    let run = kscope.run(["grant", &ns, sa, "-v"]).expect_code(0);
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
    ] {
        run.stdout_contains(kind);
    }
    // The five objects are new, and kscope's bounds of the namespace; the guard is one for the
    // cluster (an earlier test's grant may have made it), and holds for the namespace by its
    // label, from its first request.
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
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
    ] {
        assert!(created(kind), "{kind} not created: {}", run.stdout);
    }
    let labels = Api::<Namespace>::all(client.clone())
        .get(&ns)
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(
        labels.get("kscope.dev/tenant").map(String::as_str),
        Some("true")
    );
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
    // -v output never holds the token, and shows no discovery or listing.
    run.stderr_lacks(&token)
        .stderr_lacks("GET /api/v1/namespaces?")
        .stderr_lacks("/apis?")
        .stderr_lacks("GET /api\n");

    // 2. kubeconfig on stdout, as `kscope kubeconfig > ask.kubeconfig`: it holds the Secret's
    // token, and kscope warns that the output is a credential.
    let run = kscope.run(["kubeconfig"]).expect_code(0);
    run.stdout_contains(&token)
        .stderr_contains("credential")
        .stderr_lacks(&token);
    let file = kscope.path("ask.kubeconfig");
    std::fs::write(&file, &run.stdout).unwrap();

    // 3. the real kubectl with that kubeconfig.
    let denied = kubectl_as(&dir, &file, &["get", "pods", "-n", "default"]);
    assert_ne!(denied.code, 0, "{}", denied.describe());
    denied.stderr_contains(&format!(
        "pods is forbidden: User \"system:serviceaccount:{ns}:{sa}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    ));
    // The context carries the namespace, so a bare `get pods` lands in the tenant namespace.
    for args in [vec!["get", "pods"], vec!["get", "pods", "-n", &ns]] {
        kubectl_as(&dir, &file, &args)
            .expect_code(0)
            .stderr_contains(&format!("No resources found in {ns} namespace."));
    }

    // 4. check exits 0 with the matrix.
    kscope
        .run(["check"])
        .expect_code(0)
        .stdout_contains(&format!("identity: system:serviceaccount:{ns}:{sa}"))
        .stdout_contains("all 105 answers match the grant");
    kscope
        .run([
            "check",
            &ns,
            sa,
            "--kubeconfig-file",
            file.to_str().unwrap(),
        ])
        .expect_code(0)
        .stdout_contains("answers match the grant");
    // With only the file, the grant is whoever the file's credential is.
    let report = admin(&dir)
        .run([
            "check",
            "--kubeconfig-file",
            file.to_str().unwrap(),
            "-o",
            "json",
        ])
        .expect_code(0)
        .stdout_json();
    assert_eq!(report["apiVersion"], "kscope.dev/v1alpha1");
    assert_eq!(report["kind"], "AccessCheck");
    assert_eq!(report["namespace"], ns.as_str());
    assert_eq!(report["serviceAccount"], sa);
    assert!(report["answers"][0]["expected"].is_boolean(), "{report}");

    // 5. grant again: nothing changes, not even a resourceVersion.
    let before = versions(&client, &ns, sa).await;
    let results = kscope
        .run(["grant", &ns, sa, "-o", "json"])
        .expect_code(0)
        .stdout_json();
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
            "unchanged",
            "unchanged"
        ],
        "the Namespace, the four objects, kscope's quota, limit range and network policy (the \
         guard, already as kscope makes it, is not written again nor listed)"
    );
    assert_eq!(versions(&client, &ns, sa).await, before);
}

#[tokio::test]
async fn kubeconfig_file_output_is_private_merges_and_never_overwrites() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("files");
    let mut kscope = admin(&dir);
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
    kscope
        .run(["kubeconfig", &ns, "one", "--output", a.to_str().unwrap()])
        .expect_code(2)
        .stderr_contains("already exists");
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
    let kubectl = |args: &[&str]| {
        let mut kubectl = common::kubectl(&dir);
        kubectl.env("KUBECONFIG", &merged).args(args);
        Run::of(&mut kubectl)
    };
    let names = kubectl(&["config", "get-contexts", "-o", "name"]);
    names
        .stdout_contains(&format!("{ns}/one@"))
        .stdout_contains(&format!("{ns}/two@"));
    for context in names.stdout.lines() {
        kubectl(&["--context", context, "get", "pods"]).expect_code(0);
    }
}

#[tokio::test]
async fn grant_writes_its_kubeconfig_in_one_command() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let (ns, refused_ns) = (common::unique_name("once"), common::unique_name("once-no"));
    let mut kscope = admin(&dir);
    let file = kscope.path("once.kubeconfig");
    let path = file.to_str().unwrap();
    kscope
        .run(["grant", &ns, "ci", "--write-kubeconfig", path])
        .expect_code(0)
        .stderr_contains("(mode 0600)");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The real kubectl with the file: the grant's namespace, and nothing outside it.
    kubectl_as(&dir, &file, &["get", "pods"]).expect_code(0);
    kubectl_as(
        &dir,
        &file,
        &[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    )
    .expect_code(0)
    .stdout_contains(&format!("system:serviceaccount:{ns}:ci"));
    kubectl_as(&dir, &file, &["get", "pods", "-n", "default"])
        .expect_code(1)
        .stderr_contains("forbidden");
    // An existing file is refused before anything is made; --force replaces it, here with
    // an expiring grant's token, which works the same way.
    kscope
        .run(["grant", &refused_ns, "ci", "--write-kubeconfig", path])
        .expect_code(2)
        .stderr_contains("already exists")
        .stderr_contains("--write-kubeconfig");
    assert!(
        Api::<Namespace>::all(client.clone())
            .get_opt(&refused_ns)
            .await
            .unwrap()
            .is_none(),
        "a refused grant made its namespace"
    );
    let before = std::fs::read_to_string(&file).unwrap();
    kscope
        .run([
            "grant",
            &ns,
            "ci",
            "--expires",
            "1h",
            "--write-kubeconfig",
            path,
            "--force",
        ])
        .expect_code(0);
    assert_ne!(std::fs::read_to_string(&file).unwrap(), before);
    kubectl_as(&dir, &file, &["get", "pods"]).expect_code(0);
}

#[tokio::test]
async fn expiring_token_works_and_dies_with_its_secret() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("expiring");
    let mut kscope = admin(&dir);
    kscope.run(["grant", &ns, "ci"]).expect_code(0);
    let file = kscope.path("ci.kubeconfig");
    kscope
        .run([
            "kubeconfig",
            &ns,
            "ci",
            "--duration",
            "10m",
            "--output",
            file.to_str().unwrap(),
        ])
        .expect_code(0)
        .stderr_contains("the token expires at");
    let legacy = token_of(&client, &ns, "ci").await;
    assert!(
        !std::fs::read_to_string(&file).unwrap().contains(&legacy),
        "an expiring token, not the Secret's"
    );
    kubectl_as(&dir, &file, &["get", "pods"]).expect_code(0);

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
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "builder"])
        .expect_code(1)
        .stderr_contains(&format!(
            "ServiceAccount {ns}/builder already exists and is not managed by kscope"
        ))
        .stderr_contains("--adopt");
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
    // Adopted: kscope's labels, applied by kscope itself (server-side apply records it).
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get("builder")
        .await
        .unwrap();
    assert_eq!(sa.labels()["app.kubernetes.io/managed-by"], "kscope");
    assert_eq!(sa.labels()["kscope.dev/grant"], "builder");
    let fields = common::applied_by(&sa.metadata, "kscope").unwrap_or_else(|| {
        panic!(
            "kscope never applied the adopted ServiceAccount: {:?}",
            sa.metadata.managed_fields
        )
    });
    assert!(
        fields["f:metadata"]["f:labels"]
            .get("f:app.kubernetes.io/managed-by")
            .is_some(),
        "{fields}"
    );
    // From now on the grant is kscope's: run again without --adopt, nothing changes.
    let again = kscope
        .run(["grant", &ns, "builder", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    let account = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "ServiceAccount")
        .unwrap_or_else(|| panic!("{again}"));
    assert_eq!(account["result"], "unchanged", "{again}");
    kscope.run(["check", &ns, "builder"]).expect_code(0);
}

/// A namespace's lead: a ServiceAccount `lead` of a new namespace (named after `prefix`), bound
/// to the built-in `admin` ClusterRole there only, with a kubeconfig of its token. Returns the
/// namespace, the token and the kubeconfig's path.
async fn namespace_lead(dir: &Path, client: &Client, prefix: &str) -> (String, String, PathBuf) {
    let ns = common::namespace_with_sa(client, prefix, "lead").await;
    common::bind_cluster_role(client, &ns, "lead-admin", "admin", "lead").await;
    let token = common::mint_token(client, &ns, "lead", Some(3600)).await;
    let lead = std::env::temp_dir().join(format!("{ns}-lead.kubeconfig"));
    common::write_token_kubeconfig(dir, &token, Some(&ns), &lead);
    (ns, token, lead)
}

#[tokio::test]
async fn escalation_is_refused_before_anything_is_created() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    // A namespace admin (the built-in `admin` ClusterRole, bound in one namespace) may hand
    // out `developer` there, but not the wildcard rules of `namespace-admin`.
    let (ns, token, lead) = namespace_lead(&dir, &client, "escalate").await;
    let mut kscope = Kscope::new().kubeconfig(&lead);

    kscope
        .run(["grant", &ns, "tenant"])
        .expect_code(1)
        .stderr_contains("you may not make this grant: you lack")
        // It names the wildcard it lacks, and never the lead's token.
        .stderr_contains("on *")
        .stderr_lacks(&token);
    let sas = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    assert!(
        sas.get_opt("tenant").await.unwrap().is_none(),
        "nothing was created"
    );

    // Another namespace is out of reach altogether: the lead holds nothing there.
    let other = common::unique_name("elsewhere");
    kscope
        .run(["grant", &other, "tenant", "--template", "developer"])
        .expect_code(1)
        .stderr_contains("get,create,patch on serviceaccounts");

    // The lead itself is a ServiceAccount of the namespace with more than developer: a
    // developer could run a pod as it. That is refused, naming it, until accepted.
    kscope
        .run(["grant", &ns, "tenant", "--template", "developer"])
        .expect_code(1)
        .stderr_contains("holds ServiceAccount lead");
    // Accepted, admin may grant developer, but a namespace lead may not put the namespace
    // under kscope's guard (its label), nor write its quota: both are named, then accepted.
    kscope
        .run([
            "grant",
            &ns,
            "tenant",
            "--template",
            "developer",
            "--allow-shared-namespace",
        ])
        .expect_code(1)
        .stderr_contains("resourcequotas")
        .stderr_contains(&format!("patch on namespaces/{ns}"));
    kscope
        .run([
            "grant",
            &ns,
            "tenant",
            "--template",
            "developer",
            "--allow-shared-namespace",
            "--allow-unguarded",
            "--no-quota",
        ])
        .expect_code(0);
    std::fs::remove_file(lead).ok();
}

#[tokio::test]
async fn check_exits_3_when_the_binding_is_removed_behind_its_back() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("drift");
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "app", "--template", "developer"])
        .expect_code(0);
    // A grant that holds is answered from one rules review per namespace, not one request
    // per answer.
    let holds = kscope
        .run(["check", &ns, "app", "-o", "json", "-v"])
        .expect_code(0);
    let report = holds.stdout_json();
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
        holds
            .stderr
            .lines()
            .filter(|l| l.starts_with("kscope: POST") && l.contains("selfsubjectrulesreviews"))
            .count(),
        3,
        "{}",
        holds.stderr
    );
    holds.stderr_lacks("selfsubjectaccessreviews");
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
    let report = run.stdout_json();
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
    assert!(differing > 0, "{}", run.describe());
    run.stderr_contains("differs from the grant");
}

#[tokio::test]
async fn no_token_controller_means_exit_4_with_the_cause() {
    let dir = common::no_kcm_cluster_dir();
    let ns = common::unique_name("nokcm");
    let mut kscope = admin(&dir);
    kscope
        .run([
            "grant",
            &ns,
            "waiter",
            "--timeout",
            "3s",
            "--token-source",
            "secret",
        ])
        .expect_code(4)
        .stderr_contains(&format!(
            "the token Secret {ns}/waiter-token was not filled in within 3s"
        ))
        .stderr_contains("kube-controller-manager");
}

#[tokio::test]
async fn a_terminating_namespace_is_explained() {
    // Without kube-controller-manager a deleted namespace stays Terminating for good.
    let dir = common::no_kcm_cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("ending");
    common::create_namespace(&client, &ns).await;
    common::delete_namespace(&client, &ns).await;
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "late"])
        .expect_code(1)
        .stderr_contains("is being deleted (terminating)");
}

#[tokio::test]
async fn a_field_manager_conflict_is_a_409_with_a_hint() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let ns = common::unique_name("conflict");
    let mut kscope = admin(&dir);
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
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(1)
        .stderr_contains("conflict")
        .stderr_contains("--adopt");
    let roles = Api::<Role>::namespaced(client.clone(), &ns);
    let taken = roles.get("app").await.unwrap();
    assert!(
        common::applied_by(&taken.metadata, "someone-else")
            .is_some_and(|f| f.get("f:rules").is_some()),
        "{:?}",
        taken.metadata.managed_fields
    );
    kscope
        .run(["grant", &ns, "app", "--template", "read-only", "--adopt"])
        .expect_code(0);
    // Adopted: the rules are kscope's again, held by kscope's apply alone.
    let adopted = roles.get("app").await.unwrap();
    let fields = common::applied_by(&adopted.metadata, "kscope").unwrap_or_else(|| {
        panic!(
            "kscope never applied the adopted Role: {:?}",
            adopted.metadata.managed_fields
        )
    });
    assert!(fields.get("f:rules").is_some(), "{fields}");
    assert!(
        common::applied_by(&adopted.metadata, "someone-else")
            .is_none_or(|f| f.get("f:rules").is_none()),
        "the other manager still holds the rules: {:?}",
        adopted.metadata.managed_fields
    );
    assert_ne!(
        adopted.rules, taken.rules,
        "the other manager's rules are still in place"
    );
    assert_eq!(adopted.labels()["app.kubernetes.io/managed-by"], "kscope");
    // The grant holds again, and needs no --adopt any more.
    kscope.run(["check", &ns, "app"]).expect_code(0);
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
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
        run.stderr_contains(says).stderr_contains("hint: ");
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count(),
            1,
            "{}",
            run.describe()
        );
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
    let mut kscope = admin(&dir);
    kscope
        .run(["grant", &ns, "probe", "--dry-run=server"])
        .expect_code(0)
        .stdout_contains("created")
        .stderr_contains("the API server accepted every object; nothing was persisted");
    // Every object the server accepted, each with what the grant would do to it: the
    // namespace exists and would get kscope's tenant label (the guard holds there by it); the
    // grant's objects and kscope's bounds would be created. (The guard is one for the cluster:
    // an earlier test's grant has made it, so it is not written again.)
    let run = kscope
        .run(["grant", &ns, "probe", "--dry-run=server", "-o", "json"])
        .expect_code(0);
    let report = run.stdout_json();
    assert_eq!(report["kind"], "GrantResultList", "{report}");
    let reported: Vec<[String; 3]> = report["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"))
        .iter()
        .map(|o| ["kind", "name", "result"].map(|key| o[key].as_str().unwrap_or("?").to_string()))
        .filter(|[kind, ..]| !kind.starts_with("ValidatingAdmissionPolicy"))
        .collect();
    let expected: Vec<[String; 3]> = [
        ["Namespace", ns.as_str(), "labelled"],
        ["ServiceAccount", format!("{ns}/probe").as_str(), "created"],
        ["Secret", format!("{ns}/probe-token").as_str(), "created"],
        ["Role", format!("{ns}/probe").as_str(), "created"],
        ["RoleBinding", format!("{ns}/probe").as_str(), "created"],
        [
            "ResourceQuota",
            format!("{ns}/kscope-quota").as_str(),
            "created",
        ],
        [
            "LimitRange",
            format!("{ns}/kscope-limits").as_str(),
            "created",
        ],
        [
            "NetworkPolicy",
            format!("{ns}/kscope-isolation").as_str(),
            "created",
        ],
    ]
    .into_iter()
    .map(|row| row.map(String::from))
    .collect();
    assert_eq!(reported, expected, "{}", run.describe());

    // A server dry run persists nothing of what it reported.
    let gone = |found: Option<kube::core::ObjectMeta>, what: &str| {
        assert!(found.is_none(), "{what} was persisted: {found:?}");
    };
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &ns);
    gone(
        accounts.get_opt("probe").await.unwrap().map(|o| o.metadata),
        "the ServiceAccount",
    );
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    gone(
        secrets
            .get_opt("probe-token")
            .await
            .unwrap()
            .map(|o| o.metadata),
        "the token Secret",
    );
    let roles = Api::<Role>::namespaced(client.clone(), &ns);
    gone(
        roles.get_opt("probe").await.unwrap().map(|o| o.metadata),
        "the Role",
    );
    let bindings = Api::<RoleBinding>::namespaced(client.clone(), &ns);
    gone(
        bindings.get_opt("probe").await.unwrap().map(|o| o.metadata),
        "the RoleBinding",
    );
    // The namespace is left as the admin made it (no label, under a dry run).
    let namespace = Api::<Namespace>::all(client.clone())
        .get(&ns)
        .await
        .unwrap();
    assert!(
        !namespace
            .labels()
            .contains_key("app.kubernetes.io/managed-by")
            && !namespace.labels().contains_key("kscope.dev/tenant"),
        "the namespace was changed: {:?}",
        namespace.labels()
    );
}

#[tokio::test]
async fn without_arguments_kubeconfig_lists_the_grants() {
    let dir = common::cluster_dir();
    let ns = common::unique_name("listed");
    admin(&dir)
        .run(["grant", &ns, "someone", "--template", "read-only"])
        .expect_code(0);
    // A fresh home remembers no grant: kscope names the ones it can see (it asked the
    // server for them, so this is exit 1, not the "nothing sent" exit 2).
    admin(&dir)
        .run(["kubeconfig"])
        .expect_code(1)
        .stderr_contains("no grant named")
        .stderr_contains(&format!("kscope kubeconfig {ns} someone"));
}

/// A set applied by a namespace lead, who may not watch Secrets in every namespace: the set's
/// one watch of its token Secrets is refused, and each tenant waits for its own token, as
/// `grant` does; every kubeconfig works with the real kubectl.
#[tokio::test]
async fn a_lead_who_may_not_watch_every_secret_still_gets_each_token() {
    let dir = common::cluster_dir();
    let client = common::admin_client(&dir).await;
    let (ns, token, lead) = namespace_lead(&dir, &client, "lead-watch").await;
    let mut kscope = Kscope::new().kubeconfig(&lead);
    let tenants: Vec<String> = ["ci", "deploy"]
        .iter()
        .map(|sa| {
            format!("{{namespace: {ns}, serviceAccount: {sa}, template: developer, quota: none}}")
        })
        .collect();
    let file = common::set_file(kscope.home(), &common::unique_name("leadset"), &tenants);
    let kubeconfigs = kscope.path("kubeconfigs");
    std::fs::create_dir_all(&kubeconfigs).unwrap();
    let run = kscope.run([
        "apply",
        "-f",
        file.to_str().unwrap(),
        "--kubeconfig-dir",
        kubeconfigs.to_str().unwrap(),
        "--allow-shared-namespace",
        "--allow-unguarded",
        "-v",
    ]);
    let run = run.expect_code(0);
    run.stderr_lacks(&token);
    let set_watch = run
        .stderr
        .lines()
        .find(|l| l.contains("): GET /api/v1/secrets?") && l.contains("watch=true"))
        .unwrap_or_else(|| panic!("no answer to a watch of the set's Secrets: {}", run.stderr));
    assert!(set_watch.starts_with("kscope: 403"), "{set_watch}");
    for sa in ["ci", "deploy"] {
        let path = kubeconfigs.join(format!("{ns}_{sa}.kubeconfig"));
        runner::kubectl_as(common::kubectl(&dir), &path, &["get", "pods"]).expect_code(0);
    }
    std::fs::remove_file(lead).ok();
}
