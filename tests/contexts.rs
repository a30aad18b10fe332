//! Admin contexts as cloud and corporate clusters have them, against the real control plane:
//! an exec plugin, a CA given as a file path, `tls-server-name`, `proxy-url` and
//! `insecure-skip-tls-verify`. kscope must work through each, carry what the tenant needs
//! into the kubeconfig it emits (embedding the CA) and never hand out the admin's own
//! credentials; the real kubectl then uses what kscope emitted.

mod common;
mod runner;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use runner::{Kscope, Run, kubectl_as};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The admin kubeconfig of the test cluster as JSON (kube and kubectl read JSON as YAML).
fn admin_json(dir: &Path) -> Value {
    let path = common::admin_kubeconfig_path(dir);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// What an emitted kubeconfig must never hold: the admin's way of authenticating.
fn assert_no_admin_credentials(emitted: &str) {
    for admin_only in [
        "exec",
        "client-certificate",
        "client-key",
        "auth-provider",
        "plugin",
    ] {
        assert!(
            !emitted.contains(admin_only),
            "{admin_only} in the emitted kubeconfig:\n{emitted}"
        );
    }
}

/// The kubeconfig kscope emitted for a grant: where it was written, what it holds, and the
/// run of `kscope kubeconfig` that wrote it.
struct Emitted {
    path: PathBuf,
    text: String,
    run: Run,
}

/// Grants `app` in `ns` through the admin kubeconfig `admin`, then writes its kubeconfig into
/// `work`; it must hold none of the admin's credentials.
fn grant_and_emit(admin: &Path, ns: &str, work: &Path) -> Emitted {
    let mut kscope = Kscope::new().kubeconfig(admin);
    kscope.run(["grant", ns, "app"]).expect_code(0);
    let path = work.join("app.kubeconfig");
    let run = kscope
        .run(["kubeconfig", ns, "app", "--output", path.to_str().unwrap()])
        .expect_code(0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_no_admin_credentials(&text);
    Emitted { path, text, run }
}

/// Proves an emitted kubeconfig with the real kubectl: it lists the tenant's pods.
fn kubectl_lists_pods(dir: &Path, kubeconfig: &Path, ns: &str) {
    kubectl_as(common::kubectl(dir), kubeconfig, &["get", "pods"])
        .expect_code(0)
        .stderr_contains(&format!("No resources found in {ns} namespace."));
}

#[tokio::test]
async fn an_exec_plugin_admin_with_a_ca_file_grants_and_never_hands_out_its_credentials() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let mut config = admin_json(&dir);
    // The CA as a path relative to the kubeconfig, as many installers write it.
    std::fs::write(work.path().join("ca.crt"), common::ca_pem(&dir)).unwrap();
    let cluster = &mut config["clusters"][0]["cluster"];
    cluster
        .as_object_mut()
        .unwrap()
        .remove("certificate-authority-data");
    cluster["certificate-authority"] = json!("ca.crt");
    // The admin's client certificate comes from an exec plugin (a script printing an
    // ExecCredential), not from the file.
    let user = config["users"][0]["user"].as_object_mut().unwrap();
    let mut pem = |key: &str| {
        let data = user.remove(key).unwrap();
        String::from_utf8(STANDARD.decode(data.as_str().unwrap()).unwrap()).unwrap()
    };
    let credential = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": pem("client-certificate-data"),
            "clientKeyData": pem("client-key-data"),
        },
    });
    let (credential_file, plugin) = (work.path().join("cred.json"), work.path().join("plugin"));
    write_json(&credential_file, &credential);
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\nexec cat '{}'\n", credential_file.display()),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    user.insert(
        "exec".into(),
        json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin,
            "interactiveMode": "Never",
        }),
    );
    let admin = work.path().join("admin.json");
    write_json(&admin, &config);

    let ns = common::unique_name("cloud");
    let emitted = grant_and_emit(&admin, &ns, work.path());
    assert!(!emitted.text.contains("ca.crt"), "{}", emitted.text);
    let parsed = kube::config::Kubeconfig::from_yaml(&emitted.text).unwrap();
    let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(
        cluster.certificate_authority_data.as_deref(),
        Some(common::ca_data_base64(&dir).as_str()),
        "the CA must be embedded"
    );
    assert_eq!(cluster.certificate_authority, None);
    kubectl_lists_pods(&dir, &emitted.path, &ns);
    Kscope::new()
        .kubeconfig(&admin)
        .run(["check", &ns, "app"])
        .expect_code(0);
}

