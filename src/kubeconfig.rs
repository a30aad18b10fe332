//! The caller's kubeconfig and kscope's files: loading it (`--kubeconfig`, `KUBECONFIG` with
//! several paths, the default file; `--context`), reading the endpoint to hand out, and writing
//! a scoped kubeconfig (built in `domain::kubeconfig`) atomically with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::error::{Error, Input, Result, Unwritable};
use kscope_core::kubeconfig::{Endpoint, proxy_has_userinfo};

/// The caller's kubeconfig, merged, plus the chosen context's name.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) kubeconfig: Kubeconfig,
    pub(crate) context: String,
}

/// Loads the caller's kubeconfig: `--kubeconfig`, else `KUBECONFIG` (a `:`-list), else
/// `~/.kube/config`. Then picks `--context` or the current context.
pub(crate) fn load(path: Option<&Path>, context: Option<&str>) -> Result<Caller> {
    if let Some(p) = path {
        kscope_core::files::check(p).map_err(|e| Input::KubeconfigUnreadable {
            path: p.to_path_buf(),
            detail: e.to_string(),
        })?;
    }
    let loaded = match path {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| kubeconfig_error(e, Some(p))),
        None => match Kubeconfig::from_env() {
            Ok(Some(k)) => Ok(k),
            Ok(None) => default_path()
                .ok_or(Input::NoHome)
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
            .ok_or(Input::NoCurrentContext)?,
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

fn kubeconfig_error(error: KubeconfigError, path: Option<&Path>) -> Input {
    let shown = path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "$KUBECONFIG".to_string());
    match error {
        KubeconfigError::ReadConfig(e, p) => Input::KubeconfigUnreadable {
            path: p,
            detail: e.to_string(),
        },
        KubeconfigError::Parse(e) => Input::KubeconfigNotYaml {
            shown,
            detail: e.to_string().lines().next().unwrap_or_default().to_string(),
        },
        other => Input::KubeconfigUnusable {
            shown,
            detail: other.to_string(),
        },
    }
}

impl Caller {
    /// The first context (in file order) whose cluster's server is `server`.
    pub(crate) fn context_for_server(&self, server: &str) -> Option<String> {
        let wanted = server.trim_end_matches('/');
        self.kubeconfig.contexts.iter().find_map(|named| {
            let cluster = named.context.as_ref()?.cluster.as_str();
            let entry = self
                .kubeconfig
                .clusters
                .iter()
                .find(|c| c.name == cluster)?;
            let at = entry.cluster.as_ref()?.server.as_deref()?;
            (at.trim_end_matches('/') == wanted).then(|| named.name.clone())
        })
    }

    /// The same kubeconfig with another of its contexts chosen.
    pub(crate) fn with_context(&self, context: &str) -> Result<Caller> {
        if !self.kubeconfig.contexts.iter().any(|c| c.name == context) {
            return Err(Error::from(Input::UnknownContext {
                context: context.to_string(),
                known: self
                    .kubeconfig
                    .contexts
                    .iter()
                    .map(|c| c.name.clone())
                    .collect(),
            }));
        }
        Ok(Caller {
            kubeconfig: self.kubeconfig.clone(),
            context: context.to_string(),
        })
    }

    /// A kube-rs client configuration for the chosen context.
    pub(crate) async fn client_config(&self) -> Result<kube::Config> {
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..Default::default()
        };
        kube::Config::from_custom_kubeconfig(self.kubeconfig.clone(), &options)
            .await
            .map_err(|e| {
                Input::ContextUnusable {
                    context: self.context.clone(),
                    detail: e.to_string(),
                }
                .into()
            })
    }

    /// The cluster the chosen context points at, with its CA embedded. `server`/`ca_file`
    /// override what the kubeconfig says.
    pub(crate) fn endpoint(
        &self,
        server: Option<&str>,
        ca_file: Option<&Path>,
    ) -> Result<Endpoint> {
        let context = self
            .kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == self.context)
            .and_then(|c| c.context.as_ref())
            .ok_or_else(|| Input::ContextEmpty {
                context: self.context.clone(),
            })?;
        let cluster_name = context.cluster.clone();
        let cluster = self
            .kubeconfig
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| Input::ClusterMissing {
                context: self.context.clone(),
                cluster: cluster_name.clone(),
            })?;
        let server = match server {
            Some(s) => s.to_string(),
            None => cluster.server.clone().ok_or_else(|| Input::NoServer {
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
                        .map_err(|e| Input::CaDataNotBase64 {
                            cluster: cluster_name.clone(),
                            detail: e.to_string(),
                        })?,
                )
            }
            (None, None, Some(path)) => Some(read_ca(Path::new(path), "certificate-authority")?),
            (None, None, None) => None,
        };
        // With a CA to verify against, skipping verification only weakens the tenant's
        // kubeconfig: it is dropped, and kept (with a warning) only when no CA is known.
        let insecure_skip_tls_verify =
            cluster.insecure_skip_tls_verify.unwrap_or(false) && ca_pem.is_none();
        Ok(Endpoint {
            cluster: cluster_name,
            server,
            ca_pem,
            insecure_skip_tls_verify,
            tls_server_name: cluster.tls_server_name.clone(),
            proxy_url: cluster
                .proxy_url
                .clone()
                .filter(|url| !proxy_has_userinfo(url)),
            proxy_withheld: cluster.proxy_url.as_deref().is_some_and(proxy_has_userinfo),
        })
    }
}

