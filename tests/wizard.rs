//! The wizard end to end: the real binary in a pseudo-terminal (rexpect), answering its
//! dialoguer prompts like a user (arrow keys, typed text, Enter, y/n, Ctrl-C), against the real
//! control plane; the kubeconfig it writes is then used by the real kubectl. Without a
//! terminal it must refuse at once, with the flags that do the same.
//!
//! Needs the cluster of `tests/run` (or `tests/cluster/up target/testenv/main`), except the
//! refusal test.

mod common;
mod runner;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::config::{Context, NamedCluster, NamedContext};
use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};
use runner::Run;

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// An isolated user: a scratch working directory (where the default kubeconfig file lands) and
/// private XDG state and config directories.
struct User {
    home: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        let home = tempfile::tempdir().expect("a temporary directory");
        for dir in ["work", "state", "config"] {
            std::fs::create_dir(home.path().join(dir)).expect("a scratch directory");
        }
        User { home }
    }
    fn work(&self) -> PathBuf {
        self.home.path().join("work")
    }
    fn state_file(&self) -> PathBuf {
        self.home.path().join("state/kscope/grants.json")
    }
    /// `kscope <args>` as this user, with `kubeconfig` as `KUBECONFIG`.
    fn kscope(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kscope"));
        command
            .args(args)
            .current_dir(self.work())
            .env("KUBECONFIG", kubeconfig)
            .env("XDG_STATE_HOME", self.home.path().join("state"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env_remove("KUBECTL_CONTEXT");
        command
    }
    /// The wizard in a pseudo-terminal. Escape codes are stripped from what the test reads.
    fn wizard(&self, kubeconfig: &Path, args: &[&str]) -> Terminal {
        let options = Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true);
        let session = spawn_with_options(self.kscope(kubeconfig, args), options)
            .expect("starting kscope in a pseudo-terminal");
        Terminal {
            session,
            seen: String::new(),
        }
    }
}

/// A user at the wizard's terminal; `seen` is everything the wizard showed so far.
struct Terminal {
    session: PtySession,
    seen: String,
}

impl Terminal {
    /// Waits until the wizard shows `text`.
    fn expect(&mut self, text: &str) {
        match self.session.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
            }
            Err(e) => panic!(
                "the wizard never showed {text:?}: {e}\n--- it showed:\n{}",
                self.seen
            ),
        }
    }
    /// Presses keys (flushed at once, so the wizard reads them now).
    fn keys(&mut self, keys: &str) {
        self.session.send(keys).expect("typing");
        self.session.flush().expect("flushing the keys");
    }
    /// Waits for `prompt`, then answers with `keys`.
    fn answer(&mut self, prompt: &str, keys: &str) {
        self.expect(prompt);
        self.keys(keys);
    }
    /// Waits until the wizard exits; returns its exit code.
    fn exit_code(mut self) -> i32 {
        match self.session.exp_eof() {
            Ok(rest) => self.seen.push_str(&rest),
            Err(e) => panic!(
                "the wizard did not finish: {e}\n--- it showed:\n{}",
                self.seen
            ),
        }
        match self.session.process().wait() {
            Ok(WaitStatus::Exited(_, code)) => code,
            other => panic!(
                "the wizard ended with {other:?}\n--- it showed:\n{}",
                self.seen
            ),
        }
    }
}

async fn namespace_exists(dir: &Path, name: &str) -> bool {
    Api::<Namespace>::all(admin_client(dir).await)
        .get_opt(name)
        .await
        .expect("reading the namespace")
        .is_some()
}

/// The admin kubeconfig plus a second context, `elsewhere`, that points at nothing; the
/// admin context stays current.
fn two_context_kubeconfig(dir: &Path, into: &Path) -> PathBuf {
    let mut config = admin_kubeconfig(dir);
    let current = config.current_context.clone().expect("a current context");
    let user = config
        .contexts
        .iter()
        .find(|c| c.name == current)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.user.clone())
        .expect("the admin context");
    let mut cluster = config.clusters[0]
        .cluster
        .clone()
        .expect("the admin cluster");
    cluster.server = Some("https://127.0.0.1:1".into());
    config.clusters.push(NamedCluster {
        name: "elsewhere".into(),
        cluster: Some(cluster),
        other: Default::default(),
    });
    config.contexts.push(NamedContext {
        name: "elsewhere".into(),
        context: Some(Context {
            cluster: "elsewhere".into(),
            user,
            ..Default::default()
        }),
        other: Default::default(),
    });
    let path = into.join("two-contexts.kubeconfig");
    std::fs::write(
        &path,
        serde_json::to_string(&config).expect("kubeconfig as JSON"),
    )
    .expect("writing the kubeconfig");
    path
}