/// Forwards every connection to `upstream` (a load balancer in front of the API server).
async fn forwarder(listen: &str, upstream: String) -> SocketAddr {
    let listener = TcpListener::bind(listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}

/// An HTTP proxy that serves CONNECT (as corporate proxies do), counting the tunnels opened.
async fn connect_proxy(tunnels: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let tunnels = tunnels.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let Some(target) = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    let _ = client.write_all(b"HTTP/1.1 405 CONNECT only\r\n\r\n").await;
                    return;
                };
                let Ok(mut server) = TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                tunnels.fetch_add(1, Ordering::SeqCst);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    addr
}

/// The admin kubeconfig pointed at `balancer` (an address the API server's certificate does
/// not name), through `proxy` if given: without and with `tls-server-name: localhost`.
fn unnamed_and_named(
    dir: &Path,
    work: &Path,
    balancer: SocketAddr,
    proxy: Option<SocketAddr>,
) -> (PathBuf, PathBuf) {
    let mut config = admin_json(dir);
    let cluster = &mut config["clusters"][0]["cluster"];
    cluster["server"] = json!(format!("https://{balancer}"));
    if let Some(proxy) = proxy {
        cluster["proxy-url"] = json!(format!("http://{proxy}"));
    }
    let unnamed = work.join("unnamed.json");
    write_json(&unnamed, &config);
    config["clusters"][0]["cluster"]["tls-server-name"] = json!("localhost");
    let admin = work.join("admin.json");
    write_json(&admin, &config);
    (unnamed, admin)
}

/// Control: without tls-server-name the certificate does not match the address.
fn refused_without_tls_server_name(unnamed: &Path, ns: &str) {
    Kscope::new()
        .kubeconfig(unnamed)
        .run(["grant", ns, "app"])
        .expect_code(1)
        .stderr_contains("TLS handshake")
        .stderr_contains("tls-server-name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_name_and_proxy_url_are_used_and_carried() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let server = common::server_url(&dir);
    let upstream = server.trim_start_matches("https://").to_string();
    // The API server reached at an address its certificate does not name (127.0.0.2 is
    // loopback too), so only tls-server-name makes TLS verification pass; and only through
    // a proxy.
    let balancer = forwarder("127.0.0.2:0", upstream).await;
    let tunnels = Arc::new(AtomicUsize::new(0));
    let proxy = connect_proxy(tunnels.clone()).await;
    let (unnamed, admin) = unnamed_and_named(&dir, work.path(), balancer, Some(proxy));
    let ns = common::unique_name("tsn");
    refused_without_tls_server_name(&unnamed, &ns);
    assert!(
        tunnels.load(Ordering::SeqCst) > 0,
        "kscope went around the proxy"
    );

    let emitted = grant_and_emit(&admin, &ns, work.path());
    let (out, emitted) = (emitted.path, emitted.text);
    assert!(emitted.contains("tls-server-name: localhost"), "{emitted}");
    assert!(
        emitted.contains(&format!("proxy-url: http://{proxy}")),
        "{emitted}"
    );
    assert!(
        emitted.contains(&format!("server: https://{balancer}")),
        "{emitted}"
    );
    let before = tunnels.load(Ordering::SeqCst);
    kubectl_lists_pods(&dir, &out, &ns);
    assert!(
        tunnels.load(Ordering::SeqCst) > before,
        "kubectl went around the proxy"
    );
}

#[tokio::test]
async fn skipping_tls_verification_is_carried_only_with_a_warning() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let mut config = admin_json(&dir);
    let cluster = &mut config["clusters"][0]["cluster"];
    cluster
        .as_object_mut()
        .unwrap()
        .remove("certificate-authority-data");
    cluster["insecure-skip-tls-verify"] = json!(true);
    let admin = work.path().join("admin.json");
    write_json(&admin, &config);

    let ns = common::unique_name("insecure");
    let emitted = grant_and_emit(&admin, &ns, work.path());
    emitted.run.stderr_contains("skips TLS verification");
    assert!(
        emitted.text.contains("insecure-skip-tls-verify: true"),
        "{}",
        emitted.text
    );
    kubectl_lists_pods(&dir, &emitted.path, &ns);
}

/// A proxy-url that carries the admin's credentials (`user:pass@`) is the admin's to use, not
/// the tenant's: kscope goes through it, but leaves it out of the tenant's kubeconfig and
/// says so. The tenant's kubeconfig still works (here the server is reachable directly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_with_credentials_is_used_but_never_handed_out() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let proxy = connect_proxy(tunnels.clone()).await;
    let mut config = admin_json(&dir);
    config["clusters"][0]["cluster"]["proxy-url"] = json!(format!("http://admin:s3cret@{proxy}"));
    let admin = work.path().join("admin.json");
    write_json(&admin, &config);
    let ns = common::unique_name("proxycreds");
    let emitted = grant_and_emit(&admin, &ns, work.path());
    assert!(
        tunnels.load(Ordering::SeqCst) > 0,
        "kscope went around the proxy"
    );
    assert!(
        !emitted.text.contains("s3cret") && !emitted.text.contains("proxy-url"),
        "{}",
        emitted.text
    );
    emitted.run.stderr_contains("carries credentials");
    kubectl_lists_pods(&dir, &emitted.path, &ns);
}

