//! Access that ends: `grant --expires` hands out a TokenRequest token bound to the grant's
//! Secret, which the real kubectl uses and the API server ends; a server that caps token
//! lifetimes says so; an expired grant is said expired by `list`, `check` and `kubeconfig`;
//! and a cluster that fills in no token Secret (the control plane without
//! kube-controller-manager) gets a bound token instead, which `kubeconfig`, `check`, `rotate`
//! and `revoke` all work with.

mod common;
mod runner;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use common::admin;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use runner::{Kscope, kubectl_as};

const BOUND_TYPE: &str = "kscope.dev/bound-token";
const LEGACY_TYPE: &str = "kubernetes.io/service-account-token";

fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// The claims of a JWT (its middle part).
fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url claims");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The grant's token Secret as the API server has it.
async fn token_secret(dir: &Path, ns: &str, sa: &str) -> Secret {
    let client = common::admin_client(dir).await;
    Api::<Secret>::namespaced(client, ns)
        .get(&format!("{sa}-token"))
        .await
        .expect("the grant's token Secret")
}

fn annotation(secret: &Secret, key: &str) -> String {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .cloned()
        .unwrap_or_else(|| panic!("Secret has no {key}: {:?}", secret.metadata))
}

fn seconds(rfc3339: &str) -> i64 {
    rfc3339
        .parse::<k8s_openapi::jiff::Timestamp>()
        .expect("an RFC 3339 time")
        .as_second()
}

/// The token a kubeconfig file holds.
fn token_of(kubeconfig: &Path) -> String {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let parsed: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    parsed["users"][0]["user"]["token"]
        .as_str()
        .expect("a token in the kubeconfig")
        .to_string()
}

