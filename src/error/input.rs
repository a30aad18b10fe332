//! Bad input that is not the core's to judge: the caller's kubeconfig and context, files and
//! directories named on the command line, the TenantSet file, and what needs a terminal. Each
//! variant's sentence is its `#[error]`, its hint is in `Input::hint` just below; every one
//! is exit 2, because nothing was sent to the API server.

use std::path::PathBuf;

use kscope_core::tenants::Problem;

/// What `--output` (or the wizard's file question) cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unwritable {
    Exists,
    Symlink,
    Directory,
    MissingDirectory,
    NotADirectory,
    EmptyName,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Input {
    /// A kubeconfig destination cannot be used; nothing was written. `flag` is the flag that
    /// named it (`--output`, `--kubeconfig-dir`).
    #[error("{}", unwritable(path, *why))]
    Output {
        path: PathBuf,
        why: Unwritable,
        flag: &'static str,
    },

    #[error("kubeconfig --format flux needs --secret-namespace")]
    FluxNamespace,

    #[error("{flag} only goes with a --format that makes a Secret ({})", if *flag == "--name" { "argocd" } else { "argocd or flux" })]
    FormatFlag { flag: &'static str },

    /// A token sent over plain HTTP is a token given away.
    #[error("invalid --server {value:?}: a tenant's token only goes to an https:// server")]
    ServerNotHttps { value: String },

    #[error("no kubeconfig found: HOME is not set")]
    NoHome,

    #[error("could not read the kubeconfig {}: {detail}", path.display())]
    KubeconfigUnreadable { path: PathBuf, detail: String },

    #[error("the kubeconfig {shown} is not valid YAML: {detail}")]
    KubeconfigNotYaml { shown: String, detail: String },

    #[error("the kubeconfig {shown} cannot be used: {detail}")]
    KubeconfigUnusable { shown: String, detail: String },

    #[error("the kubeconfig has no current context")]
    NoCurrentContext,

    #[error("the kubeconfig has no contexts")]
    NoContexts,

    #[error("context {context:?} is not in the kubeconfig")]
    UnknownContext { context: String, known: Vec<String> },

    #[error("context {context:?} cannot be used: {detail}")]
    ContextUnusable { context: String, detail: String },

    #[error("context {context:?} is empty")]
    ContextEmpty { context: String },

    #[error("context {context:?} names cluster {cluster:?}, which is not in the kubeconfig")]
    ClusterMissing { context: String, cluster: String },

    #[error("cluster {cluster:?} has no server")]
    NoServer { cluster: String },

    #[error("cluster {cluster:?} has certificate-authority-data that is not base64: {detail}")]
    CaDataNotBase64 { cluster: String, detail: String },

    #[error("could not read the CA file {} ({flag}): {detail}", path.display())]
    CaUnreadable {
        path: PathBuf,
        flag: &'static str,
        detail: String,
    },

    #[error("the CA file {} ({flag}) holds no PEM certificate", path.display())]
    CaNotPem { path: PathBuf, flag: &'static str },

    /// `check --kubeconfig-file` names a file that cannot be used.
    #[error("could not use --kubeconfig-file {}: {detail}", path.display())]
    CredentialFile { path: PathBuf, detail: String },

    /// A handed-in kubeconfig that would run code, read files or go through a proxy.
    #[error("--kubeconfig-file {} holds {}: kscope checks a handed-in kubeconfig only with an inline token", path.display(), found.join(", "))]
    UntrustedCredentialFile {
        path: PathBuf,
        found: Vec<&'static str>,
    },

    #[error("could not read {}: {detail}", path.display())]
    FileUnreadable {
        path: PathBuf,
        detail: String,
        flag: &'static str,
    },

    /// Every problem is printed above the error, one line each (`file:line:column: …`).
    #[error("{} has {} problem{}; nothing was sent", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" })]
    InvalidFile {
        path: PathBuf,
        problems: Vec<Problem>,
    },

    #[error("invalid --concurrency 0: at least one tenant must be granted at a time")]
    InvalidConcurrency,

    #[error("--context was given {count} times; only apply works on several clusters at once")]
    SeveralContexts { count: usize },

    #[error("the wizard needs a terminal, and {stream} is not one")]
    WizardNeedsTerminal {
        stream: &'static str,
        command_line: String,
    },

    #[error("revoking needs a yes: stdin is not a terminal, so kscope cannot ask")]
    ConfirmationNeeded { command_line: String },
}

impl Input {
    /// The line under the sentence: what to do about it.
    pub(crate) fn hint(&self) -> String {
        use Input::*;
        const FIX_KUBECONFIG: &str = "fix the file, or point --kubeconfig at another one";
        match self {
            Output { why, flag, .. } => match why {
                Unwritable::Exists => {
                    format!("choose another {flag}, or pass --force to replace it")
                }
                Unwritable::Symlink => {
                    format!("write to the link's target directly, or choose another {flag}")
                }
                Unwritable::Directory | Unwritable::EmptyName => format!("give {flag} a file name"),
                Unwritable::MissingDirectory => {
                    format!("create the directory, or choose another {flag}")
                }
                Unwritable::NotADirectory => {
                    format!("give {flag} a directory (kscope creates it, mode 0700, when it is missing)")
                }
            },
            FluxNamespace => "pass --secret-namespace NS: Flux reads the Secret from the namespace of the Kustomization or HelmRelease".into(),
            FormatFlag { flag } => format!(
                "drop {flag}, or pass --format {}",
                if *flag == "--name" { "argocd" } else { "argocd or --format flux" }
            ),
            ServerNotHttps { .. } => "give the API server's https:// address, e.g. --server https://api.example:6443".into(),
            NoHome => "pass --kubeconfig FILE".into(),
            KubeconfigUnreadable { .. } => {
                "pass --kubeconfig FILE or set KUBECONFIG to a readable file".into()
            }
            KubeconfigNotYaml { .. } | KubeconfigUnusable { .. } => FIX_KUBECONFIG.into(),
            NoCurrentContext => {
                "pass --context NAME, or set one with kubectl config use-context".into()
            }
            NoContexts => "pass --kubeconfig FILE with a context for the cluster".into(),
            UnknownContext { known, .. } if known.is_empty() => {
                "the kubeconfig has no contexts at all".into()
            }
            UnknownContext { known, .. } => format!("known contexts: {}", known.join(", ")),
            ContextUnusable { .. } => {
                "check the context's cluster, user and certificate files".into()
            }
            ContextEmpty { .. } | ClusterMissing { .. } => "fix the kubeconfig".into(),
            NoServer { .. } => "fix the kubeconfig, or pass --server".into(),
            CaDataNotBase64 { .. } => "fix the kubeconfig, or pass --ca-file".into(),
            CaUnreadable { .. } => "point it at a readable PEM file".into(),
            CaNotPem { .. } => {
                "point it at a PEM file that starts with -----BEGIN CERTIFICATE-----".into()
            }
            CredentialFile { .. } => "point it at a kubeconfig written by kscope kubeconfig".into(),
            UntrustedCredentialFile { .. } => "check the kubeconfig kscope wrote for the grant instead (kscope kubeconfig NS SA --output F), or pass --trust-kubeconfig-file if you wrote this file yourself; nothing was run or sent".into(),
            FileUnreadable { flag, .. } => format!("check the path given to {flag}"),
            InvalidFile { .. } => "fix the lines named above, then run the command again".into(),
            InvalidConcurrency => "e.g. --concurrency 8".into(),
            SeveralContexts { .. } => {
                "give one --context, or run the command once per context".into()
            }
            WizardNeedsTerminal { command_line, .. } => format!(
                "run the same steps with flags:\n  {}",
                command_line.replace(" && ", " &&\n  ")
            ),
            ConfirmationNeeded { command_line } => {
                format!(
                    "check what would go with --dry-run, then confirm with --yes: {command_line}"
                )
            }
        }
    }
}

fn unwritable(path: &std::path::Path, why: Unwritable) -> String {
    let path = path.display();
    match why {
        Unwritable::Exists => format!("{path} already exists"),
        Unwritable::Symlink => {
            format!("{path} is a symbolic link; kscope does not write credentials through links")
        }
        Unwritable::Directory => format!("{path} is a directory"),
        Unwritable::MissingDirectory => format!("the directory {path} does not exist"),
        Unwritable::NotADirectory => format!("{path} exists and is not a directory"),
        Unwritable::EmptyName => "the file name is empty".to_string(),
    }
}
