//! What a tenant leaves behind: a `namespace-admin` tenant makes, with the real kubectl and the
//! kubeconfig kscope emitted, a ServiceAccount of its own, a Role, a RoleBinding and a token of
//! it. `rotate` and `revoke` name them and say that they still hold access (the API server's
//! answer), `revoke` exits non-zero while they do, and `revoke --purge` deletes them and
//! proves the tenant's own token refused.

mod common;
mod runner;

use std::path::{Path, PathBuf};

use common::admin;
use runner::{Kscope, Run, kubectl_as};

/// Grants `app` in a fresh namespace with the walkthrough's role, and writes its kubeconfig.
fn granted(dir: &Path, kscope: &mut Kscope, prefix: &str) -> (String, PathBuf) {
    let ns = common::unique_name(prefix);
    kscope.run(["grant", &ns, "app"]).expect_code(0);
    let kc = kscope.home().join(format!("{ns}.kubeconfig"));
    kscope
        .run(["kubeconfig", &ns, "app", "--output", kc.to_str().unwrap()])
        .expect_code(0);
    let _ = dir;
    (ns, kc)
}

/// As the tenant, with kubectl: a ServiceAccount `sneaky`, a Role that reads Secrets, a
/// RoleBinding of it, and a token of `sneaky` (returned), kept in a kubeconfig of its own.
fn tenant_makes_its_own(dir: &Path, kscope: &Kscope, ns: &str, kc: &Path) -> PathBuf {
    let tenant = |args: &[&str]| kubectl_as(common::kubectl(dir), kc, args).expect_code(0);
    tenant(&["-n", ns, "create", "serviceaccount", "sneaky"]);
    tenant(&[
        "-n",
        ns,
        "create",
        "role",
        "sneaky",
        "--verb=get,list",
        "--resource=secrets",
    ]);
    tenant(&[
        "-n",
        ns,
        "create",
        "rolebinding",
        "sneaky",
        "--role=sneaky",
        &format!("--serviceaccount={ns}:sneaky"),
    ]);
    let token = tenant(&["-n", ns, "create", "token", "sneaky", "--duration=1h"]);
    let token = token.stdout.trim().to_string();
    assert!(!token.is_empty(), "kubectl create token printed nothing");
    let sneaky = kscope.home().join(format!("{ns}-sneaky.kubeconfig"));
    common::write_token_kubeconfig(dir, &token, Some(ns), &sneaky);
    // The tenant's own identity works.
    kubectl_as(common::kubectl(dir), &sneaky, &["-n", ns, "get", "secrets"]).expect_code(0);
    sneaky
}

#[tokio::test]
async fn rotate_and_revoke_name_what_the_tenant_made_and_revoke_fails_while_it_holds_access() {
    let dir = common::cluster_dir();
    let mut kscope = admin(&dir);
    let (ns, kc) = granted(&dir, &mut kscope, "left");
    let sneaky = tenant_makes_its_own(&dir, &kscope, &ns, &kc);

    let rotated = kscope.home().join("rotated.kubeconfig");
    kscope
        .run(["rotate", &ns, "app", "--output", rotated.to_str().unwrap()])
        .expect_code(0)
        .stderr_contains("rotate does not end it")
        .stderr_contains(&format!("ServiceAccount {ns}/sneaky"));

    kscope
        .run(["revoke", &ns, "app", "--dry-run"])
        .expect_code(0)
        .stdout_contains("and leaves what the tenant made during the grant (--purge deletes it)")
        .stdout_contains(&format!("RoleBinding {ns}/sneaky"))
        .stdout_contains("HOLDS ACCESS");
    let run = kscope.run(["revoke", &ns, "app", "--yes"]);
    run.expect_code(1)
        .stdout_contains(&format!("ServiceAccount {ns}/sneaky"))
        .stdout_contains(&format!("Role {ns}/sneaky"))
        .stdout_contains(&format!(
            "HOLDS ACCESS: ServiceAccount {ns}/sneaky may get secrets in {ns}"
        ))
        .stderr_contains("what the tenant made during the grant still holds access")
        .stderr_contains(&format!("kubectl -n {ns} delete serviceaccount sneaky"));
    // It is true: the tenant's own token still reads the namespace's Secrets.
    kubectl_as(
        common::kubectl(&dir),
        &sneaky,
        &["-n", &ns, "get", "secrets"],
    )
    .expect_code(0);
    // The grant itself is revoked.
    kubectl_as(common::kubectl(&dir), &rotated, &["-n", &ns, "get", "pods"]).expect_code(1);
    let client = common::admin_client(&dir).await;
    common::delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn revoke_purge_deletes_what_the_tenant_made_and_proves_its_token_refused() {
    let dir = common::cluster_dir();
    let mut kscope = admin(&dir);
    let (ns, kc) = granted(&dir, &mut kscope, "purge");
    let sneaky = tenant_makes_its_own(&dir, &kscope, &ns, &kc);

    let report = kscope
        .run(["revoke", &ns, "app", "--yes", "--purge", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    let made = report["tenantMade"].as_array().expect("tenantMade");
    for (kind, name) in [
        ("RoleBinding", "sneaky"),
        ("ServiceAccount", "sneaky"),
        ("Role", "sneaky"),
    ] {
        assert!(
            made.iter()
                .any(|m| m["kind"] == kind && m["name"] == name && m["purged"] == true),
            "{kind} {name} purged: {report}"
        );
    }
    assert!(made.iter().all(|m| m.get("holds").is_none()), "{report}");
    assert!(report["purgedRefusedAfter"].is_number(), "{report}");
    // The tenant's own token is refused now (401), by the real kubectl.
    let refused = kubectl_as(
        common::kubectl(&dir),
        &sneaky,
        &["-n", &ns, "get", "secrets"],
    );
    refused.expect_code(1).stderr_contains("Unauthorized");
    Run::of(common::kubectl(&dir).args(["-n", &ns, "get", "rolebinding", "sneaky"]))
        .expect_code(1)
        .stderr_contains("NotFound");
    let client = common::admin_client(&dir).await;
    common::delete_namespace(&client, &ns).await;
}
