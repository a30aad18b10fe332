//! Kubeconfigs: loading the caller's (`--kubeconfig`, `KUBECONFIG` with several paths, the
//! default file; `--context`), building the scoped kubeconfig kscope hands out (pure), and
//! writing it to a file atomically with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use serde::Serialize;

use crate::error::Unwritable;
use crate::error::{Error, Result};
use crate::names::{NamespaceName, ServiceAccountName};

/// A bearer token. Deliberately has no `Display`, and `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(value.into())
    }
    /// The secret value, for the one place that must write it (the kubeconfig's user).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Token {
    /// The `exp` claim (seconds since the epoch) of a JWT, read without verifying it: the
    /// server may shorten a requested lifetime, and this is what it actually granted.
    pub fn expires_at(&self) -> Option<i64> {
        self.claim("exp")
    }

    /// The `iat` claim: when the server issued the token.
    pub fn issued_at(&self) -> Option<i64> {
        self.claim("iat")
    }

    fn claim(&self, name: &str) -> Option<i64> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = self.0.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        claims.get(name)?.as_i64()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The caller's kubeconfig, merged, plus the chosen context's name.
#[derive(Debug, Clone)]
pub struct Caller {
    pub kubeconfig: Kubeconfig,
    pub context: String,
}

/// Where the API server is and how to trust it, as it will go into the scoped kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The caller's cluster entry name; kscope's names are derived from it.
    pub cluster: String,
    pub server: String,
    /// PEM bytes of the CA, embedded (never a file path).
    pub ca_pem: Option<Vec<u8>>,
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
    /// The proxy the cluster is reached through (`proxy-url`: http, https or socks5).
    pub proxy_url: Option<String>,
}

/// Loads the caller's kubeconfig: `--kubeconfig`, else `KUBECONFIG` (a `:`-list), else
/// `~/.kube/config`. Then picks `--context` or the current context.
pub fn load(path: Option<&Path>, context: Option<&str>) -> Result<Caller> {
    let loaded = match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| kubeconfig_error(e, Some(p))),
        None => match Kubeconfig::from_env() {
            Ok(Some(k)) => Ok(k),
            Ok(None) => default_path()
                .ok_or(Error::NoHome)
                .and_then(|p| Kubeconfig::read_from(&p).map_err(|e| kubeconfig_error(e, Some(&p)))),
            Err(e) => Err(kubeconfig_error(e, None)),
        },
    }?;
    let context = match context {
        Some(c) => c.to_string(),
        None => loaded
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(Error::NoCurrentContext)?,
    };
    Caller {
        kubeconfig: loaded,
        context: String::new(),
    }
    .with_context(&context)
}

fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

fn kubeconfig_error(error: KubeconfigError, path: Option<&Path>) -> Error {
    let shown = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "$KUBECONFIG".to_string());
    match error {
        KubeconfigError::ReadConfig(e, p) => Error::KubeconfigUnreadable {
            path: p,
            detail: e.to_string(),
        },
        KubeconfigError::Parse(e) => Error::KubeconfigNotYaml {
            shown,
            detail: e.to_string().lines().next().unwrap_or_default().to_string(),
        },
        other => Error::KubeconfigUnusable {
            shown,
            detail: other.to_string(),
        },
    }
}