/// Every question answered, one refusal per validated answer, confirmed: the grant exists,
/// the kubeconfig file (0600) works with the real kubectl in the namespace and is Forbidden
/// in `default`, and the grant is remembered.
#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_makes_a_grant_that_kubectl_can_use() {
    let dir = cluster_dir();
    let user = User::new();
    let kubeconfig = two_context_kubeconfig(&dir, user.home.path());
    let ns = unique_name("wizard");
    let mut term = user.wizard(&kubeconfig, &[]);

    term.expect("Context");
    term.expect(&server_url(&dir));
    term.answer("https://127.0.0.1:1", ENTER); // the current context is preselected
    term.answer("a new namespace (type its name)", ENTER);
    term.answer("Namespace name", "Team_A\r");
    term.answer("contains the uppercase letter 'T'", &format!("{ns}\r"));
    term.expect(&format!("Namespace {ns} will be created."));
    term.answer("ServiceAccount name", "ci\r");
    term.expect("Access");
    term.answer("an existing ClusterRole", &format!("{DOWN}{ENTER}")); // developer
    term.answer("Pod Security of the new namespace", ENTER); // baseline, preselected
    term.expect("Token in the kubeconfig");
    term.answer("a duration you choose", &format!("{DOWN}{ENTER}")); // expiring
    term.answer("Token lifetime", "5m\r");
    term.answer("tokens must live at least 10 minutes", "2h\r");
    let file = format!("./{ns}-ci.kubeconfig");
    term.answer(&format!("Kubeconfig file to write ({file})"), ENTER);
    term.expect("kind: Role");
    term.expect(&format!("kscope grant {ns} ci --template developer &&"));
    term.answer("Create these objects and write the kubeconfig?", "y");
    term.expect("RESULT");
    term.expect(&format!("RoleBinding     {ns}/ci"));
    term.expect(&format!("wrote {file} (mode 0600)"));
    term.expect(&format!("identity: system:serviceaccount:{ns}:ci"));
    term.expect("answers match the grant");
    term.expect(&format!("kubectl --kubeconfig {file} get pods"));
    term.expect(&format!(
        "kscope kubeconfig {ns} ci --duration 2h --output {file} &&"
    ));
    term.expect(&format!("kscope check {ns} ci --kubeconfig-file {file}"));
    assert_eq!(term.exit_code(), 0);

    let path = user.work().join(format!("{ns}-ci.kubeconfig"));
    let mode = std::fs::metadata(&path)
        .expect("the kubeconfig file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    // The real kubectl with the file, from where the wizard wrote it.
    let kubectl_with_file = |args: &[&str]| {
        let mut kubectl = kubectl(&dir);
        kubectl
            .current_dir(user.work())
            .args(["--kubeconfig", &file])
            .args(args);
        Run::of(&mut kubectl)
    };
    kubectl_with_file(&["get", "pods"])
        .expect_code(0)
        .stderr_contains(&format!("No resources found in {ns} namespace."));
    let other = kubectl_with_file(&["get", "pods", "-n", "default"]);
    assert_ne!(other.code, 0, "{}", other.describe());
    other
        .stderr_contains("Forbidden")
        .stderr_contains(&format!("system:serviceaccount:{ns}:ci"))
        .stderr_contains("in the namespace \"default\"");
    let state = std::fs::read_to_string(user.state_file()).expect("the remembered grant");
    assert!(state.contains(&ns), "{state}");

    delete_namespace(&admin_client(&dir).await, &ns).await;
}

