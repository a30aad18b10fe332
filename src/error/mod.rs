//! The one error type of kscope, its exit codes, and every sentence a user reads when something
//! goes wrong.
//!
//! Every failure is a typed variant of a group; `Display` is its one-line sentence and
//! [`Error::hint`] the line under it. `main` prints both once and exits with [`Error::exit`].
//! Each group keeps its variants' sentences, exit code and hints side by side in one file:
//! - [`Invalid`] (the core's refusals: names, durations, templates) and [`Input`] (the
//!   kubeconfig, files and flags): exit 2, nothing was sent to the API server;
//! - [`GrantError`] (what the cluster says of a grant) and [`TokenError`]: exit 1, or 4 for
//!   the token wait;
//! - `Api` (a Kubernetes API failure, put into words in `api.rs`) and the machine's own
//!   failures, below: exit 1, or 130 for Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) use kscope_core::invalid::Invalid;
use kscope_core::invalid::Unrenderable;
use kscope_core::names::InvalidName;

mod api;
mod grant;
mod input;
mod token;
pub(crate) use api::{RequestTimedOut, Transport, api_status, is_status, transport_failure};
use api::{describe_api, hint_api};
pub(crate) use grant::GrantError;
pub(crate) use input::{Input, Unwritable};
pub(crate) use token::TokenError;