impl Caller {
    /// The same kubeconfig with another of its contexts chosen.
    pub fn with_context(&self, context: &str) -> Result<Caller> {
        if !self.kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(Error::UnknownContext {
                context: context.to_string(),
                known: self
                    .kubeconfig
                    .contexts
                    .iter()
                    .map(|c| c.name.clone())
                    .collect(),
            });
        }
        Ok(Caller {
            kubeconfig: self.kubeconfig.clone(),
            context: context.to_string(),
        })
    }

    /// A kube-rs client configuration for the chosen context.
    pub async fn client_config(&self) -> Result<kube::Config> {
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(self.kubeconfig.clone(), &options)
            .await
            .map_err(|e| Error::ContextUnusable {
                context: self.context.clone(),
                detail: e.to_string(),
            })
    }

    /// The cluster the chosen context points at, with its CA embedded. `server`/`ca_file`
    /// override what the kubeconfig says.
    pub fn endpoint(&self, server: Option<&str>, ca_file: Option<&Path>) -> Result<Endpoint> {
        let context = self
            .kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == self.context)
            .and_then(|c| c.context.as_ref())
            .ok_or_else(|| Error::ContextEmpty {
                context: self.context.clone(),
            })?;
        let cluster_name = context.cluster.clone();
        let cluster = self
            .kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| Error::ClusterMissing {
                context: self.context.clone(),
                cluster: cluster_name.clone(),
            })?;
        let server = match server {
            Some(s) => s.to_string(),
            None => cluster.server.clone().ok_or_else(|| Error::NoServer {
                cluster: cluster_name.clone(),
            })?,
        };
        let ca_pem = match (
            ca_file,
            &cluster.certificate_authority_data,
            &cluster.certificate_authority,
        ) {
            (Some(file), _, _) => Some(read_ca(file, "--ca-file")?),
            (None, Some(data), _) => {
                Some(
                    STANDARD
                        .decode(data.trim())
                        .map_err(|e| Error::CaDataNotBase64 {
                            cluster: cluster_name.clone(),
                            detail: e.to_string(),
                        })?,
                )
            }
            (None, None, Some(path)) => Some(read_ca(Path::new(path), "certificate-authority")?),
            (None, None, None) => None,
        };
        Ok(Endpoint {
            cluster: cluster_name,
            server,
            ca_pem,
            insecure_skip_tls_verify: cluster.insecure_skip_tls_verify.unwrap_or(false),
            tls_server_name: cluster.tls_server_name.clone(),
            proxy_url: cluster.proxy_url.clone(),
        })
    }
}

fn read_ca(path: &Path, flag: &'static str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::CaUnreadable {
        path: path.to_path_buf(),
        flag,
        detail: e.to_string(),
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(Error::CaNotPem {
            path: path.to_path_buf(),
            flag,
        });
    }
    Ok(bytes)
}

/// A kubeconfig file given as a credential (`check --kubeconfig-file`), and the namespace of
/// its current context.
pub fn read_credential_file(path: &Path) -> Result<(Kubeconfig, Option<String>)> {
    let file = Kubeconfig::read_from(path).map_err(|e| Error::CredentialFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let namespace = file
        .current_context
        .as_ref()
        .and_then(|name| file.contexts.iter().find(|c| &c.name == name))
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.namespace.clone());
    Ok((file, namespace))
}

#[derive(Debug, Serialize)]
struct File<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: [NamedCluster<'a>; 1],
    contexts: [NamedContext<'a>; 1],
    users: [NamedUser<'a>; 1],
    #[serde(rename = "current-context")]
    current_context: &'a str,
}

#[derive(Debug, Serialize)]
struct NamedCluster<'a> {
    name: &'a str,
    cluster: ClusterEntry<'a>,
}

#[derive(Debug, Serialize)]
struct ClusterEntry<'a> {
    server: &'a str,
    #[serde(
        rename = "certificate-authority-data",
        skip_serializing_if = "Option::is_none"
    )]
    certificate_authority_data: Option<String>,
    #[serde(
        rename = "insecure-skip-tls-verify",
        skip_serializing_if = "std::ops::Not::not"
    )]
    insecure_skip_tls_verify: bool,
    #[serde(rename = "tls-server-name", skip_serializing_if = "Option::is_none")]
    tls_server_name: Option<&'a str>,
    #[serde(rename = "proxy-url", skip_serializing_if = "Option::is_none")]
    proxy_url: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct NamedContext<'a> {
    name: &'a str,
    context: ContextEntry<'a>,
}

#[derive(Debug, Serialize)]
struct ContextEntry<'a> {
    cluster: &'a str,
    user: &'a str,
    namespace: &'a str,
}

