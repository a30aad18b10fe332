//! `--always-pull`: in a grant's namespaces every pod pulls its images, so that one tenant
//! cannot run another's private image from a node's cache. Tried as the tenant with the real
//! kubectl and the kubeconfig kscope emitted (server-side dry runs), and proven by `check`.

mod common;
mod runner;

use common::admin;
use runner::kubectl_as;

/// `kubectl run` of a pod with `policy` as its imagePullPolicy, as a server-side dry run.
fn run_pod(ns: &str, policy: &str) -> Vec<String> {
    [
        "-n",
        ns,
        "run",
        "probe",
        "--image=registry.invalid/team/private:1",
        &format!("--image-pull-policy={policy}"),
        "--restart=Never",
        "--dry-run=server",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test]
async fn a_grant_with_always_pull_refuses_pods_that_may_use_a_cached_image() {
    let dir = common::cluster_dir();
    let mut kscope = admin(&dir);
    let (ns, open) = (common::unique_name("pulls"), common::unique_name("cached"));
    let run = kscope.run([
        "grant",
        &ns,
        "app",
        "--template",
        "developer",
        "--always-pull",
    ]);
    run.expect_code(0);
    kscope
        .run(["grant", &open, "app", "--template", "developer"])
        .expect_code(0);
    let tenant = kscope.kubeconfig_for(&ns, "app");
    let other = kscope.kubeconfig_for(&open, "app");
    let as_tenant = |kubeconfig: &std::path::Path, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kubectl_as(common::kubectl(&dir), kubeconfig, &args)
    };
    let refused = as_tenant(&tenant, run_pod(&ns, "IfNotPresent"));
    assert_ne!(refused.code, 0, "{}", refused.describe());
    refused.stderr_contains("kscope's always-pull policy");
    as_tenant(&tenant, run_pod(&ns, "Never")).stderr_contains("kscope's always-pull policy");
    as_tenant(&tenant, run_pod(&ns, "Always")).expect_code(0);
    // Where no grant asked for it, the policy leaves pods alone.
    as_tenant(&other, run_pod(&open, "IfNotPresent")).expect_code(0);
    // The tenant cannot take its namespace out from under the policy.
    let unlabel = as_tenant(
        &tenant,
        ["label", "namespace", &ns, "kscope.dev/always-pull-"]
            .map(String::from)
            .to_vec(),
    );
    assert_ne!(unlabel.code, 0, "{}", unlabel.describe());

    let check = kscope.run(["check", &ns, "app", "-o", "json"]);
    let report = check.expect_code(0).stdout_json();
    let probe = report["containment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "cached-image")
        .cloned()
        .unwrap_or_else(|| panic!("no cached-image probe: {report}"));
    assert_eq!(probe["refused"], true, "{probe}");
    let plain = kscope.run(["check", &open, "app", "-o", "json"]);
    assert!(
        !plain
            .expect_code(0)
            .stdout
            .contains("\"id\": \"cached-image\""),
        "a grant without --always-pull is not held to it"
    );
}
