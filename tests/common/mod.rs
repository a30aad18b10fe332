//! Shared helpers for the integration tests that run against the real control plane started
//! by `tests/cluster/up` (or by `tests/run`, which starts and stops it around `cargo test`).
//!
//! Two clusters, each a state dir holding `admin.kubeconfig` and `bin/kubectl`:
//! - [`cluster_dir`]: the full control plane (`$KSCOPE_TEST_CLUSTER`, default
//!   `target/testenv/main`);
//! - [`no_kcm_cluster_dir`]: one without kube-controller-manager, where token Secrets are never
//!   filled (`$KSCOPE_TEST_CLUSTER_NO_KCM`, default `target/testenv/no-kcm`).
//!
//! Tests run in parallel in one process and share a cluster: give every namespace and
//! cluster-scoped object a name from [`unique_name`].
#![allow(dead_code)]

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{Condition, await_condition};
use kube::{Api, Client, Config, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

pub const CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER";
pub const NO_KCM_CLUSTER_ENV: &str = "KSCOPE_TEST_CLUSTER_NO_KCM";

/// How long a test waits for a controller to act (token filled, namespace gone, ...).
pub const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(60);

/// State dir of the full control plane (etcd, kube-apiserver, kube-controller-manager).
/// Panics, naming the command that starts it, when it is not running.
pub fn cluster_dir() -> PathBuf {
    checked_dir(CLUSTER_ENV, "target/testenv/main", "")
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

/// The admin kubeconfig (client certificate in `system:masters`) of a test cluster.
pub fn admin_kubeconfig_path(dir: &Path) -> PathBuf {
    dir.join("admin.kubeconfig")
}

pub fn admin_kubeconfig(dir: &Path) -> Kubeconfig {
    let path = admin_kubeconfig_path(dir);
    Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The API server URL, e.g. `https://127.0.0.1:40123`.
pub fn server_url(dir: &Path) -> String {
    admin_cluster(dir)
        .server
        .expect("admin.kubeconfig has no server")
}

/// The cluster CA as base64 of its PEM, as kubeconfigs carry it (`certificate-authority-data`).
pub fn ca_data_base64(dir: &Path) -> String {
    admin_cluster(dir)
        .certificate_authority_data
        .expect("admin.kubeconfig has no certificate-authority-data")
}

/// The cluster CA certificate, PEM.
pub fn ca_pem(dir: &Path) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(ca_data_base64(dir))
        .expect("certificate-authority-data is not base64")
}

fn admin_cluster(dir: &Path) -> kube::config::Cluster {
    admin_kubeconfig(dir)
        .clusters
        .into_iter()
        .next()
        .and_then(|c| c.cluster)
        .expect("admin.kubeconfig has no cluster")
}

async fn client_from(kubeconfig: Kubeconfig) -> Client {
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("building a client config from a kubeconfig");
    Client::try_from(config).expect("building a client")
}

/// A client authenticated as the cluster admin (`system:masters`).
pub async fn admin_client(dir: &Path) -> Client {
    client_from(admin_kubeconfig(dir)).await
}

/// A kubeconfig (as JSON, which kubectl and kube read like YAML) for the cluster in `dir`
/// that authenticates with a bearer token, context namespace `namespace` if given.
pub fn token_kubeconfig_json(
    dir: &Path,
    token: &str,
    namespace: Option<&str>,
) -> serde_json::Value {
    let mut context = json!({ "cluster": "kscope-test", "user": "token-user" });
    if let Some(ns) = namespace {
        context["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "kscope-test", "cluster": {
            "server": server_url(dir),
            "certificate-authority-data": ca_data_base64(dir),
        }}],
        "users": [{ "name": "token-user", "user": { "token": token } }],
        "contexts": [{ "name": "kscope-test", "context": context }],
        "current-context": "kscope-test",
    })
}

