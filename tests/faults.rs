//! What real clusters do to a client, on a control plane of their own (`faults`, started with
//! kube-apiserver `--service-account-max-token-expiration 1h`), because these tests stop and
//! restart its API server: a token lifetime cut short by the server, a hung API server
//! (SIGSTOP), and an API server killed and started again during a grant. The steps share one
//! API server, so they run in order in one test.

mod common;
mod runner;

use std::path::Path;
use std::process::Command;

use runner::Kscope;

fn admin(dir: &Path) -> Kscope {
    Kscope::new().kubeconfig(&common::admin_kubeconfig_path(dir))
}

fn apiserver_pid(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pids/kube-apiserver.pid"))
        .expect("the faults cluster records its API server's pid")
        .trim()
        .to_string()
}

fn signal(pid: &str, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// Sends SIGCONT when dropped, so a failing assertion never leaves the API server stopped.
struct Stopped(String);

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(&self.0, "CONT");
    }
}

#[tokio::test]
async fn faults_of_real_clusters() {
    let dir = common::faults_cluster_dir();
    a_binding_to_every_service_account_is_named_by_check_and_audit(&dir).await;
    shortened_tokens_are_said_and_strict_refuses(&dir);
    a_hung_api_server_is_reported_within_the_request_timeout(&dir);
    a_grant_cut_by_an_api_server_restart_completes_on_rerun(&dir);
}

/// Access from outside the grant: `view` for every ServiceAccount. `check` exits 3 naming the
/// binding (the authorizer's reason) and `audit` reports it as high.
async fn a_binding_to_every_service_account_is_named_by_check_and_audit(dir: &Path) {
    use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    use kube::Api;
    use kube::api::{DeleteParams, PostParams};
    let client = common::admin_client(dir).await;
    let ns = common::unique_name("broad");
    let mut kscope = admin(dir);
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(0);
    kscope.run(["check", &ns, "app"]).expect_code(0);
    let name = common::unique_name("everyone-views");
    let binding: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:serviceaccounts"}],
    }))
    .unwrap();
    let bindings = Api::<ClusterRoleBinding>::all(client);
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    let check = common::eventually(
        "the broad binding takes effect",
        std::time::Duration::from_secs(20),
        || {
            let run = kscope.run(["check", &ns, "app"]);
            async move {
                if run.code == 3 {
                    Ok(run)
                } else {
                    Err(format!("exit {}", run.code))
                }
            }
        },
    )
    .await;
    let audit = kscope.run(["audit", "-o", "json"]);
    bindings
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        check.stdout.contains(&format!("ClusterRoleBinding \"{name}\" of ClusterRole \"view\" to Group \"system:serviceaccounts\"")),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("! in default, list pods:"),
        "{}",
        check.stdout
    );
    assert_eq!(audit.code, 3, "{}", audit.stderr);
    let found: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "high"
                && f["object"] == format!("ClusterRoleBinding {name}").as_str()),
        "{}",
        audit.stdout
    );
}

fn shortened_tokens_are_said_and_strict_refuses(dir: &Path) {
    let ns = common::unique_name("short");
    let mut kscope = admin(dir);
    kscope.run(["grant", &ns, "ci"]).expect_code(0);
    let run = kscope
        .run(["kubeconfig", &ns, "ci", "--duration", "2h"])
        .expect_code(0);
    assert!(
        run.stderr
            .contains("granted 1h instead of the 2h asked for"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("token:"),
        "the shorter token is still written"
    );
    let file = kscope.path("strict.kubeconfig");
    let run = kscope
        .run([
            "kubeconfig",
            &ns,
            "ci",
            "--duration",
            "2h",
            "--strict-duration",
            "-o",
            file.to_str().unwrap(),
        ])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("the API server granted a token for 1h, not the 2h asked for"),
        "{}",
        run.stderr
    );
    assert!(!file.exists(), "nothing is written");
    // Within the server's maximum, strict is satisfied.
    kscope
        .run([
            "kubeconfig",
            &ns,
            "ci",
            "--duration",
            "30m",
            "--strict-duration",
        ])
        .expect_code(0);
}

fn a_hung_api_server_is_reported_within_the_request_timeout(dir: &Path) {
    let server = common::server_url(dir);
    let mut kscope = admin(dir);
    let pid = apiserver_pid(dir);
    signal(&pid, "STOP");
    let stopped = Stopped(pid);
    let run = kscope.run(["list", "--request-timeout", "2s"]);
    drop(stopped);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!(
            "no answer from the API server at {server} within 2s (--request-timeout)"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: the API server is overloaded or hung"),
        "{}",
        run.stderr
    );
    // A bad bound is refused before any request.
    let run = kscope
        .run(["list", "--request-timeout", "soon"])
        .expect_code(2);
    assert!(
        run.stderr.contains("invalid --request-timeout"),
        "{}",
        run.stderr
    );
}

fn a_grant_cut_by_an_api_server_restart_completes_on_rerun(dir: &Path) {
    let ns = common::unique_name("restart");
    let kscope = admin(dir);
    let home = kscope.home().to_path_buf();
    let child = Command::new(env!("CARGO_BIN_EXE_kscope"))
        .args(["grant", &ns, "app"])
        .env("KUBECONFIG", common::admin_kubeconfig_path(dir))
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let restarted = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cluster/restart"
    ))
    .arg(dir)
    .arg("kube-apiserver")
    .status()
    .unwrap();
    assert!(restarted.success(), "the API server came back");
    // Wherever the restart cut it, the first grant ends (either way) and the same grant
    // run again completes it.
    let _ = child.wait_with_output().unwrap();
    let mut kscope = kscope;
    kscope.run(["grant", &ns, "app"]).expect_code(0);
    kscope.run(["check", &ns, "app"]).expect_code(0);
}
