//! Bad input, proven against the real control plane: each case gets one clear sentence and
//! the documented exit code, and afterwards nothing of the grant exists.

mod common;
mod runner;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::Api;
use kube::api::ListParams;

/// One bad input: arguments, the exit code, and a phrase the one-line error must hold.
struct Case {
    args: Vec<String>,
    code: i32,
    says: &'static str,
}

fn case(args: &[&str], code: i32, says: &'static str) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        says,
    }
}

#[tokio::test]
async fn bad_inputs_exit_with_their_code_and_create_nothing() {
    let dir = common::cluster_dir();
    let mut kscope = common::admin(&dir);
    let scratch = kscope.home().to_path_buf();
    // Every case names a fresh, valid namespace and ServiceAccount where it can, so that
    // "nothing was created" can be proven for all of them afterwards.
    let ns = common::unique_name("bad");
    let sa = common::unique_name("bad-sa");
    let bad_template = scratch.join("bad-template.yaml");
    std::fs::write(&bad_template, "name: Broken\ndescription: x\nrules: []\n").unwrap();
    let malformed = scratch.join("malformed.kubeconfig");
    std::fs::write(&malformed, "apiVersion: v1\nclusters: [unclosed\n").unwrap();
    let existing = scratch.join("existing.kubeconfig");
    std::fs::write(&existing, "keep me").unwrap();
    let link = scratch.join("link.kubeconfig");
    std::os::unix::fs::symlink(&existing, &link).unwrap();
    let (t, m, e, l) = (
        bad_template.to_str().unwrap(),
        malformed.to_str().unwrap(),
        existing.to_str().unwrap(),
        link.to_str().unwrap(),
    );
    let long63 = "a".repeat(64);
    let long254 = "a".repeat(254);
    let sa64 = "s".repeat(64);
    let cases = [
        case(
            &["grant", "Ask", &sa],
            2,
            "invalid namespace name \"Ask\": it contains the uppercase letter 'A'",
        ),
        case(
            &["grant", "a_b", &sa],
            2,
            "invalid namespace name \"a_b\": it contains '_'",
        ),
        case(
            &["grant", "", &sa],
            2,
            "invalid namespace name \"\": it is empty",
        ),
        case(
            &["grant", &long63, &sa],
            2,
            "is 64 characters long; the limit is 63",
        ),
        case(
            &["grant", "team-", &sa],
            2,
            "must start and end with a letter or digit",
        ),
        case(&["grant", "a.b", &sa], 2, "contains '.'"),
        case(
            &["grant", &ns, "Ask_SA"],
            2,
            "invalid serviceaccount name \"Ask_SA\"",
        ),
        case(&["grant", &ns, "a..b"], 2, "has an empty part between dots"),
        case(&["grant", &ns, &long254], 2, "the limit is 253"),
        case(&["grant", &ns, &sa64], 2, "kscope allows at most 63"),
        case(
            &["grant", &ns, &sa, "--template", "nope"],
            2,
            "unknown template \"nope\"",
        ),
        case(
            &["grant", &ns, &sa, "--template", "./missing.yaml"],
            2,
            "could not read the template file ./missing.yaml",
        ),
        case(
            &["grant", &ns, &sa, "--template", t],
            2,
            "bad template file",
        ),
        case(
            &["grant", &ns, &sa, "--timeout", "0s"],
            2,
            "invalid --timeout \"0s\"",
        ),
        case(
            &["grant", &ns, &sa, "--timeout", "soon"],
            2,
            "invalid --timeout \"soon\"",
        ),
        case(
            &["grant", &ns, &sa, "--cluster-role", "a/b"],
            2,
            "invalid --cluster-role \"a/b\"",
        ),
        case(
            &[
                "grant",
                &ns,
                &sa,
                "--template",
                "developer",
                "--cluster-role",
                "edit",
            ],
            2,
            "cannot be used with",
        ),
        case(
            &["grant", &ns, &sa, "--bogus"],
            2,
            "unexpected argument '--bogus'",
        ),
        case(&["grant", &ns], 2, "required arguments were not provided"),
        case(
            &["grant", &ns, &sa, "--kubeconfig", "/nonexistent/kubeconfig"],
            2,
            "could not read the kubeconfig /nonexistent/kubeconfig",
        ),
        case(
            &["grant", &ns, &sa, "--kubeconfig", m],
            2,
            "is not valid YAML",
        ),
        case(
            &["grant", &ns, &sa, "--context", "nope"],
            2,
            "context \"nope\" is not in the kubeconfig",
        ),
        case(
            &["kubeconfig", &ns, &sa, "--duration", "5m"],
            2,
            "tokens must live at least 10 minutes",
        ),
        case(
            &["kubeconfig", &ns, &sa, "--duration", "5000000000s"],
            2,
            "the API server accepts at most 4294967296 seconds",
        ),
        case(
            &["kubeconfig", &ns, &sa, "--duration", "soon"],
            2,
            "invalid --duration \"soon\"",
        ),
        case(
            &["kubeconfig", &ns, &sa, "--output", e],
            2,
            "already exists",
        ),
        case(
            &["kubeconfig", &ns, &sa, "--output", l, "--force"],
            2,
            "is a symbolic link",
        ),
        case(&["kubeconfig", &ns], 2, "required"),
        case(
            &["check", &ns, "Bad"],
            2,
            "invalid serviceaccount name \"Bad\"",
        ),
        case(&["check", "-x-", &sa], 2, "unexpected argument"),
    ];
    assert!(cases.len() >= 20);
    for c in &cases {
        // One clear sentence first, and no data.
        kscope
            .run(&c.args)
            .expect_code(c.code)
            .stderr_contains(c.says)
            .stdout_is_empty()
            .stderr_starts_with("error: ");
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");

    // Nothing was created: no namespace of that name, no ServiceAccount of that grant anywhere.
    let client = common::admin_client(&dir).await;
    let namespace = Api::<Namespace>::all(client.clone())
        .get_opt(&ns)
        .await
        .unwrap();
    assert!(namespace.is_none(), "namespace {ns} was created");
    let labelled = Api::<ServiceAccount>::all(client)
        .list(&ListParams::default().labels(&format!("kscope.dev/grant={sa}")))
        .await
        .unwrap();
    assert!(
        labelled.items.is_empty(),
        "a ServiceAccount of grant {sa} was created"
    );
}
