//! Finding the test control planes: their state dirs (failing loudly, with the command that
//! starts one, when none runs) and their kubectl.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use super::kubeconfigs::admin_kubeconfig_path;

pub const CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER";
pub const NO_KCM_CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER_NO_KCM";

/// How long a test waits for a controller to act (token filled, namespace gone, ...).
pub const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(60);

/// State dir of the full control plane (etcd, kube-apiserver, kube-controller-manager).
/// Panics, naming the command that starts it, when it is not running.
pub fn cluster_dir() -> PathBuf {
    checked_dir(CLUSTER_ENV, "target/testenv/main", "")
}

/// State dir of the full control plane kept for fault tests (they stop and restart its API
/// server), started with `--max-token-expiration 1h`.
pub const FAULTS_CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER_FAULTS";

pub fn faults_cluster_dir() -> PathBuf {
    checked_dir(
        FAULTS_CLUSTER_ENV,
        "target/testenv/faults",
        " --max-token-expiration 1h",
    )
}

/// State dir of a full control plane kept for the audit's CI-format tests (tests/ci_formats.rs
/// alone), so that findings other tests make elsewhere never reach their exit codes.
pub const AUDIT_CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER_AUDIT";

pub fn audit_cluster_dir() -> PathBuf {
    checked_dir(AUDIT_CLUSTER_ENV, "target/testenv/audit", "")
}

/// State dir of a full control plane whose authorizer chain goes on, after RBAC, to a local
/// authorization webhook that tests drive with rule files ([`webhook_rules`]).
pub const WEBHOOK_CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER_WEBHOOK";

pub fn webhook_cluster_dir() -> PathBuf {
    checked_dir(
        WEBHOOK_CLUSTER_ENV,
        "target/testenv/webhook",
        " --authz-webhook",
    )
}

/// Gives the webhook of the cluster in `dir` the rules `rules` (a JSON list, see
/// docs/testing.md) under `name`, atomically (written aside, then renamed into place); an
/// empty list takes them back.
pub fn webhook_rules(dir: &Path, name: &str, rules: &serde_json::Value) {
    let rules_dir = dir.join("authz-webhook/rules");
    std::fs::create_dir_all(&rules_dir).unwrap();
    let aside = rules_dir.join(format!(".{name}.tmp"));
    std::fs::write(&aside, serde_json::to_vec(rules).unwrap()).unwrap();
    std::fs::rename(&aside, rules_dir.join(format!("{name}.json"))).unwrap();
}

/// State dir of the control plane without kube-controller-manager: nothing fills token
/// Secrets, creates `default` ServiceAccounts or finishes namespace deletion there.
/// Panics, naming the command that starts it, when it is not running.
pub fn no_kcm_cluster_dir() -> PathBuf {
    checked_dir(
        NO_KCM_CLUSTER_ENV,
        "target/testenv/no-kcm",
        " --no-controller-manager",
    )
}

fn checked_dir(env: &str, default: &str, up_flags: &str) -> PathBuf {
    static CHECKED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = match std::env::var_os(env) {
        Some(v) if !v.is_empty() => manifest.join(v), // join keeps an absolute path as it is
        _ => manifest.join(default),
    };
    let mut checked = CHECKED.lock().unwrap_or_else(|e| e.into_inner());
    if checked.get_or_insert_with(HashSet::new).contains(&dir) {
        return dir;
    }
    let how = format!(
        "Start it with:\n\n    tests/cluster/up {default}{up_flags}\n\n\
         (and stop it with `tests/cluster/down {default}`), or run the whole suite with \
         `tests/run`, which starts and stops both test clusters itself. \
         ${env} points the tests at a cluster in another state dir."
    );
    let kubeconfig = dir.join("admin.kubeconfig");
    if !kubeconfig.is_file() {
        panic!(
            "\n\n*** These tests need a running Kubernetes control plane, and there is none in {}: \
             {} is missing.\n{how}\n\n",
            dir.display(),
            kubeconfig.display()
        );
    }
    let out = kubectl(&dir)
        .args(["get", "--raw", "/readyz", "--request-timeout=10s"])
        .output();
    match out {
        Ok(o) if o.status.success() && o.stdout.trim_ascii() == b"ok" => {}
        Ok(o) => panic!(
            "\n\n*** The control plane in {} does not answer: `kubectl get --raw /readyz` said: {}{}\n{how}\n\n",
            dir.display(),
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "\n\n*** Cannot run {}/bin/kubectl: {e}\n{how}\n\n",
            dir.display()
        ),
    }
    checked.as_mut().unwrap().insert(dir.clone());
    dir
}

/// The built kubectl of the cluster in `dir`, with `KUBECONFIG` set to its admin kubeconfig
/// (a `--kubeconfig` argument overrides that) and its discovery cache inside the state dir.
pub fn kubectl(dir: &Path) -> Command {
    let mut cmd = Command::new(dir.join("bin/kubectl"));
    cmd.env("KUBECONFIG", admin_kubeconfig_path(dir))
        .env("KUBECACHEDIR", dir.join("kubectl-cache"))
        .env_remove("KUBECTL_CONTEXT")
        .stdin(std::process::Stdio::null());
    cmd
}