#[derive(Debug, Serialize)]
struct NamedUser<'a> {
    name: &'a str,
    user: UserEntry<'a>,
}

#[derive(Debug, Serialize)]
struct UserEntry<'a> {
    token: &'a str,
}

/// The name shared by the cluster, user and context entries of one grant's kubeconfig:
/// distinct per (cluster, namespace, ServiceAccount), so kubeconfigs merge via `KUBECONFIG`.
/// Neither a namespace nor a ServiceAccount name can contain '/', so it is unambiguous.
pub fn entry_name(
    endpoint: &Endpoint,
    namespace: &NamespaceName,
    sa: &ServiceAccountName,
) -> String {
    format!("{namespace}/{sa}@{}", endpoint.cluster)
}

/// The scoped kubeconfig as YAML: one cluster, one user holding the token, one context
/// with the grant's namespace, set as current.
pub fn scoped_kubeconfig(
    endpoint: &Endpoint,
    namespace: &NamespaceName,
    sa: &ServiceAccountName,
    token: &Token,
) -> Result<String> {
    let name = entry_name(endpoint, namespace, sa);
    let file = File {
        api_version: "v1",
        kind: "Config",
        clusters: [NamedCluster {
            name: &name,
            cluster: ClusterEntry {
                server: &endpoint.server,
                certificate_authority_data: endpoint
                    .ca_pem
                    .as_ref()
                    .map(|pem| STANDARD.encode(pem)),
                insecure_skip_tls_verify: endpoint.insecure_skip_tls_verify,
                tls_server_name: endpoint.tls_server_name.as_deref(),
                proxy_url: endpoint.proxy_url.as_deref(),
            },
        }],
        contexts: [NamedContext {
            name: &name,
            context: ContextEntry {
                cluster: &name,
                user: &name,
                namespace: namespace.as_str(),
            },
        }],
        users: [NamedUser {
            name: &name,
            user: UserEntry {
                token: token.expose(),
            },
        }],
        current_context: &name,
    };
    serde_saphyr::to_string(&file)
        .map_err(|e| Error::bug(format!("could not render the kubeconfig: {e}")))
}