/// Waits (the API server caches a token it accepted for 10 s) until kubectl with `kubeconfig`
/// is refused as unauthenticated.
fn refused_eventually(dir: &Path, kubeconfig: &Path, ns: &str) {
    for _ in 0..40 {
        let run = kubectl_as(common::kubectl(dir), kubeconfig, &["-n", ns, "get", "pods"]);
        if run.code != 0 && run.stderr.contains("Unauthorized") {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "the token in {} was still accepted after 20s",
        kubeconfig.display()
    );
}

/// Grants `app` the read-only template in a fresh namespace of the cluster in `dir`, ending by
/// `expires`: the namespace, the runner (its home keeps the grant) and the grant's run.
fn granted(dir: &Path, prefix: &str, expires: &str) -> (String, Kscope, runner::Run) {
    let ns = common::unique_name(prefix);
    let mut kscope = admin(dir);
    let run = kscope.run([
        "grant",
        &ns,
        "app",
        "--template",
        "read-only",
        "--expires",
        expires,
    ]);
    (ns, kscope, run)
}

#[tokio::test]
async fn an_expiring_grant_holds_a_bound_token_that_kubectl_uses_and_list_shows() {
    let dir = common::cluster_dir();
    let (ns, mut kscope, run) = granted(&dir, "ends", "2h");
    run.expect_code(0)
        .stderr_lacks("waiting for the token controller");
    let secret = token_secret(&dir, &ns, "app").await;
    assert_eq!(secret.type_.as_deref(), Some(BOUND_TYPE));
    // No long-lived token anywhere: the Secret names no account for the token controller.
    assert!(
        !secret
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("kubernetes.io/service-account.name")),
        "{:?}",
        secret.metadata.annotations
    );
    let expires = seconds(&annotation(&secret, "kscope.dev/token-expires"));
    let left = expires - now();
    assert!((7000..=7200).contains(&left), "expires in {left}s");

    let run = kscope.run([
        "kubeconfig",
        &ns,
        "app",
        "--output",
        kscope.path("app.kubeconfig").to_str().unwrap(),
    ]);
    run.expect_code(0)
        .stderr_contains("credential: bound token, expires ");
    let kubeconfig = kscope.path("app.kubeconfig");
    kubectl_as(common::kubectl(&dir), &kubeconfig, &["get", "pods"]).expect_code(0);
    // The token's own claims agree with the grant's record.
    let claims = claims(&token_of(&kubeconfig));
    assert_eq!(claims["exp"].as_i64(), Some(expires), "{claims}");
    assert_eq!(
        claims["jti"].as_str(),
        Some(annotation(&secret, "kscope.dev/credential-id").as_str()),
        "{claims}"
    );
    assert_eq!(
        claims["kubernetes.io"]["secret"]["name"].as_str(),
        Some("app-token"),
        "bound to the grant's Secret: {claims}"
    );

    let listed = kscope.run(["list", "-n", &ns, "-o", "json"]);
    let item = listed.expect_code(0).stdout_json()["items"][0].clone();
    assert_eq!(item["credential"]["kind"], "bound", "{item}");
    assert_eq!(
        item["credential"]["expires"].as_str().map(seconds),
        Some(expires),
        "{item}"
    );
    kscope
        .run(["list", "-n", &ns])
        .expect_code(0)
        .stdout_contains("EXPIRES")
        .stdout_contains_any(&["in 2h ", "in 1h59m"]);
    kscope
        .run(["check", &ns, "app"])
        .expect_code(0)
        .stderr_contains("credential: bound token, expires");

    // The same grant again, with `extra` flags.
    let regrant = |kscope: &mut Kscope, extra: &[&str]| {
        let mut args = vec!["grant", &ns, "app", "--template", "read-only"];
        args.extend_from_slice(extra);
        kscope.run(args).expect_code(0);
    };
    // Granted again without --expires: still bound, the same token (not yet due).
    regrant(&mut kscope, &[]);
    let again = token_secret(&dir, &ns, "app").await;
    assert_eq!(again.metadata.uid, secret.metadata.uid);
    assert_eq!(again.data, secret.data, "the token was kept");
    // Granted again with a shorter --expires: a new token, no longer than the new rule.
    regrant(&mut kscope, &["--expires", "1h"]);
    let shorter = token_secret(&dir, &ns, "app").await;
    assert_ne!(shorter.data, secret.data, "the 2h token was replaced");
    let left = seconds(&annotation(&shorter, "kscope.dev/token-expires")) - now();
    assert!((3400..=3600).contains(&left), "expires in {left}s");

    // Made long-lived on purpose: a new Secret, and the bound token is refused.
    regrant(&mut kscope, &["--token-source", "secret"]);
    let legacy = token_secret(&dir, &ns, "app").await;
    assert_eq!(legacy.type_.as_deref(), Some(LEGACY_TYPE));
    refused_eventually(&dir, &kubeconfig, &ns);
    kscope
        .run(["list", "-n", &ns, "-o", "json"])
        .expect_code(0)
        .stdout_contains("\"kind\": \"secret\"");
}

#[tokio::test]
async fn a_server_that_shortens_tokens_is_said_to_and_its_expiry_recorded() {
    // This control plane runs with --service-account-max-token-expiration=1h.
    let dir = common::faults_cluster_dir();
    let (ns, mut kscope, run) = granted(&dir, "capped", "2h");
    run.expect_code(0)
        .stderr_contains("the API server shortened the token")
        .stderr_contains("to 1h (asked 2h");
    let secret = token_secret(&dir, &ns, "app").await;
    let expires = seconds(&annotation(&secret, "kscope.dev/token-expires"));
    let left = expires - now();
    assert!((3400..=3600).contains(&left), "expires in {left}s");
    let kubeconfig = kscope.kubeconfig_for(&ns, "app");
    assert_eq!(
        claims(&token_of(&kubeconfig))["exp"].as_i64(),
        Some(expires)
    );
    kubectl_as(common::kubectl(&dir), &kubeconfig, &["get", "pods"]).expect_code(0);
}

