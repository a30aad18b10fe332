//! Binary-level tests of the CLI that need no cluster: `--help`, `--dry-run`, templates,
//! completions, and input refused before any request. (`tests/bad_input.rs` proves against
//! the real control plane that refused input creates nothing.)

mod runner;

use runner::{Kscope, Run};

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
        vec!["apply", "--help"],
        vec!["audit", "--help"],
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
    // The grant's five objects, kscope's quota, limit range and network policy, then kscope's
    // guard and its one binding.
    assert_eq!(run.stdout.matches("---\n").count(), 10, "{}", run.stdout);
    for kind in [
        "Namespace",
        "ServiceAccount",
        "Secret",
        "Role",
        "RoleBinding",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] {
        run.stdout_contains(&format!("kind: {kind}\n"));
    }
    // A dry run holds no token.
    run.stdout_lacks("token:");
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
        9,
        "no Role with --cluster-role (but kscope's bounds, and the guard, since a ClusterRole may reach what it protects)"
    );
    run.stdout_contains("kind: ClusterRole\n  name: edit");
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
        run.stdout_contains(name);
    }
    let parsed = kscope
        .run(["templates", "-o", "json"])
        .expect_code(0)
        .stdout_json();
    assert_eq!(parsed["apiVersion"], "kscope.dev/v1alpha1");
    assert_eq!(parsed["kind"], "TemplateList");
    let items = parsed["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(items.iter().all(|t| t["rules"].is_array()));

    // A file in the default directory may not quietly replace a built-in; the same file in a
    // directory given with --template-dir may, and grant says which file won.
    let shadow = "name: developer\ndescription: More than it says\nrules: [{apiGroups: [''], resources: [secrets], verbs: [get]}]\n";
    std::fs::write(dir.join("developer.yaml"), shadow).unwrap();
    kscope
        .run(["templates"])
        .expect_code(2)
        .stderr_contains("like a built-in template");
    kscope
        .run(["grant", "ns", "sa", "--template", "developer", "--dry-run"])
        .expect_code(2)
        .stderr_contains("--template-dir");
    let explicit = kscope.path("explicit");
    std::fs::create_dir_all(&explicit).unwrap();
    std::fs::rename(dir.join("developer.yaml"), explicit.join("developer.yaml")).unwrap();
    kscope
        .run([
            "grant",
            "ns",
            "sa",
            "--template",
            "developer",
            "--template-dir",
            explicit.to_str().unwrap(),
            "--dry-run",
        ])
        .expect_code(0)
        .stderr_contains("replaces the built-in of that name")
        .stderr_contains("explicit/developer.yaml");
}

#[test]
fn input_is_refused_before_any_request_with_exit_2() {
    // No kubeconfig exists: anything that got as far as connecting would fail differently.
    let mut kscope = Kscope::new().env("KUBECONFIG", "/nonexistent/kubeconfig");
    let missing_dir = kscope.path("no-such-dir/x.kubeconfig");
    let cases: [(&[&str], &str); 11] = [
        (
            &["kubeconfig", "ns", "sa", "--server", "http://10.0.0.1:8080"],
            "only goes to an https:// server",
        ),
        (&["grant", "Ask", "sa"], "invalid namespace name \"Ask\""),
        (
            &["grant", "kube-system", "x"],
            "namespace kube-system holds the cluster's own identities",
        ),
        (
            &["grant", "default", "x", "--dry-run"],
            "namespace default holds the cluster's own identities",
        ),
        (
            &["grant", "kube-node-lease", "x", "--template", "read-only"],
            "--allow-system-namespace",
        ),
        (
            &["grant", "team", "x", "--cluster-role", "cluster-admin"],
            "ClusterRole cluster-admin lets the tenant step outside its grant",
        ),
        (
            &["wizard", "--namespace", "kube-public"],
            "namespace kube-public holds the cluster's own identities",
        ),
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
        kscope
            .run(args)
            .expect_code(2)
            .stderr_contains(says)
            .stdout_is_empty();
    }
}

