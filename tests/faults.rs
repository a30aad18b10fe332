//! What real clusters do to a client, on a control plane of their own (`faults`, started with
//! kube-apiserver `--service-account-max-token-expiration 1h`), because these tests stop and
//! restart its API server: a token lifetime cut short by the server, a hung API server
//! (SIGSTOP), and an API server killed and started again during a grant. One test per
//! scenario; they share one API server, so each holds [`one_at_a_time`] while it runs.

mod common;
mod runner;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use common::admin;

/// The faults cluster's API server for one scenario at a time: one stops it, one restarts it
/// and one binds a role to every ServiceAccount, so no scenario may overlap another. (A
/// scenario that failed still hands it on.)
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static API_SERVER: Mutex<()> = Mutex::new(());
    API_SERVER.lock().unwrap_or_else(|e| e.into_inner())
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

/// Access from outside the grant: `view` for every ServiceAccount. `check` exits 3 naming the
/// binding (the authorizer's reason) and `audit` reports it as high.
#[test]
fn a_binding_to_every_service_account_is_named_by_check_and_audit() {
    let _api_server = one_at_a_time();
    // A runtime of its own, so that the lock above is never held across an await.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(binding_to_every_service_account(
            &common::faults_cluster_dir(),
        ));
}

async fn binding_to_every_service_account(dir: &Path) {
    let client = common::admin_client(dir).await;
    let ns = common::unique_name("broad");
    let mut kscope = admin(dir);
    kscope
        .run(["grant", &ns, "app", "--template", "read-only"])
        .expect_code(0);
    kscope.run(["check", &ns, "app"]).expect_code(0);
    let name = common::unique_name("everyone-views");
    common::bind_cluster_role_cluster_wide(
        &client,
        &name,
        "view",
        common::group_subject("system:serviceaccounts"),
    )
    .await;
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
    common::unbind_cluster_wide(&client, &name).await;
    check
        .stdout_contains(&format!("ClusterRoleBinding \"{name}\" of ClusterRole \"view\" to Group \"system:serviceaccounts\""))
        .stdout_contains("! in default, list pods:");
    let found = audit.expect_code(3).stdout_json();
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "high"
                && f["object"] == format!("ClusterRoleBinding {name}").as_str()),
        "{found}"
    );
}

#[test]
fn shortened_tokens_are_said_and_strict_refuses() {
    let _api_server = one_at_a_time();
    let dir = &common::faults_cluster_dir();
    let ns = common::unique_name("short");
    let mut kscope = admin(dir);
    kscope.run(["grant", &ns, "ci"]).expect_code(0);
    kscope
        .run(["kubeconfig", &ns, "ci", "--duration", "2h"])
        .expect_code(0)
        .stderr_contains("granted 1h instead of the 2h asked for")
        // The shorter token is still written.
        .stdout_contains("token:");
    let file = kscope.path("strict.kubeconfig");
    kscope
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
        .expect_code(1)
        .stderr_contains("the API server granted a token for 1h, not the 2h asked for");
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

#[test]
fn a_hung_api_server_is_reported_within_the_request_timeout() {
    let _api_server = one_at_a_time();
    let dir = &common::faults_cluster_dir();
    let server = common::server_url(dir);
    let mut kscope = admin(dir);
    let pid = apiserver_pid(dir);
    signal(&pid, "STOP");
    let stopped = Stopped(pid);
    let run = kscope.run(["list", "--request-timeout", "2s"]);
    drop(stopped);
    run.expect_code(1)
        .stderr_first_line_contains(&format!(
            "no answer from the API server at {server} within 2s (--request-timeout)"
        ))
        .stderr_contains("hint: the API server is overloaded or hung");
    // A bad bound is refused before any request.
    kscope
        .run(["list", "--request-timeout", "soon"])
        .expect_code(2)
        .stderr_contains("invalid --request-timeout");
}

#[test]
fn a_grant_cut_by_an_api_server_restart_completes_on_rerun() {
    let _api_server = one_at_a_time();
    let dir = &common::faults_cluster_dir();
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
