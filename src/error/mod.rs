//! The one error type of kscope, its exit codes, and every sentence a user reads when something
//! goes wrong.
//!
//! Every failure is a typed variant; `Display` is its one-line sentence and [`Error::hint`] the
//! line under it. `main` prints both once and exits with [`Error::exit`]. Kubernetes API
//! failures arrive as `Error::Api` and are turned into words a platform engineer can act on
//! here, and nowhere else. Exit 2 means that nothing was sent to the API server.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::names::InvalidName;

mod api;
pub(crate) use api::chain;
pub use api::{api_status, escalation_missing};
use api::{describe_api, hint_api};

/// Exit codes, documented in the README. `can-i` style: "access differs" is not a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// The API server or the machine failed us.
    Runtime = 1,
    /// Invalid usage or input; nothing was sent to the API server.
    Usage = 2,
    /// `check` found access that differs from the grant.
    AccessDiffers = 3,
    /// Timed out waiting for the token controller.
    Timeout = 4,
    /// Interrupted by the user (Ctrl-C), as shells report SIGINT.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What `--output` (or the wizard's file question) cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwritable {
    Exists,
    Symlink,
    Directory,
    MissingDirectory,
    EmptyName,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- Bad input, found before any request (exit 2).
    #[error("invalid {} name {}: it {}", .0.what, shown(&.0.value), .0.reason)]
    InvalidName(InvalidName),

    #[error("invalid --cluster-role {value:?}: not a valid ClusterRole name")]
    InvalidClusterRole { value: String },

    /// A duration flag that does not parse or is not positive; `reason` follows "it".
    #[error("invalid {flag} {value:?}: it {reason}")]
    InvalidDuration {
        flag: &'static str,
        value: String,
        reason: String,
    },

    /// A `--duration` outside what TokenRequest accepts.
    #[error("invalid --duration {value:?}: {}", if *.too_long {
        format!("the API server accepts at most {} seconds", crate::plan::MAX_TOKEN_SECONDS)
    } else {
        "tokens must live at least 10 minutes".to_string()
    })]
    TokenLifetime { value: String, too_long: bool },

    #[error("bad {source_name}: {reason}")]
    BadTemplate { source_name: String, reason: String },

    #[error("template {template} lets the tenant step outside its grant: {rule}")]
    EscalatingTemplate { template: String, rule: String },

    #[error("unknown template {name:?}")]
    UnknownTemplate { name: String, known: Vec<String> },

    #[error("could not read the template directory {}: {source}", dir.display())]
    TemplateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not read the template file {}: {source}", path.display())]
    TemplateFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The kubeconfig destination cannot be used; nothing was written.
    #[error("{}", unwritable(path, *why))]
    Output { path: PathBuf, why: Unwritable },

    // ---- The caller's kubeconfig (exit 2: nothing could be sent).
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

    #[error("could not read the TenantSet file {}: {detail}", path.display())]
    TenantSetUnreadable { path: PathBuf, detail: String },

    /// Every problem is printed above the error, one line each (`file:line:column: …`).
    #[error("{} has {} problem{}; nothing was sent", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" })]
    InvalidTenantSet {
        path: PathBuf,
        problems: Vec<crate::tenants::Problem>,
    },

    #[error("invalid --concurrency 0: at least one tenant must be granted at a time")]
    InvalidConcurrency,

    #[error("{failed} of {total} tenants failed")]
    TenantsFailed { failed: usize, total: usize },

    #[error("--context was given {count} times; only apply works on several clusters at once")]
    SeveralContexts { count: usize },

    #[error("the wizard needs a terminal, and {stream} is not one")]
    WizardNeedsTerminal {
        stream: &'static str,
        command_line: String,
    },

    // ---- After requests were sent (exit 1, or 4 for the token wait).
    /// An API request failed; `action` says what kscope was doing ("apply Role ask/ask-sa").
    #[error("could not {action}: {}", describe_api(source))]
    Api {
        action: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// Objects of the grant's names exist and kscope does not manage them ("Role ask/ask-sa").
    #[error("{} already {} and {} not managed by kscope", objects.join(" and "),
        if objects.len() == 1 { "exists" } else { "exist" }, if objects.len() == 1 { "is" } else { "are" })]
    NotManaged { objects: Vec<String> },

    /// The caller lacks permissions that the grant needs; found before anything was created.
    #[error("you may not make this grant: you lack {}", missing.join("; "))]
    MissingPermissions { missing: Vec<String> },

    #[error("namespace {namespace} is being deleted (terminating) and accepts no new objects")]
    NamespaceTerminating { namespace: String },

    #[error(
        "namespace {namespace} does not exist yet, so the server cannot validate objects inside it"
    )]
    NamespaceMissingForServerDryRun { namespace: String },

    #[error("you may not list kscope's objects across all namespaces ({detail})")]
    ListForbidden { detail: String },

    #[error("there is no kscope grant {namespace}/{service_account} (revoked, or never made)")]
    NoSuchGrant {
        namespace: String,
        service_account: String,
    },

    #[error("revoking needs a yes: stdin is not a terminal, so kscope cannot ask")]
    ConfirmationNeeded { command_line: String },

    #[error("the old token of {namespace}/{service_account} was still accepted after {seconds}s")]
    TokenStillAccepted {
        namespace: String,
        service_account: String,
        seconds: u64,
    },

    #[error(
        "the new token of {namespace}/{service_account} is not accepted: the API server says it is {identity}"
    )]
    NewTokenRefused {
        namespace: String,
        service_account: String,
        identity: String,
    },

    #[error("the API server granted a token for {granted}, not the {requested} asked for")]
    TokenShortened { requested: String, granted: String },

    #[error("ClusterRole {name} does not exist")]
    ClusterRoleMissing { name: String },

    #[error("ClusterRole {name} of the grant does not exist")]
    GrantClusterRoleMissing { name: String },

    #[error("no grant named, and none was made from this machine for context {context:?}")]
    NoGrantNamed {
        context: String,
        command: &'static str,
        grants: Vec<(String, String)>,
    },

    #[error(
        "there is no token Secret {namespace}/{service_account}-token: the grant was revoked, or never made"
    )]
    NoTokenSecret {
        namespace: String,
        service_account: String,
    },

    #[error("the token Secret {namespace}/{secret} has no token yet")]
    TokenNotFilled { namespace: String, secret: String },

    #[error("the token in Secret {namespace}/{secret} is not text")]
    TokenNotText { namespace: String, secret: String },

    #[error(
        "the API server answered the TokenRequest for ServiceAccount {namespace}/{service_account} without a token"
    )]
    EmptyIssuedToken {
        namespace: String,
        service_account: String,
    },

    #[error(
        "the --kubeconfig-file credential is {identity}, not a ServiceAccount of namespace {namespace}"
    )]
    NotAServiceAccountOf { identity: String, namespace: String },

    #[error(
        "ServiceAccount {namespace}/{service_account} does not exist: the grant was revoked, or never made"
    )]
    ServiceAccountMissing {
        namespace: String,
        service_account: String,
    },

    #[error("ServiceAccount {namespace}/{service_account} was not made by kscope grant")]
    NotGrantedByKscope {
        namespace: String,
        service_account: String,
    },

    #[error(
        "ServiceAccount {namespace}/{service_account} has an unknown kscope.dev/access: {value:?}"
    )]
    UnknownAccessRecord {
        namespace: String,
        service_account: String,
        value: String,
    },

    #[error("the grant used template {name:?}, which this machine does not have")]
    GrantTemplateMissing { name: String },

    /// The token controller did not fill in the token Secret in time.
    #[error("the token Secret {namespace}/{secret} was not filled in within {seconds}s")]
    TokenTimeout {
        namespace: String,
        secret: String,
        seconds: u64,
    },

    /// The token Secret disappeared while waiting (the controller deletes orphans).
    #[error("the token Secret {namespace}/{secret} was deleted while kscope waited for its token")]
    TokenSecretDeleted { namespace: String, secret: String },

    /// A file could not be read or written.
    #[error("could not {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not start the async runtime: {0}")]
    AsyncRuntime(#[source] std::io::Error),

    #[error("could not write to stdout: {0}")]
    Stdout(#[source] std::io::Error),

    #[error("the terminal failed during the wizard: {0}")]
    Terminal(#[source] std::io::Error),

    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,

    /// A state kscope's own code should never reach; `what` says which.
    #[error("internal error: {what}")]
    Bug { what: String },
}

impl From<InvalidName> for Error {
    fn from(name: InvalidName) -> Self {
        if name.what == "--cluster-role" {
            Error::InvalidClusterRole { value: name.value }
        } else {
            Error::InvalidName(name)
        }
    }
}

fn shown(value: &str) -> String {
    if value.is_empty() {
        "\"\"".to_string()
    } else {
        format!("{value:?}")
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
        Unwritable::EmptyName => "the file name is empty".to_string(),
    }
}

impl Error {
    pub fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action: action.into(),
            source: Box::new(source),
        }
    }

    pub fn bug(what: impl Into<String>) -> Self {
        Error::Bug { what: what.into() }
    }

    pub fn exit(&self) -> Exit {
        use Error::*;
        match self {
            InvalidName(_)
            | InvalidClusterRole { .. }
            | InvalidDuration { .. }
            | TokenLifetime { .. }
            | BadTemplate { .. }
            | UnknownTemplate { .. }
            | EscalatingTemplate { .. }
            | TemplateDir { .. }
            | TemplateFile { .. }
            | Output { .. }
            | NoHome
            | KubeconfigUnreadable { .. }
            | KubeconfigNotYaml { .. }
            | KubeconfigUnusable { .. }
            | NoCurrentContext
            | NoContexts
            | UnknownContext { .. }
            | ContextUnusable { .. }
            | ContextEmpty { .. }
            | ClusterMissing { .. }
            | NoServer { .. }
            | CaDataNotBase64 { .. }
            | CaUnreadable { .. }
            | CaNotPem { .. }
            | CredentialFile { .. }
            | ConfirmationNeeded { .. }
            | SeveralContexts { .. }
            | TenantSetUnreadable { .. }
            | InvalidTenantSet { .. }
            | InvalidConcurrency
            | WizardNeedsTerminal { .. } => Exit::Usage,
            TokenTimeout { .. } => Exit::Timeout,
            Interrupted => Exit::Interrupted,
            Api { .. }
            | NotManaged { .. }
            | MissingPermissions { .. }
            | NamespaceTerminating { .. }
            | NamespaceMissingForServerDryRun { .. }
            | ClusterRoleMissing { .. }
            | ListForbidden { .. }
            | TenantsFailed { .. }
            | TokenShortened { .. }
            | NoSuchGrant { .. }
            | TokenStillAccepted { .. }
            | NewTokenRefused { .. }
            | GrantClusterRoleMissing { .. }
            | NoGrantNamed { .. }
            | NoTokenSecret { .. }
            | TokenNotFilled { .. }
            | TokenNotText { .. }
            | EmptyIssuedToken { .. }
            | NotAServiceAccountOf { .. }
            | ServiceAccountMissing { .. }
            | NotGrantedByKscope { .. }
            | UnknownAccessRecord { .. }
            | GrantTemplateMissing { .. }
            | TokenSecretDeleted { .. }
            | File { .. }
            | AsyncRuntime(_)
            | Stdout(_)
            | Terminal(_)
            | Bug { .. } => Exit::Runtime,
        }
    }

    /// The second line under the error: what to do about it.
    pub fn hint(&self) -> String {
        use Error::*;
        const FIX_KUBECONFIG: &str = "fix the file, or point --kubeconfig at another one";
        match self {
            InvalidName(name) if name.what == "namespace" || name.what == "serviceaccount" => {
                "use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. team-a)".into()
            }
            InvalidName(_) => "check the name".into(),
            InvalidClusterRole { .. } | ClusterRoleMissing { .. } => {
                "name an existing ClusterRole such as edit or view (kubectl get clusterroles)".into()
            }
            InvalidDuration { flag, .. } if *flag != "--duration" => format!("e.g. {flag} 60s"),
            InvalidDuration { .. } | TokenLifetime { .. } => {
                "use a duration from 10m to 136y, such as --duration 24h".into()
            }
            BadTemplate { .. } => {
                "a template has name, description and rules (see templates/ in the kscope repository)".into()
            }
            UnknownTemplate { known, .. } => format!(
                "choose one of {} (kscope templates lists them), or give a file path",
                known.join(", ")
            ),
            EscalatingTemplate { .. } => "remove that rule, or pass --allow-escalation if the tenant is meant to hold it; nothing was sent".into(),
            TemplateDir { .. } => "check --template-dir and its permissions".into(),
            TemplateFile { .. } => "check the path given to --template".into(),
            Output { why, .. } => match why {
                Unwritable::Exists => "choose another --output, or pass --force to replace it",
                Unwritable::Symlink => {
                    "write to the link's target directly, or choose another --output"
                }
                Unwritable::Directory | Unwritable::EmptyName => "give --output a file name",
                Unwritable::MissingDirectory => "create the directory, or choose another --output",
            }
            .into(),
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
            CredentialFile { .. } => {
                "point it at a kubeconfig written by kscope kubeconfig".into()
            }
            WizardNeedsTerminal { command_line, .. } => format!(
                "run the same steps with flags:\n  {}",
                command_line.replace(" && ", " &&\n  ")
            ),
            Api { source, .. } => hint_api(source),
            NotManaged { .. } => {
                "pick another name, or re-run with --adopt to let kscope take the object over".into()
            }
            MissingPermissions { .. } => {
                "ask a cluster admin to run the grant, or to give you these permissions; nothing was created".into()
            }
            NamespaceTerminating { .. } => {
                "wait until it is gone, then run the grant again".into()
            }
            NamespaceMissingForServerDryRun { .. } => {
                "use --dry-run (client) to see the manifests, or run the grant".into()
            }
            TokenShortened { .. } => "ask for at most the server's --service-account-max-token-expiration, or drop --strict-duration to accept the shorter token; nothing was written".into(),
            ListForbidden { .. } => {
                "name a namespace you may read: kscope list -n NAMESPACE".into()
            }
            NoSuchGrant {
                namespace,
                service_account,
            } => format!(
                "kscope list shows the grants there are; make this one with kscope grant {namespace} {service_account}"
            ),
            TenantSetUnreadable { .. } => "check the path given to -f".into(),
            InvalidTenantSet { .. } => "fix the lines named above, then apply again".into(),
            InvalidConcurrency => "e.g. --concurrency 8".into(),
            TenantsFailed { .. } => {
                "the table names each failure; the others were granted, and running apply again converges".into()
            }
            SeveralContexts { .. } => "give one --context, or run the command once per context".into(),
            ConfirmationNeeded { command_line } => {
                format!("check what would go with --dry-run, then confirm with --yes: {command_line}")
            }
            TokenStillAccepted { .. } => {
                "the credential may still be live: check the API server's token cache and authenticators, and run kscope revoke again".into()
            }
            NewTokenRefused { .. } => {
                "run kscope rotate again; if it keeps failing, check the token controller".into()
            }
            GrantClusterRoleMissing { .. } => {
                "re-run the grant with an existing --cluster-role".into()
            }
            NoGrantNamed {
                command, grants, ..
            } if grants.is_empty() => format!(
                "run kscope grant <namespace> <serviceaccount> first, or name one: kscope {command} <namespace> <serviceaccount>"
            ),
            NoGrantNamed {
                command, grants, ..
            } => {
                let names: Vec<String> = grants.iter().map(|(ns, sa)| format!("{ns} {sa}")).collect();
                format!(
                    "name one of the kscope grants: kscope {command} {}",
                    names.join(&format!(" | kscope {command} "))
                )
            }
            NoTokenSecret {
                namespace,
                service_account,
            } => format!("make it again with kscope grant {namespace} {service_account}"),
            ServiceAccountMissing {
                namespace,
                service_account,
            } => format!("run kscope grant {namespace} {service_account} first"),
            TokenNotFilled { .. } => {
                "the token controller of kube-controller-manager fills it in; run the grant again to wait for it".into()
            }
            TokenNotText { .. } => "delete the Secret and run the grant again".into(),
            EmptyIssuedToken { .. } => {
                "the API server's token issuer is misconfigured (see --service-account-signing-key-file); try again or ask a cluster admin".into()
            }
            NotAServiceAccountOf { .. } => {
                "name the grant: kscope check <namespace> <serviceaccount> --kubeconfig-file FILE".into()
            }
            NotGrantedByKscope { .. } => {
                "say what it should have: --template NAME or --cluster-role NAME".into()
            }
            UnknownAccessRecord { .. } => "pass --template NAME or --cluster-role NAME".into(),
            GrantTemplateMissing { .. } => "pass --template FILE or --template-dir DIR".into(),
            TokenTimeout { .. } => "the token controller of kube-controller-manager is the likely cause: \
                 check that kube-controller-manager runs with --service-account-private-key-file \
                 and its serviceaccount-token controller enabled"
                .into(),
            TokenSecretDeleted { .. } => {
                "the token controller deletes token Secrets whose ServiceAccount is missing; re-run the grant".into()
            }
            File { .. } => "check the path and its permissions".into(),
            AsyncRuntime(_) => "the machine may be out of threads or memory; try again".into(),
            Stdout(_) => "check where the output goes".into(),
            Terminal(_) => "run the steps with flags instead (kscope grant --help)".into(),
            Interrupted => "nothing more was sent to the API server".into(),
            Bug { .. } => "this is a bug in kscope; please report it with the command you ran".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            status: None,
            code,
            message: message.into(),
            metadata: None,
            reason: reason.into(),
            details: None,
        }))
    }

    #[test]
    fn exit_codes_are_the_documented_numbers() {
        assert_eq!(Exit::Ok as u8, 0);
        assert_eq!(Error::NoCurrentContext.exit() as u8, 2);
        assert_eq!(
            Error::InvalidClusterRole {
                value: "a/b".into()
            }
            .exit() as u8,
            2
        );
        assert_eq!(Exit::Runtime as u8, 1);
        assert_eq!(Exit::Usage as u8, 2);
        assert_eq!(Exit::Timeout as u8, 4);
        assert_eq!(Exit::Interrupted as u8, 130);
        assert_eq!(Error::api("get", status(500, "", "boom")).exit() as u8, 1);
        assert_eq!(Exit::AccessDiffers as u8, 3);
        let timeout = Error::TokenTimeout {
            namespace: "a".into(),
            secret: "b".into(),
            seconds: 1,
        };
        assert_eq!(timeout.exit() as u8, 4);
        assert!(timeout.hint().contains("kube-controller-manager"));
        assert_eq!(Error::Interrupted.exit() as u8, 130);
        // After requests were sent, never "nothing was sent".
        let after = Error::NoGrantNamed {
            context: "c".into(),
            command: "check",
            grants: vec![("a".into(), "b".into())],
        };
        assert_eq!(after.exit() as u8, 1);
        assert_eq!(
            after.hint(),
            "name one of the kscope grants: kscope check a b"
        );
        assert_eq!(Error::bug("x").exit() as u8, 1);
    }

    #[test]
    fn input_errors_read_as_one_sentence_with_a_hint() {
        let cases: Vec<(Error, &str, &str)> = vec![
            (
                Error::from(crate::names::NamespaceName::parse("").unwrap_err()),
                "invalid namespace name \"\": it is empty",
                "lowercase letters",
            ),
            (
                Error::TokenLifetime {
                    value: "5m".into(),
                    too_long: false,
                },
                "invalid --duration \"5m\": tokens must live at least 10 minutes",
                "--duration 24h",
            ),
            (
                Error::TokenLifetime {
                    value: "9999999999s".into(),
                    too_long: true,
                },
                "the API server accepts at most 4294967296 seconds",
                "10m",
            ),
            (
                Error::Output {
                    path: "x".into(),
                    why: Unwritable::Exists,
                },
                "x already exists",
                "--force",
            ),
            (
                Error::UnknownContext {
                    context: "nope".into(),
                    known: vec!["a".into(), "b".into()],
                },
                "context \"nope\" is not in the kubeconfig",
                "known contexts: a, b",
            ),
        ];
        for (error, sentence, hint) in cases {
            assert_eq!(error.exit() as u8, 2, "{error}");
            assert!(error.to_string().contains(sentence), "{error}");
            assert!(!error.to_string().contains('\n'), "{error}");
            assert!(error.hint().contains(hint), "{}", error.hint());
        }
    }

    #[test]
    fn escalation_message_names_the_missing_rules() {
        let message = "roles.rbac.authorization.k8s.io \"x\" is forbidden: user \"u\" (groups=[\"g\"]) is \
             attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], \
             Verbs:[\"create\"]}\n{APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"delete\"]}";
        let error = Error::api("apply Role a/b", status(403, "Forbidden", message));
        let text = error.to_string();
        assert!(
            text.starts_with("could not apply Role a/b: the API server refused to grant"),
            "{text}"
        );
        assert!(text.contains("Resources:[\"pods\"]"), "{text}");
        assert!(text.contains("; {APIGroups:[\"apps\"]"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn status_codes_become_sentences_with_hints() {
        let cases = [
            (
                401,
                "Unauthorized",
                "Unauthorized",
                "rejected the credentials",
                "expired",
            ),
            (
                404,
                "NotFound",
                "namespaces \"x\" not found",
                "not found",
                "check the names",
            ),
            (
                409,
                "Conflict",
                "Apply failed with 1 conflict",
                "conflict",
                "--adopt",
            ),
            (
                403,
                "Forbidden",
                "secrets \"a\" is forbidden: unable to create new content in namespace x because it is being terminated",
                "being deleted",
                "wait until",
            ),
            (
                403,
                "Forbidden",
                "pods is forbidden: User \"u\" cannot list",
                "forbidden: pods",
                "can-i",
            ),
        ];
        for (code, reason, message, sentence, hint) in cases {
            let error = Error::api("do a thing", status(code, reason, message));
            assert!(error.to_string().contains(sentence), "{code}: {error}");
            assert!(error.hint().contains(hint), "{code}: {}", error.hint());
        }
    }
}