/// A bad `audit --accept` file is refused before any request, every problem with its line;
/// so is a bad `--unused-for`.
#[test]
fn a_bad_accept_file_is_refused_whole_with_every_line() {
    let mut kscope = Kscope::new().env("KUBECONFIG", "/nonexistent/kubeconfig");
    let accept = kscope.path("accept.yaml");
    std::fs::write(
        &accept,
        "- ruleId: KSCOPE-NO-SUCH-RULE\n  object: {kind: Secret, namespace: a, name: x}\n  reason: r\n  expires: 2027-01-01\n- ruleId: KSCOPE-TOKEN-UNUSED\n  object: {kind: Secret, name: x}\n  reason: r\n  expires: tomorrow\n  ticket: OPS-1\n",
    )
    .unwrap();
    let run = kscope
        .run(["audit", "--accept", accept.to_str().unwrap()])
        .expect_code(2);
    for said in [
        "accept.yaml:1:",
        "unknown ruleId \"KSCOPE-NO-SUCH-RULE\"",
        "accept.yaml:8:",
        "expires must be a date as YYYY-MM-DD",
        "accept.yaml:9:",
        "unknown field \"ticket\"",
        "has 3 problems; nothing was sent",
    ] {
        run.stderr_contains(said);
    }
    run.stdout_is_empty();
    kscope
        .run(["audit", "--unused-for", "soon"])
        .expect_code(2)
        .stderr_contains("--unused-for");
}

/// A file where `apply --kubeconfig-dir` wants a directory: refused before any request, the
/// hint naming the flag that was given; `check -f` refuses a bad set as apply does.
#[test]
fn a_kubeconfig_dir_that_is_a_file_is_refused_naming_the_flag() {
    let mut kscope = Kscope::new().env("KUBECONFIG", "/nonexistent/kubeconfig");
    let set = kscope.path("set.yaml");
    std::fs::write(
        &set,
        "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: s}\nspec:\n  tenants:\n  - {namespace: a, serviceAccount: ci, template: read-only}\n",
    )
    .unwrap();
    let file = kscope.path("plain");
    std::fs::write(&file, "not a directory").unwrap();
    let (set, file) = (set.to_str().unwrap(), file.to_str().unwrap());
    kscope
        .run(["apply", "-f", set, "--kubeconfig-dir", file])
        .expect_code(2)
        .stderr_contains("is not a directory")
        .stderr_contains("give --kubeconfig-dir a directory")
        .stderr_lacks("--output");

    let bad = kscope.path("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nspec: {tenants: [{namespace: A}]}\n",
    )
    .unwrap();
    kscope
        .run(["check", "-f", bad.to_str().unwrap()])
        .expect_code(2)
        .stderr_contains("bad.yaml:")
        .stdout_is_empty();
    kscope
        .run(["check", "-f", set, "--concurrency", "0"])
        .expect_code(2)
        .stdout_is_empty();
}

/// What a completion script must hold, in its shell's own syntax.
struct Completion {
    shell: &'static str,
    /// How the script registers itself for the command `kscope`.
    registers: &'static str,
    /// How it offers a subcommand.
    offers: fn(&str) -> String,
    /// How it offers `--cluster-role` to `grant`.
    flag: &'static str,
}