fn read_ca(path: &Path, flag: &'static str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Input::CaUnreadable {
        path: path.to_path_buf(),
        flag,
        detail: e.to_string(),
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----") {
        return Err(Error::from(Input::CaNotPem {
            path: path.to_path_buf(),
            flag,
        }));
    }
    Ok(bytes)
}

/// A kubeconfig file given as a credential (`check --kubeconfig-file`), and the namespace of
/// its current context. Such a file may come from someone else (a tenant asking "please check
/// my kubeconfig"): unless `trust`, it may hold only an inline token and an inline or named
/// CA; anything that would run code or read files on this machine, or send the credential
/// elsewhere, is refused before any of it is used.
pub(crate) fn read_credential_file(
    path: &Path,
    trust: bool,
) -> Result<(Kubeconfig, Option<String>)> {
    kscope_core::files::check(path).map_err(|e| Input::CredentialFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let file = Kubeconfig::read_from(path).map_err(|e| Input::CredentialFile {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let context = file
        .current_context
        .as_ref()
        .and_then(|name| file.contexts.iter().find(|c| &c.name == name))
        .and_then(|c| c.context.as_ref());
    let namespace = context.and_then(|c| c.namespace.clone());
    if !trust {
        let found = untrusted_parts(&file, context);
        if !found.is_empty() {
            return Err(Input::UntrustedCredentialFile {
                path: path.to_path_buf(),
                found,
            }
            .into());
        }
    }
    Ok((file, namespace))
}

/// What a handed-in kubeconfig holds beyond an inline token and a CA, for the context it
/// would be used through.
fn untrusted_parts(
    file: &Kubeconfig,
    context: Option<&kube::config::Context>,
) -> Vec<&'static str> {
    let mut found = Vec::new();
    let user = context.and_then(|c| c.user.as_ref()).and_then(|name| {
        file.auth_infos
            .iter()
            .find(|u| &u.name == name)
            .and_then(|u| u.auth_info.as_ref())
    });
    if let Some(user) = user {
        for (present, what) in [
            (user.exec.is_some(), "an exec plugin (users[].user.exec)"),
            (user.auth_provider.is_some(), "an auth provider"),
            (user.token_file.is_some(), "a token file (tokenFile)"),
            (
                user.client_certificate.is_some(),
                "a client certificate file",
            ),
            (user.client_key.is_some(), "a client key file"),
            (
                user.client_certificate_data.is_some() || user.client_key_data.is_some(),
                "a client certificate",
            ),
            (
                user.username.is_some() || user.password.is_some(),
                "a username and password",
            ),
            (
                user.impersonate.is_some() || user.impersonate_groups.is_some(),
                "impersonation",
            ),
        ] {
            if present {
                found.push(what);
            }
        }
    }
    let cluster = context.and_then(|c| {
        file.clusters
            .iter()
            .find(|k| k.name == c.cluster)
            .and_then(|k| k.cluster.as_ref())
    });
    if cluster.is_some_and(|c| c.proxy_url.is_some()) {
        found.push("a proxy (proxy-url)");
    }
    found
}

/// Refuses what `write_private` would refuse, without writing: an empty name, a missing
/// directory, a symlink, a directory, or an existing file without `force`. Lets commands fail
/// before they send a request. `flag` names the option that chose the path, for the hint.
pub(crate) fn check_destination(path: &Path, force: bool, flag: &'static str) -> Result<()> {
    let refuse = |why| {
        Err(Input::Output {
            path: path.to_path_buf(),
            why,
            flag,
        }
        .into())
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
                Err(Error::from(Input::Output {
                    path: dir,
                    why: Unwritable::MissingDirectory,
                    flag,
                }))
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
/// `flag` names the option that chose the path, for the hint of a refusal.
/// Creates `dir` (and its missing parents) with mode 0700 when it does not exist: kubeconfigs
/// go into a directory only its owner may list. An existing directory is used as it is;
/// anything else at that path is refused with a hint that names `flag`.
pub(crate) fn private_dir(dir: &Path, flag: &'static str) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::symlink_metadata(dir) {
        Ok(_) if dir.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(Input::Output {
                path: dir.to_path_buf(),
                why: Unwritable::NotADirectory,
                flag,
            }
            .into());
        }
        Err(_) => {}
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::File {
            action: "create the kubeconfig directory",
            path: dir.to_path_buf(),
            source,
        })
}

/// Writes a credential file: private (0600), whole or not at all (a temporary file of its own,
/// synced to disk, then moved into place), never over another file unless `force`.
pub(crate) fn write_private(
    path: &Path,
    contents: &str,
    force: bool,
    flag: &'static str,
) -> Result<()> {
    write_file(path, contents, force, flag, true)
}

/// Writes kscope's own record of the grants made from this machine as [`write_private`] does,
/// whole or not at all for any other process, but not synced to disk: a record lost to a
/// crash costs nothing, and the sync cost every grant 2 ms (bench/walkthrough).
pub(crate) fn write_record(path: &Path, contents: &str) -> Result<()> {
    write_file(path, contents, true, "XDG_STATE_HOME", false)
}

fn write_file(
    path: &Path,
    contents: &str,
    force: bool,
    flag: &'static str,
    synced: bool,
) -> Result<()> {
    check_destination(path, force, flag)?;
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
    if synced {
        temp.as_file().sync_all().map_err(io)?;
    }
    let persisted = if force {
        temp.persist(path).map(|_| ())
    } else {
        temp.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Input::Output {
                path: path.to_path_buf(),
                why: Unwritable::Exists,
                flag,
            }
            .into()
        } else {
            io(e.error)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    use kscope_core::kubeconfig::{Token, scoped_kubeconfig};
    use kscope_core::names::{NamespaceName, ServiceAccountName};

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
    fn private_files_are_0600_and_never_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.kubeconfig");
        write_private(&path, "one", false, "--output").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = write_private(&path, "two", false, "--output").unwrap_err();
        assert!(e.to_string().ends_with("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write_private(&path, "three", true, "--output").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = write_private(&link, "four", true, "--output").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_proxy_with_credentials_and_a_needless_insecure_flag_are_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:443\n    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n    insecure-skip-tls-verify: true\n    proxy-url: http://admin:s3cret@proxy.corp.example:3128\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
        )
        .unwrap();
        let endpoint = load(Some(&path), None)
            .unwrap()
            .endpoint(None, None)
            .unwrap();
        assert_eq!(endpoint.proxy_url, None);
        assert!(endpoint.proxy_withheld);
        assert!(!endpoint.insecure_skip_tls_verify, "a CA is known");
        let text = scoped_kubeconfig(
            &endpoint,
            &NamespaceName::parse("a").unwrap(),
            &ServiceAccountName::parse("b").unwrap(),
            &Token::new("t"),
        )
        .unwrap();
        assert!(
            !text.contains("s3cret") && !text.contains("proxy"),
            "{text}"
        );
        assert!(proxy_has_userinfo("socks5://u@h:1080"));
        assert!(!proxy_has_userinfo("http://proxy:3128/path@x"));
    }
}