/// Writes [`token_kubeconfig_json`] to `path` (for kubectl).
pub fn write_token_kubeconfig(dir: &Path, token: &str, namespace: Option<&str>, path: &Path) {
    let text = serde_json::to_string_pretty(&token_kubeconfig_json(dir, token, namespace)).unwrap();
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// A client for the cluster in `dir` (its server and CA) that authenticates with `token`.
pub async fn token_client(dir: &Path, token: &str) -> Client {
    let kubeconfig: Kubeconfig = serde_json::from_value(token_kubeconfig_json(dir, token, None))
        .expect("an in-memory token kubeconfig");
    client_from(kubeconfig).await
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

/// A DNS-1123 label, unique within this process and (with overwhelming probability) across
/// test runs on the same cluster: `<prefix>-<5 random chars><counter>`.
pub fn unique_name(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::OnceLock;
    static RUN: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let run = RUN.get_or_init(|| {
        // RandomState is seeded randomly per process; mix in time and pid for good measure.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_u32(std::process::id());
        let mut s = base36(h.finish());
        s.truncate(5);
        s
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("{run}{}", base36(n));
    let mut p: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    p.truncate(63 - 1 - suffix.len());
    let p = p.trim_matches('-');
    let p = if p.is_empty() { "t" } else { p };
    format!("{p}-{suffix}")
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

fn from_json<T: DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("a valid object")
}

pub async fn create_namespace(client: &Client, name: &str) -> Namespace {
    let ns: Namespace = from_json(json!({ "metadata": { "name": name } }));
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("creating namespace {name}: {e}"))
}

/// Deletes a namespace, ignoring errors (for cleanup; on the no-KCM cluster it stays
/// Terminating forever, which is harmless).
pub async fn delete_namespace(client: &Client, name: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

pub async fn create_service_account(
    client: &Client,
    namespace: &str,
    name: &str,
) -> ServiceAccount {
    let sa: ServiceAccount = from_json(json!({ "metadata": { "name": name } }));
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &sa)
        .await
        .unwrap_or_else(|e| panic!("creating serviceaccount {namespace}/{name}: {e}"))
}

/// Creates a namespace named `unique_name(prefix)` and a ServiceAccount `sa_name` in it.
/// Returns the namespace name.
pub async fn namespace_with_sa(client: &Client, prefix: &str, sa_name: &str) -> String {
    let ns = unique_name(prefix);
    create_namespace(client, &ns).await;
    create_service_account(client, &ns, sa_name).await;
    ns
}

/// Creates a legacy token Secret (`kubernetes.io/service-account-token`) for `sa_name`; the
/// token controller fills it with `token`, `ca.crt` and `namespace`.
pub async fn create_token_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    sa_name: &str,
) -> Secret {
    let secret: Secret = from_json(json!({
        "metadata": {
            "name": name,
            "annotations": { "kubernetes.io/service-account.name": sa_name },
        },
        "type": "kubernetes.io/service-account-token",
    }));
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap_or_else(|e| panic!("creating secret {namespace}/{name}: {e}"))
}

/// True once the token controller has filled the Secret.
pub fn secret_has_token(secret: Option<&Secret>) -> bool {
    secret
        .and_then(|s| s.data.as_ref())
        .is_some_and(|d| d.get("token").is_some_and(|t| !t.0.is_empty()))
}

/// Mints a token for a ServiceAccount with the TokenRequest API (no Secret involved).
pub async fn mint_token(
    client: &Client,
    namespace: &str,
    sa_name: &str,
    expiration_seconds: Option<i64>,
) -> String {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds,
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create_token_request(sa_name, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {namespace}/{sa_name}: {e}"))
        .status
        .expect("TokenRequest answered without status")
        .token
}

/// Binds a ClusterRole (e.g. `view`) to a ServiceAccount within its namespace.
pub async fn bind_cluster_role(
    client: &Client,
    namespace: &str,
    binding: &str,
    cluster_role: &str,
    sa_name: &str,
) -> RoleBinding {
    let rb: RoleBinding = from_json(json!({
        "metadata": { "name": binding },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role },
        "subjects": [{ "kind": "ServiceAccount", "name": sa_name, "namespace": namespace }],
    }));
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &rb)
        .await
        .unwrap_or_else(|e| panic!("creating rolebinding {namespace}/{binding}: {e}"))
}

/// Waits (with a watch, bounded by `timeout`) until the named object satisfies `cond`;
/// panics naming `what` when it does not in time. Returns the object (None if the condition
/// holds for an absent object, e.g. "deleted").
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    timeout: Duration,
    cond: impl Condition<K>,
) -> Option<K>
where
    K: Clone + std::fmt::Debug + Send + DeserializeOwned + Resource + 'static,
{
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, cond)).await {
        Ok(Ok(obj)) => obj,
        Ok(Err(e)) => panic!("watching {name} for {what}: {e}"),
        Err(_) => panic!("timed out after {timeout:?} waiting for {name}: {what}"),
    }
}

/// Checks `cond` against the named object for `duration` and returns true when it never
/// held (for "nothing happens" assertions, e.g. a token Secret that stays empty).
pub async fn never_within<K>(
    api: &Api<K>,
    name: &str,
    duration: Duration,
    cond: impl Condition<K>,
) -> bool
where
    K: Clone + std::fmt::Debug + Send + DeserializeOwned + Resource + 'static,
{
    match tokio::time::timeout(duration, await_condition(api.clone(), name, cond)).await {
        Err(_elapsed) => true,
        Ok(Ok(_)) => false,
        Ok(Err(e)) => panic!("watching {name}: {e}"),
    }
}

/// The HTTP status of a failed API call, if the server answered with one.
pub fn api_status(err: &kube::Error) -> Option<&kube::core::Status> {
    match err {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

pub fn is_forbidden(err: &kube::Error) -> bool {
    api_status(err).is_some_and(|s| s.code == 403)
}

/// Retries `attempt` every 200 ms until it returns Some, for at most `timeout` (for effects
/// that cannot be watched, e.g. RBAC changes reaching the authorizer's cache). Panics naming
/// `what` and the last failure when it runs out.
pub async fn eventually<T, E: std::fmt::Debug, F, Fut>(
    what: &str,
    timeout: Duration,
    mut attempt: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: still failing after {timeout:?}; last error: {e:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
