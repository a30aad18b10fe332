//! Binary-level tests of the CLI that need no cluster: `--help`, `--dry-run`, templates,
//! completions, and input refused before any request. (`tests/bad_input.rs` proves against
//! the real control plane that refused input creates nothing.)

mod runner;

use runner::Kscope;

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn help_of_every_command() {
    for command in [
        vec!["--help"],
        vec!["grant", "--help"],
        vec!["kubeconfig", "--help"],
        vec!["check", "--help"],
        vec!["list", "--help"],
        vec!["revoke", "--help"],
        vec!["rotate", "--help"],
        vec!["templates", "--help"],
        vec!["wizard", "--help"],
        vec!["completions", "--help"],
    ] {
        let run = Kscope::new()
            .env("COLUMNS", "100")
            .run(&command)
            .expect_code(0);
        let name = match command[0] {
            "--help" => "help_kscope".to_string(),
            sub => format!("help_{sub}"),
        };
        snapshot(&name, &run.stdout);
    }
}

#[test]
fn dry_run_prints_the_manifests_without_any_cluster() {
    // No kubeconfig exists at all: a client dry run must not need one.
    let run = Kscope::new()
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .run(["grant", "ask", "ask-sa", "--dry-run"])
        .expect_code(0);
    assert_eq!(run.stdout.matches("---\n").count(), 5, "{}", run.stdout);
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
    ] {
        assert!(run.stdout.contains(&format!("kind: {kind}\n")), "{kind}");
    }
    assert!(!run.stdout.contains("token:"), "a dry run holds no token");
    snapshot("dry_run_namespace_admin", &run.stdout);

    let run = Kscope::new()
        .run([
            "grant",
            "ci",
            "deployer",
            "--cluster-role",
            "edit",
            "--dry-run=client",
        ])
        .expect_code(0);
    assert_eq!(
        run.stdout.matches("---\n").count(),
        4,
        "no Role with --cluster-role"
    );
    assert!(
        run.stdout.contains("kind: ClusterRole\n  name: edit"),
        "{}",
        run.stdout
    );
}

#[test]
fn templates_lists_built_ins_and_user_templates() {
    let mut kscope = Kscope::new();
    let dir = kscope.path("config/kscope/templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("viewer.yaml"),
        "name: pod-viewer\ndescription: Only pods, read only\nrules: [{apiGroups: [''], resources: [pods], verbs: [get, list]}]\n",
    )
    .unwrap();
    let run = kscope.run(["templates"]).expect_code(0);
    for name in [
        "namespace-admin",
        "developer",
        "deployer",
        "read-only",
        "pod-viewer",
    ] {
        assert!(run.stdout.contains(name), "{name}: {}", run.stdout);
    }
    let json = kscope.run(["templates", "-o", "json"]).expect_code(0);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["apiVersion"], "kscope.dev/v1alpha1");
    assert_eq!(parsed["kind"], "TemplateList");
    let items = parsed["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|t| t["rules"].is_array()));
}

#[test]
fn input_is_refused_before_any_request_with_exit_2() {
    // No kubeconfig exists: anything that got as far as connecting would fail differently.
    let mut kscope = Kscope::new().env("KUBECONFIG", "/nonexistent/kubeconfig");
    let missing_dir = kscope.path("no-such-dir/x.kubeconfig");
    let cases: [(&[&str], &str); 5] = [
        (&["grant", "Ask", "sa"], "invalid namespace name \"Ask\""),
        (
            &["kubeconfig", "ns", "sa", "--duration", "5m"],
            "at least 10 minutes",
        ),
        (
            &[
                "kubeconfig",
                "ns",
                "sa",
                "--output",
                missing_dir.to_str().unwrap(),
            ],
            "does not exist",
        ),
        (
            &["check", "ns", "sa", "--cluster-role", "a/b"],
            "invalid --cluster-role",
        ),
        (
            &["wizard", "--namespace", "ask"],
            "the wizard needs a terminal",
        ),
    ];
    for (args, says) in cases {
        let run = kscope.run(args).expect_code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn completions_are_generated() {
    let run = Kscope::new().run(["completions", "bash"]).expect_code(0);
    assert!(run.stdout.contains("kscope"), "{}", run.stdout);
}