/// Every shell clap_complete supports gets a script that registers kscope and completes its
/// subcommands and their flags, each in the shell's own syntax.
#[test]
fn completions_are_generated_for_every_shell() {
    let subcommands = ["grant", "kubeconfig", "check", "apply", "audit", "revoke"];
    let shells = [
        Completion {
            shell: "bash",
            registers: "complete -F _kscope",
            offers: |sub| format!("kscope,{sub})"),
            flag: "--cluster-role",
        },
        Completion {
            shell: "zsh",
            registers: "#compdef kscope",
            offers: |sub| format!("({sub})"),
            flag: "'--cluster-role=[",
        },
        Completion {
            shell: "fish",
            registers: "complete -c kscope",
            offers: |sub| format!("__fish_kscope_needs_command\" -f -a \"{sub}\""),
            flag: "__fish_kscope_using_subcommand grant\" -l cluster-role",
        },
        Completion {
            shell: "elvish",
            registers: "set edit:completion:arg-completer[kscope]",
            offers: |sub| format!("&'kscope;{sub}'= {{"),
            flag: "cand --cluster-role",
        },
        Completion {
            shell: "powershell",
            registers: "Register-ArgumentCompleter -Native -CommandName 'kscope'",
            offers: |sub| format!("[CompletionResult]::new('{sub}', '{sub}'"),
            flag: "[CompletionResult]::new('--cluster-role'",
        },
    ];
    for expected in shells {
        let run = Kscope::new()
            .run(["completions", expected.shell])
            .expect_code(0);
        run.stdout_contains(expected.registers)
            .stdout_contains(expected.flag)
            .stderr_is_empty();
        for sub in subcommands {
            run.stdout_contains(&(expected.offers)(sub));
        }
    }
    Kscope::new()
        .run(["completions", "tcsh"])
        .expect_code(2)
        .stderr_contains("[possible values: bash, elvish, fish, powershell, zsh]");
}

/// The bash script, sourced into a real bash, completes a subcommand, a flag and the list of
/// subcommands as a user pressing Tab would get them.
#[test]
fn bash_completes_subcommands_and_flags() {
    let mut kscope = Kscope::new();
    let script = kscope.path("kscope.bash");
    let run = kscope.run(["completions", "bash"]).expect_code(0);
    std::fs::write(&script, &run.stdout).unwrap();
    // `_kscope <command> <word> <previous word>` with COMP_WORDS/COMP_CWORD set, as bash calls it.
    let complete = |words: &[&str]| -> Run {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let cword = words.len() - 1;
        let body = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _kscope kscope '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words[cword],
            words[cword - 1],
        );
        let mut bash = std::process::Command::new("bash");
        bash.args(["--norc", "--noprofile", "-c", &body]);
        Run::of(&mut bash).expect_code(0)
    };
    let lines = |run: &Run| -> Vec<String> { run.stdout.lines().map(String::from).collect() };
    assert_eq!(lines(&complete(&["kscope", "gr"])), ["grant"]);
    assert_eq!(lines(&complete(&["kscope", "kubec"])), ["kubeconfig"]);
    assert_eq!(
        lines(&complete(&["kscope", "grant", "--clu"])),
        ["--cluster-role"]
    );
    let all = complete(&["kscope", ""]);
    for sub in [
        "grant",
        "kubeconfig",
        "check",
        "list",
        "revoke",
        "rotate",
        "apply",
        "audit",
    ] {
        assert!(
            lines(&all).iter().any(|l| l == sub),
            "{sub}\n{}",
            all.describe()
        );
    }
}

#[test]
fn started_as_kubectl_kscope_it_speaks_as_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kubectl-kscope");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kscope"), &link).unwrap();
    let run = |args: &[&str]| {
        let mut plugin = std::process::Command::new(&link);
        plugin
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        Run::of(&mut plugin)
    };
    run(&["--help"])
        .expect_code(0)
        .stdout_contains("Usage: kubectl kscope [OPTIONS] [COMMAND]");
    run(&["grant", "--help"]).stdout_contains("Usage: kubectl kscope grant");
    // Hints name the command the way the user calls it.
    run(&["revoke", "ns", "sa"])
        .expect_code(2)
        .stderr_contains("kubectl kscope revoke ns sa --yes");
    run(&["wizard", "--namespace", "ask"])
        .expect_code(2)
        .stderr_contains("Usage: kubectl kscope wizard")
        .stderr_contains("kubectl kscope grant ask <serviceaccount>");
    // Started as kscope, it is kscope.
    Kscope::new()
        .run(["revoke", "ns", "sa"])
        .expect_code(2)
        .stderr_contains("hint: check what would go with --dry-run, then confirm with --yes: kscope revoke ns sa --yes");
}