/// "No" at the preview: exit 0, and nothing exists afterwards — no namespace, no file, no
/// remembered grant.
#[tokio::test(flavor = "multi_thread")]
async fn no_at_the_preview_creates_nothing() {
    let dir = cluster_dir();
    let user = User::new();
    let ns = unique_name("wizard-no");
    let mut term = user.wizard(&admin_kubeconfig_path(&dir), &["wizard"]);

    term.expect("Context: ");
    term.answer("a new namespace (type its name)", ENTER);
    term.answer("Namespace name", &format!("{ns}\r"));
    term.answer(&format!("ServiceAccount name ({ns}-sa)"), ENTER);
    term.answer("an existing ClusterRole", ENTER); // namespace-admin, preselected
    term.answer("Pod Security of the new namespace", ENTER); // baseline, preselected
    term.answer("a duration you choose", ENTER); // long-lived
    term.answer("Kubeconfig file to write", ENTER);
    term.answer("Create these objects and write the kubeconfig?", "n");
    term.expect("Nothing was created.");
    term.expect(&format!(
        "kscope grant {ns} {ns}-sa --template namespace-admin &&"
    ));
    assert_eq!(term.exit_code(), 0);

    assert!(
        !namespace_exists(&dir, &ns).await,
        "namespace {ns} was created"
    );
    let files: Vec<_> = std::fs::read_dir(user.work()).unwrap().collect();
    assert!(files.is_empty(), "files were written: {files:?}");
    assert!(!user.state_file().exists(), "a grant was remembered");
}

/// Ctrl-C at a question: exit 130 at once, nothing created.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_a_question_exits_130_and_creates_nothing() {
    let dir = cluster_dir();
    let user = User::new();
    let ns = unique_name("wizard-int");
    let mut term = user.wizard(&admin_kubeconfig_path(&dir), &[]);

    term.answer("a new namespace (type its name)", ENTER);
    term.answer("Namespace name", &format!("{ns}\r"));
    term.expect("ServiceAccount name");
    term.session.send_control('c').expect("pressing Ctrl-C");
    term.expect("interrupted");
    assert_eq!(term.exit_code(), 130);
    assert!(
        !namespace_exists(&dir, &ns).await,
        "namespace {ns} was created"
    );
}

/// Without a terminal on stdin, `kscope` and `kscope wizard` never wait for input: exit 2
/// with the usage and the flags that do the same.
#[test]
fn without_a_terminal_it_refuses_with_the_equivalent_flags() {
    let user = User::new();
    let nowhere = user.home.path().join("no.kubeconfig");
    let cases: [(&[&str], &[&str]); 2] = [
        (
            &[],
            &[
                "Usage: kscope [OPTIONS] [COMMAND]",
                "error: the wizard needs a terminal, and stdin is not one",
                "kscope grant <namespace> <serviceaccount> --template namespace-admin &&",
                "kscope check <namespace> <serviceaccount> --kubeconfig-file ./<namespace>-<serviceaccount>.kubeconfig",
            ],
        ),
        (
            &[
                "wizard",
                "--namespace",
                "ask",
                "--cluster-role",
                "view",
                "--duration",
                "8h",
            ],
            &[
                "Usage: kscope wizard [OPTIONS]",
                "kscope grant ask <serviceaccount> --cluster-role view &&",
                "kscope kubeconfig ask <serviceaccount> --duration 8h --output ./ask-<serviceaccount>.kubeconfig &&",
            ],
        ),
    ];
    for (args, expected) in cases {
        let mut command = user.kscope(&nowhere, args);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("starting kscope");
        let started = Instant::now();
        while child.try_wait().expect("polling kscope").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "kscope {args:?} is waiting for input without a terminal"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("kscope's output");
        // No data on stdout; the usage and the equivalent flags on stderr.
        let run = Run::from_output(&command, &out).expect_code(2);
        run.stdout_is_empty();
        for text in expected {
            run.stderr_contains(text);
        }
    }

    let mut command = user.kscope(&nowhere, &["wizard", "--namespace", "Bad_Name"]);
    command.stdin(Stdio::null());
    Run::of(&mut command)
        .expect_code(2)
        .stderr_contains("invalid namespace name \"Bad_Name\"");
}