/// Exit codes, documented in docs/exit-codes.md. `can-i` style: "access differs" is not a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Exit {
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

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),

    #[error(transparent)]
    Input(#[from] Input),

    #[error(transparent)]
    Grant(#[from] GrantError),

    #[error(transparent)]
    Token(#[from] TokenError),

    /// Data kscope reads back from the cluster that is not as kscope wrote it.
    #[error(transparent)]
    ClusterData(#[from] kscope_core::manifest::UnreadableAlsoIn),

    /// An API request failed; `action` says what kscope was doing ("apply Role ask/ask-sa").
    #[error("could not {action}: {}", describe_api(source))]
    Api {
        action: String,
        #[source]
        source: Box<kube::Error>,
    },

    // ---- The machine's own failures (exit 1, or 130 for Ctrl-C); hints in `hint` below.
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
        Error::Invalid(name.into())
    }
}

impl From<Unrenderable> for Error {
    fn from(failure: Unrenderable) -> Self {
        Error::bug(failure.to_string())
    }
}

impl From<kscope_core::render::RenderError> for Error {
    fn from(failure: kscope_core::render::RenderError) -> Self {
        Error::bug(failure.to_string())
    }
}

impl Error {
    pub(crate) fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action: action.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn bug(what: impl Into<String>) -> Self {
        Error::Bug { what: what.into() }
    }

    pub(crate) fn exit(&self) -> Exit {
        match self {
            Error::Invalid(_) | Error::Input(_) => Exit::Usage,
            Error::Token(e) => e.exit(),
            Error::Interrupted => Exit::Interrupted,
            Error::Grant(_)
            | Error::ClusterData(_)
            | Error::Api { .. }
            | Error::File { .. }
            | Error::AsyncRuntime(_)
            | Error::Stdout(_)
            | Error::Terminal(_)
            | Error::Bug { .. } => Exit::Runtime,
        }
    }

    /// The second line under the error: what to do about it.
    pub(crate) fn hint(&self) -> String {
        match self {
            Error::Invalid(e) => e.hint(),
            Error::Input(e) => e.hint(),
            Error::Grant(e) => e.hint(),
            Error::Token(e) => e.hint(),
            Error::Api { source, .. } => hint_api(source),
            Error::ClusterData(found) => format!(
                "grant it again with its namespaces (kscope grant {} {} --also-in NS ...) to rewrite the record",
                found.namespace, found.name
            ),
            Error::File { .. } => "check the path and its permissions".into(),
            Error::AsyncRuntime(_) => {
                "the machine may be out of threads or memory; try again".into()
            }
            Error::Stdout(_) => "check where the output goes".into(),
            Error::Terminal(_) => "run the steps with flags instead (kscope grant --help)".into(),
            Error::Interrupted => "nothing more was sent to the API server".into(),
            Error::Bug { .. } => {
                "this is a bug in kscope; please report it with the command you ran".into()
            }
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
        assert_eq!(Error::from(Input::NoCurrentContext).exit() as u8, 2);
        assert_eq!(
            Error::from(Invalid::ClusterRole {
                value: "a/b".into()
            })
            .exit() as u8,
            2
        );
        assert_eq!(Exit::Runtime as u8, 1);
        assert_eq!(Exit::Usage as u8, 2);
        assert_eq!(Exit::Timeout as u8, 4);
        assert_eq!(Exit::Interrupted as u8, 130);
        assert_eq!(Error::api("get", status(500, "", "boom")).exit() as u8, 1);
        assert_eq!(Exit::AccessDiffers as u8, 3);
        let timeout = Error::from(TokenError::Timeout {
            namespace: "a".into(),
            secret: "b".into(),
            seconds: 1,
        });
        assert_eq!(timeout.exit() as u8, 4);
        assert!(timeout.hint().contains("kube-controller-manager"));
        assert_eq!(Error::Interrupted.exit() as u8, 130);
        // After requests were sent, never "nothing was sent".
        let after = Error::from(GrantError::NoGrantNamed {
            context: "c".into(),
            command: "check",
            grants: vec![("a".into(), "b".into())],
        });
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
                Error::from(kscope_core::names::NamespaceName::parse("").unwrap_err()),
                "invalid namespace name \"\": it is empty",
                "lowercase letters",
            ),
            (
                Error::from(Invalid::TokenLifetime {
                    flag: "--duration",
                    value: "5m".into(),
                    too_long: false,
                }),
                "invalid --duration \"5m\": tokens must live at least 10 minutes",
                "--duration 24h",
            ),
            (
                Error::from(Invalid::TokenLifetime {
                    flag: "--duration",
                    value: "9999999999s".into(),
                    too_long: true,
                }),
                "the API server accepts at most 4294967296 seconds",
                "10m",
            ),
            (
                Error::from(Input::Output {
                    path: "x".into(),
                    why: Unwritable::Exists,
                    flag: "--output",
                }),
                "x already exists",
                "--force",
            ),
            (
                Error::from(Input::UnknownContext {
                    context: "nope".into(),
                    known: vec!["a".into(), "b".into()],
                }),
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

    #[test]
    fn a_grant_refused_for_several_reasons_says_each_with_its_fix_on_one_line() {
        let host = GrantError::HostPodsAdmitted {
            namespace: "t".into(),
            enforced: None,
        };
        let shared = GrantError::SharedNamespace {
            namespace: "t".into(),
            service_account: "boss".into(),
            binding: "ClusterRoleBinding b".into(),
        };
        assert!(GrantError::refusal(Vec::new()).is_none());
        let one = GrantError::refusal(vec![host]).unwrap();
        assert!(matches!(one, GrantError::HostPodsAdmitted { .. }), "{one}");
        let host = GrantError::HostPodsAdmitted {
            namespace: "t".into(),
            enforced: None,
        };
        let both = Error::from(GrantError::refusal(vec![host, shared]).unwrap());
        let said = both.to_string();
        assert!(
            said.starts_with("the grant is refused for 2 reasons: (1) namespace t admits pods"),
            "{said}"
        );
        assert!(
            said.contains("; (2) namespace t holds ServiceAccount boss"),
            "{said}"
        );
        assert!(!said.contains('\n'), "{said}");
        let hint = both.hint();
        assert!(hint.starts_with("(1) label it"), "{hint}");
        assert!(
            hint.contains("(2) grant in a namespace of the tenant's own"),
            "{hint}"
        );
        assert!(hint.ends_with("; nothing was created"), "{hint}");
        assert_eq!(hint.matches("nothing was created").count(), 1, "{hint}");
        assert_eq!(both.exit() as u8, 1);
        assert!(
            GrantError::SharedNamespace {
                namespace: "t".into(),
                service_account: "b".into(),
                binding: "x".into()
            }
            .refuses_a_grant()
        );
        assert!(
            !GrantError::NamespaceTerminating {
                namespace: "t".into()
            }
            .refuses_a_grant()
        );
    }
}