#[test]
fn man_prints_a_roff_page_naming_every_subcommand_and_flag() {
    let run = Kscope::new().run(["man"]).expect_code(0);
    run.stdout_starts_with(".TH kscope 1");
    for sub in [
        "GRANT",
        "KUBECONFIG",
        "CHECK",
        "LIST",
        "REVOKE",
        "ROTATE",
        "TEMPLATES",
        "WIZARD",
        "COMPLETIONS",
        "MAN",
    ] {
        run.stdout_contains(&format!(".SH \"KSCOPE {sub}\""));
    }
    for flag in [
        "delete\\-namespace",
        "strict\\-duration",
        "request\\-timeout",
        "kubeconfig\\-file",
    ] {
        run.stdout_contains(flag);
    }
}

#[test]
fn version_names_the_release_and_the_commit() {
    let run = Kscope::new().run(["--version"]).expect_code(0);
    run.stdout_starts_with(&format!("kscope {}", env!("CARGO_PKG_VERSION")));
    // Built from this git checkout: the commit is named.
    if std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.git")).exists() {
        run.stdout_contains(" (");
    }
}

#[test]
fn the_krew_manifest_has_what_krew_needs() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/krew/kscope.yaml")).unwrap();
    let manifest: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(
        manifest["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(manifest["kind"], "Plugin");
    assert_eq!(manifest["metadata"]["name"], "kscope");
    let spec = &manifest["spec"];
    for field in ["version", "homepage", "shortDescription", "description"] {
        assert!(
            spec[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    let platforms = spec["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    for platform in platforms {
        assert!(platform["selector"]["matchLabels"]["os"].is_string());
        assert_eq!(platform["bin"], "kscope");
        for field in ["uri", "sha256"] {
            let value = platform[field].as_str().unwrap();
            assert!(
                value.starts_with("{{") && value.ends_with("}}"),
                "{field} is a placeholder: {value}"
            );
        }
        assert_eq!(platform["files"][0]["from"], "kscope");
    }
}

/// `kscope … 2>&1 | head -1` closes the pipe early: what kscope still has to say on stderr is
/// lost, but it neither panics (Rust's `eprintln!` would, with exit 101) nor changes its exit
/// code. Both an error (exit 2) and a run that succeeds with notes on stderr are tried.
#[test]
fn a_closed_stderr_changes_nothing_but_what_is_seen() {
    let mut kscope = Kscope::new();
    let set = kscope.path("set.yaml");
    std::fs::write(
        &set,
        "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: s}\nspec:\n  tenants:\n  - {namespace: team-a, serviceAccount: ci, template: developer}\n",
    )
    .unwrap();
    let set = set.to_string_lossy().into_owned();
    for (args, code) in [
        (
            vec![
                "--kubeconfig",
                "/nonexistent/kubeconfig",
                "kubeconfig",
                "a",
                "b",
            ],
            2,
        ),
        (vec!["apply", "-f", set.as_str(), "--dry-run"], 0),
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        assert_eq!(
            kscope.status_with_stderr(&args, writer),
            code,
            "kscope {args:?} with stderr into a closed pipe"
        );
    }
}

/// `--deliver-to` names a context of the kubeconfig: one that is not there is refused before
/// any request to either cluster (the server here does not even listen).
#[test]
fn an_unknown_delivery_context_is_refused_before_any_request() {
    let kscope = Kscope::new();
    let kubeconfig = kscope.path("one.kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: one\n  context: {cluster: c, user: u}\ncurrent-context: one\n",
    )
    .unwrap();
    let mut kscope = kscope.kubeconfig(&kubeconfig);
    kscope
        .run([
            "kubeconfig",
            "ns",
            "sa",
            "--format",
            "argocd",
            "--deliver-to",
            "mgmt",
        ])
        .expect_code(2)
        .stderr_contains("mgmt")
        .stdout_is_empty();
}