/// With a CA to verify against, the admin's insecure-skip-tls-verify would only weaken the
/// tenant's kubeconfig: it is dropped, and kubectl verifies the server with the CA.
#[tokio::test]
async fn skipping_tls_verification_is_dropped_when_a_ca_is_known() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let mut config = admin_json(&dir);
    config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = json!(true);
    let admin = work.path().join("admin.json");
    write_json(&admin, &config);
    let ns = common::unique_name("insecure-ca");
    let emitted = grant_and_emit(&admin, &ns, work.path());
    assert!(
        !emitted.text.contains("insecure-skip-tls-verify")
            && emitted.text.contains("certificate-authority-data"),
        "{}",
        emitted.text
    );
    emitted.run.stderr_lacks("skips TLS verification");
    kubectl_lists_pods(&dir, &emitted.path, &ns);
}

/// An admin kubeconfig for `server` whose user is a bearer token of a cluster administrator
/// (a ServiceAccount of kube-system bound to cluster-admin, made for the test).
fn token_admin(dir: &Path, server: &str, into: &Path) {
    let admin = |args: &[&str]| Run::of(common::kubectl(dir).args(args)).expect_code(0);
    let name = common::unique_name("h1-admin");
    admin(&["-n", "kube-system", "create", "serviceaccount", &name]);
    admin(&[
        "create",
        "clusterrolebinding",
        &name,
        "--clusterrole=cluster-admin",
        &format!("--serviceaccount=kube-system:{name}"),
    ]);
    let token = admin(&[
        "-n",
        "kube-system",
        "create",
        "token",
        &name,
        "--duration=1h",
    ]);
    let mut config = admin_json(dir);
    config["clusters"][0]["cluster"]["server"] = json!(server);
    config["users"][0]["user"] = json!({"token": token.stdout.trim()});
    write_json(into, &config);
}

#[tokio::test]
async fn a_server_that_speaks_only_http1_is_served_over_http1() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let upstream = common::server_url(&dir)
        .trim_start_matches("https://")
        .to_string();
    // A TLS proxy that offers no HTTP/2 (tests/cluster/h1-proxy); kscope asks for HTTP/2
    // first, so only its fallback gets through.
    let mut proxy = Stopped(
        std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/cluster/h1-proxy"
            ))
            .arg(dir.join("pki"))
            .arg(&upstream)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs tests/cluster/h1-proxy"),
    );
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(proxy.0.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let server = format!("https://127.0.0.1:{}", port.trim());
    let admin = work.path().join("admin.json");
    token_admin(&dir, &server, &admin);

    let ns = common::unique_name("h1");
    let emitted = grant_and_emit(&admin, &ns, work.path());
    assert!(emitted.text.contains(&server), "{}", emitted.text);
    // The tenant's own kubeconfig, through the same proxy, with the real kubectl and kscope.
    kubectl_lists_pods(&dir, &emitted.path, &ns);
    Kscope::new()
        .kubeconfig(&admin)
        .run(["check", &ns, "app"])
        .expect_code(0);
    // client-go's switch, DISABLE_HTTP2, makes kscope use HTTP/1.1 from its first request.
    Kscope::new()
        .kubeconfig(&admin)
        .env("DISABLE_HTTP2", "1")
        .run(["list", "-n", &ns])
        .expect_code(0)
        .stdout_contains("app");
}

/// A child process killed (and waited for) when the test ends, pass or fail.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_server_name_is_used_without_a_proxy() {
    let dir = common::cluster_dir();
    let work = tempfile::tempdir().unwrap();
    let server = common::server_url(&dir);
    let upstream = server.trim_start_matches("https://").to_string();
    // 127.0.0.2 is not named by the API server's certificate: only tls-server-name makes TLS
    // verification pass (kscope's own TLS connector, over HTTP/2).
    let balancer = forwarder("127.0.0.2:0", upstream).await;
    let (unnamed, admin) = unnamed_and_named(&dir, work.path(), balancer, None);
    let ns = common::unique_name("tsn");
    refused_without_tls_server_name(&unnamed, &ns);
    let emitted = grant_and_emit(&admin, &ns, work.path());
    assert!(
        emitted.text.contains("tls-server-name: localhost"),
        "{}",
        emitted.text
    );
    kubectl_lists_pods(&dir, &emitted.path, &ns);
}