#[tokio::test]
async fn an_expired_grant_is_said_expired_and_hands_out_nothing() {
    let dir = common::cluster_dir();
    let (ns, mut kscope, run) = granted(&dir, "expired", "1h");
    run.expect_code(0);
    let audit = |kscope: &mut Kscope| {
        let run = kscope.run(["audit", "-n", &ns, "--expiring-within", "2h", "-o", "json"]);
        assert!(run.code == 0 || run.code == 3, "{}", run.describe());
        run.stdout_json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"] == format!("Secret {ns}/app-token"))
            .map(|f| f["ruleId"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(audit(&mut kscope), ["KSCOPE-GRANT-EXPIRING"]);
    // The record says the token ended a minute ago (the server's own end would take 10m).
    let client = common::admin_client(&dir).await;
    let past = k8s_openapi::jiff::Timestamp::from_second(now() - 60)
        .unwrap()
        .to_string();
    let patch = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app-token", "namespace": ns,
                     "annotations": {"kscope.dev/token-expires": past}},
    });
    Api::<Secret>::namespaced(client, &ns)
        .patch(
            "app-token",
            &PatchParams::apply("kscope-token").force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
    kscope
        .run(["list", "-n", &ns])
        .expect_code(0)
        .stdout_contains("expired");
    assert_eq!(audit(&mut kscope), ["KSCOPE-GRANT-EXPIRED"]);
    let set = common::set_file(
        kscope.home(),
        "expired",
        &[format!("{{namespace: {ns}, serviceAccount: app}}")],
    );
    let run = kscope.run(["check", "-f", set.to_str().unwrap()]);
    assert_ne!(run.code, 0, "{}", run.describe());
    run.stdout_contains(&format!("the grant {ns}/app expired at {past}"));
    kscope
        .run(["check", &ns, "app"])
        .expect_code(1)
        .stderr_contains(&format!("the grant {ns}/app expired at {past}"))
        .stderr_contains("kscope rotate");
    kscope
        .run(["kubeconfig", &ns, "app"])
        .expect_code(1)
        .stderr_contains("expired at")
        .stdout_is_empty();
    // A renewal brings it back.
    kscope.run(["rotate", &ns, "app"]).expect_code(0);
    kscope.run(["check", &ns, "app"]).expect_code(0);
}

#[tokio::test]
async fn without_legacy_tokens_a_grant_falls_back_to_a_bound_token_that_works_throughout() {
    let dir = common::no_kcm_cluster_dir();
    let ns = common::unique_name("bound");
    let mut kscope: Kscope = admin(&dir);
    // No quota: without kube-controller-manager none is ever enforced, and check would say
    // so (tests/boundary.rs); this test is about the token.
    kscope
        .run(["grant", &ns, "app", "--template", "read-only", "--no-quota"])
        .expect_code(0)
        .stderr_contains("filled in no token Secret within 10s")
        .stderr_contains(&format!("token bound to Secret {ns}/app-token"));
    let secret = token_secret(&dir, &ns, "app").await;
    assert_eq!(secret.type_.as_deref(), Some(BOUND_TYPE));
    let left = seconds(&annotation(&secret, "kscope.dev/token-expires")) - now();
    assert!((86_000..=86_400).contains(&left), "expires in {left}s");

    let kubeconfig = kscope.kubeconfig_for(&ns, "app");
    kubectl_as(common::kubectl(&dir), &kubeconfig, &["get", "pods"]).expect_code(0);
    kscope
        .run(["check", &ns, "app"])
        .expect_code(0)
        .stderr_contains("credential: bound token");
    // A rotation mints anew and proves the old token refused.
    kscope
        .run([
            "rotate",
            &ns,
            "app",
            "--output",
            kscope.path("new.kubeconfig").to_str().unwrap(),
        ])
        .expect_code(0);
    refused_eventually(&dir, &kubeconfig, &ns);
    let rotated = kscope.path("new.kubeconfig");
    kubectl_as(common::kubectl(&dir), &rotated, &["get", "pods"]).expect_code(0);
    // A revoke deletes the Secret and proves the bound token refused.
    kscope.run(["revoke", &ns, "app", "--yes"]).expect_code(0);
    refused_eventually(&dir, &rotated, &ns);

    // A TenantSet applied there: each tenant falls back the same way, and its kubeconfig works.
    let other = common::unique_name("bound-set");
    let set = common::set_file(
        kscope.home(),
        "bound",
        &[format!("{{namespace: {other}, serviceAccount: ci}}")],
    );
    let dir_out = kscope.path("set-kubeconfigs");
    kscope
        .run([
            "apply",
            "-f",
            set.to_str().unwrap(),
            "--kubeconfig-dir",
            dir_out.to_str().unwrap(),
        ])
        .expect_code(0);
    let secret = token_secret(&dir, &other, "ci").await;
    assert_eq!(secret.type_.as_deref(), Some(BOUND_TYPE));
    let file = dir_out.join(format!("{other}_ci.kubeconfig"));
    kubectl_as(common::kubectl(&dir), &file, &["get", "pods"]).expect_code(0);
}

#[tokio::test]
async fn apply_renews_only_the_tokens_inside_their_window_and_rewrites_their_kubeconfigs() {
    let dir = common::cluster_dir();
    let mut kscope = admin(&dir);
    let (a, b) = (
        common::unique_name("renew-a"),
        common::unique_name("renew-b"),
    );
    let set = common::set_file(
        kscope.home(),
        &common::unique_name("renewals"),
        &[
            format!("{{namespace: {a}, serviceAccount: ci, expires: 2h}}"),
            format!("{{namespace: {b}, serviceAccount: ci}}"),
        ],
    );
    let kubeconfigs = kscope.path("kubeconfigs");
    let apply = |kscope: &mut Kscope, extra: &[&str]| {
        let mut args = vec![
            "apply",
            "-f",
            set.to_str().unwrap(),
            "--kubeconfig-dir",
            kubeconfigs.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        kscope.run(args).expect_code(0);
    };
    apply(&mut kscope, &[]);
    let id = |secret: &Secret| annotation(secret, "kscope.dev/credential-id");
    let first = token_secret(&dir, &a, "ci").await;
    assert_eq!(first.type_.as_deref(), Some(BOUND_TYPE));
    let long_lived = token_secret(&dir, &b, "ci").await;
    assert_eq!(long_lived.type_.as_deref(), Some(LEGACY_TYPE));
    let file_a = kubeconfigs.join(format!("{a}_ci.kubeconfig"));
    let token_a = token_of(&file_a);

    // Not inside its window (a third of 2h before its end): kept.
    apply(&mut kscope, &[]);
    assert_eq!(id(&token_secret(&dir, &a, "ci").await), id(&first));
    assert_eq!(token_of(&file_a), token_a);

    // A window wider than its life: renewed, and its kubeconfig rewritten; b untouched.
    apply(&mut kscope, &["--renew-before", "3h"]);
    let renewed = token_secret(&dir, &a, "ci").await;
    assert_ne!(id(&renewed), id(&first), "a new token");
    assert_eq!(renewed.metadata.uid, first.metadata.uid, "the same Secret");
    let new_token = token_of(&file_a);
    assert_ne!(new_token, token_a);
    assert_eq!(
        claims(&new_token)["jti"].as_str(),
        Some(id(&renewed).as_str())
    );
    kubectl_as(common::kubectl(&dir), &file_a, &["get", "pods"]).expect_code(0);
    let b_after = token_secret(&dir, &b, "ci").await;
    assert_eq!(b_after.metadata.uid, long_lived.metadata.uid);
    assert_eq!(b_after.data, long_lived.data);

    // A tenant that loses its expires keeps its bound token; only `never` makes it permanent.
    let name = set.file_stem().unwrap().to_str().unwrap().to_string();
    let set = common::set_file(
        kscope.home(),
        &name,
        &[
            format!("{{namespace: {a}, serviceAccount: ci}}"),
            format!("{{namespace: {b}, serviceAccount: ci}}"),
        ],
    );
    kscope
        .run(["apply", "-f", set.to_str().unwrap()])
        .expect_code(0);
    let kept = token_secret(&dir, &a, "ci").await;
    assert_eq!(kept.type_.as_deref(), Some(BOUND_TYPE));
    assert_eq!(id(&kept), id(&renewed));
    let set = common::set_file(
        kscope.home(),
        &name,
        &[
            format!("{{namespace: {a}, serviceAccount: ci, expires: never}}"),
            format!("{{namespace: {b}, serviceAccount: ci}}"),
        ],
    );
    kscope
        .run(["apply", "-f", set.to_str().unwrap()])
        .expect_code(0);
    let permanent = token_secret(&dir, &a, "ci").await;
    assert_eq!(permanent.type_.as_deref(), Some(LEGACY_TYPE));
    refused_eventually(&dir, &file_a, &a);
}

#[tokio::test]
async fn rotate_renews_a_bound_token_only_inside_its_window_and_redelivers_it() {
    let (workload, management) = (common::cluster_dir(), common::faults_cluster_dir());
    let kscope = Kscope::new();
    let kubeconfig = common::two_clusters(&workload, &management, kscope.home());
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    let ns = common::unique_name("renewal");
    let one = |args: &[&str]| {
        let mut all = vec!["--context", "one"];
        all.extend_from_slice(args);
        all.into_iter().map(String::from).collect::<Vec<_>>()
    };
    kscope
        .run(one(&[
            "grant",
            &ns,
            "argocd",
            "--template",
            "gitops",
            "--expires",
            "2h",
        ]))
        .expect_code(0);
    let mgmt = common::admin_client(&management).await;
    let argocd = common::unique_name("argocd");
    common::create_namespace(&mgmt, &argocd).await;
    kscope
        .run(common::deliver_to_argocd(&ns, "argocd", &argocd))
        .expect_code(0);
    let delivered = |mgmt: kube::Client, argocd: String| async move {
        let listed = Api::<Secret>::namespaced(mgmt.clone(), &argocd)
            .list(&kube::api::ListParams::default())
            .await
            .unwrap();
        let name = listed.items[0].metadata.name.clone().unwrap();
        common::delivered_token(&mgmt, &argocd, &name).await.0
    };
    let first = delivered(mgmt.clone(), argocd.clone()).await;
    assert_eq!(
        claims(&first)["exp"].as_i64().map(|e| e - now() > 7000),
        Some(true)
    );

    // Outside the window: nothing changes, nothing is sent.
    kscope
        .run(one(&["rotate", &ns, "argocd", "--renew-before", "10m"]))
        .expect_code(0)
        .stderr_contains("not within --renew-before 10m, nothing was renewed")
        .stdout_is_empty();
    assert_eq!(delivered(mgmt.clone(), argocd.clone()).await, first);

    // Inside it: a new bound token, delivered in place; the old one refused.
    let out = kscope.path("renewed.kubeconfig");
    kscope
        .run(one(&[
            "rotate",
            &ns,
            "argocd",
            "--renew-before",
            "3h",
            "-o",
            out.to_str().unwrap(),
        ]))
        .expect_code(0)
        .stderr_contains("in context two");
    let renewed = delivered(mgmt.clone(), argocd.clone()).await;
    assert_ne!(renewed, first);
    assert_eq!(
        claims(&renewed)["kubernetes.io"]["secret"]["name"],
        "argocd-token"
    );
    assert!(claims(&renewed)["exp"].as_i64().unwrap() - now() > 7000);
    let old = kscope.path("old.kubeconfig");
    common::write_token_kubeconfig(&workload, &first, Some(&ns), &old);
    refused_eventually(&workload, &old, &ns);
    kubectl_as(common::kubectl(&workload), &out, &["get", "pods"]).expect_code(0);
}