/// Refuses what `write_private` would refuse, without writing: an empty name, a missing
/// directory, a symlink, a directory, or an existing file without `force`. Lets commands fail
/// before they send a request.
pub fn check_destination(path: &Path, force: bool) -> Result<()> {
    let refuse = |why| {
        Err(Error::Output {
            path: path.to_path_buf(),
            why,
        })
    };
    if path.as_os_str().is_empty() {
        return refuse(Unwritable::EmptyName);
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => refuse(Unwritable::Symlink),
        Ok(meta) if meta.is_dir() => refuse(Unwritable::Directory),
        Ok(_) if !force => refuse(Unwritable::Exists),
        Ok(_) => Ok(()),
        Err(_) => {
            let dir = directory_of(path);
            if dir.is_dir() {
                Ok(())
            } else {
                Err(Error::Output {
                    path: dir,
                    why: Unwritable::MissingDirectory,
                })
            }
        }
    }
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `contents` to `path` atomically with mode 0600: a private temporary file in the same
/// directory, synced, then linked into place (no-clobber) or, with `force`, renamed over.
pub fn write_private(path: &Path, contents: &str, force: bool) -> Result<()> {
    check_destination(path, force)?;
    let dir = directory_of(path);
    let io = |source| Error::File {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    // tempfile creates the file with mode 0600 on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(".kscope-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io)?;
    temp.write_all(contents.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    let persisted = if force {
        temp.persist(path).map(|_| ())
    } else {
        temp.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Output {
                path: path.to_path_buf(),
                why: Unwritable::Exists,
            }
        } else {
            io(e.error)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn endpoint() -> Endpoint {
        Endpoint {
            cluster: "kind-dev".into(),
            server: "https://127.0.0.1:6443".into(),
            ca_pem: Some(
                b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            insecure_skip_tls_verify: false,
            tls_server_name: None,
            proxy_url: None,
        }
    }

    /// An admin context as cloud clusters have them: an exec plugin, a client certificate, a
    /// CA as a path relative to the file, tls-server-name and proxy-url.
    const CLOUD_ADMIN: &str = r#"apiVersion: v1
kind: Config
clusters:
- name: cloud
  cluster:
    server: https://10.0.0.1:443
    certificate-authority: ca/ca.crt
    tls-server-name: api.cloud.example
    proxy-url: http://proxy.corp.example:3128
users:
- name: admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: cloud-cli
      args: [token, --cluster, cloud]
      interactiveMode: Never
contexts:
- name: cloud-admin
  context: {cluster: cloud, user: admin}
current-context: cloud-admin
"#;

    #[test]
    fn a_cloud_admin_context_gives_its_endpoint_but_never_its_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ca")).unwrap();
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
        std::fs::write(dir.path().join("ca/ca.crt"), pem).unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, CLOUD_ADMIN).unwrap();
        let caller = load(Some(&path), None).unwrap();
        let endpoint = caller.endpoint(None, None).unwrap();
        assert_eq!(endpoint.ca_pem.as_deref(), Some(&pem[..]));
        assert!(!endpoint.insecure_skip_tls_verify);
        let ns = NamespaceName::parse("team-a").unwrap();
        let sa = ServiceAccountName::parse("ci").unwrap();
        let text = scoped_kubeconfig(&endpoint, &ns, &sa, &Token::new("t0ken")).unwrap();
        for admin_only in [
            "exec",
            "cloud-cli",
            "client-certificate",
            "client-key",
            "ca/ca.crt",
        ] {
            assert!(!text.contains(admin_only), "{admin_only} leaked: {text}");
        }
        crate::test_support::snapshot("kubeconfig_cloud", &text.replace("t0ken", "<redacted>"));
    }

    #[test]
    fn skipping_tls_verification_is_carried() {
        let insecure = Endpoint {
            ca_pem: None,
            insecure_skip_tls_verify: true,
            ..endpoint()
        };
        let ns = NamespaceName::parse("ask").unwrap();
        let sa = ServiceAccountName::parse("ask-sa").unwrap();
        let text = scoped_kubeconfig(&insecure, &ns, &sa, &Token::new("t")).unwrap();
        assert!(text.contains("insecure-skip-tls-verify: true"), "{text}");
    }

    #[test]
    fn scoped_kubeconfig_snapshot_with_the_token_redacted() {
        let ns = NamespaceName::parse("ask").unwrap();
        let sa = ServiceAccountName::parse("ask-sa").unwrap();
        let text = scoped_kubeconfig(
            &endpoint(),
            &ns,
            &sa,
            &Token::new("eyJhbGciOi.secret.value"),
        )
        .unwrap();
        assert!(
            text.contains("eyJhbGciOi.secret.value"),
            "the token must be in the file"
        );
        let parsed = Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(
            parsed.current_context.as_deref(),
            Some("ask/ask-sa@kind-dev")
        );
        let ctx = parsed.contexts[0].context.as_ref().unwrap();
        assert_eq!(ctx.namespace.as_deref(), Some("ask"));
        crate::test_support::snapshot(
            "kubeconfig_scoped",
            &text.replace("eyJhbGciOi.secret.value", "<redacted>"),
        );
    }

    #[test]
    fn expiry_is_read_from_the_jwt() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1900000000,"sub":"x"}"#);
        assert_eq!(
            Token::new(format!("h.{payload}.s")).expires_at(),
            Some(1_900_000_000)
        );
        assert_eq!(Token::new("not-a-jwt").expires_at(), None);
    }

    #[test]
    fn token_debug_never_shows_the_value() {
        assert_eq!(format!("{:?}", Token::new("abc")), "Token(<redacted>)");
    }

    #[test]
    fn private_files_are_0600_and_never_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.kubeconfig");
        write_private(&path, "one", false).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = write_private(&path, "two", false).unwrap_err();
        assert!(e.to_string().ends_with("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write_private(&path, "three", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = write_private(&link, "four", true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
