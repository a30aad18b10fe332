//! The one error type of kscope, its exit codes, and every user-facing error sentence.
//!
//! Commands return `Error`; `main` prints it once (`Display`, then the hint) and exits with
//! `Error::exit_code`. Kubernetes API failures arrive as `Error::Api` and are turned into a
//! sentence a platform engineer can act on here, and nowhere else.

use std::path::PathBuf;
use std::process::ExitCode;

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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input caught before any request. `hint` says how to fix it.
    #[error("{message}")]
    Usage { message: String, hint: String },

    /// The caller's kubeconfig could not be used (missing, unreadable, malformed, unknown context).
    #[error("{message}")]
    Kubeconfig { message: String, hint: String },

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

    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,

    /// Anything else that went wrong at run time, already in words.
    #[error("{message}")]
    Runtime { message: String, hint: String },
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn runtime(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Runtime {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn kubeconfig(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Kubeconfig {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn api(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action: action.into(),
            source: Box::new(source),
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage { .. } | Error::Kubeconfig { .. } => Exit::Usage,
            Error::TokenTimeout { .. } => Exit::Timeout,
            Error::Interrupted => Exit::Interrupted,
            Error::Api { .. }
            | Error::NotManaged { .. }
            | Error::MissingPermissions { .. }
            | Error::TokenSecretDeleted { .. }
            | Error::File { .. }
            | Error::Runtime { .. } => Exit::Runtime,
        }
    }

    /// The second line under the error: what to do about it.
    pub fn hint(&self) -> String {
        match self {
            Error::Usage { hint, .. } | Error::Kubeconfig { hint, .. } | Error::Runtime { hint, .. } => {
                hint.clone()
            }
            Error::Api { source, .. } => hint_api(source),
            Error::NotManaged { .. } => {
                "pick another name, or re-run with --adopt to let kscope take the object over".into()
            }
            Error::MissingPermissions { .. } => {
                "ask a cluster admin to run the grant, or to give you these permissions; nothing was created".into()
            }
            Error::TokenTimeout { .. } => "the token controller of kube-controller-manager is the likely cause: \
                 check that kube-controller-manager runs with --service-account-private-key-file \
                 and its serviceaccount-token controller enabled"
                .into(),
            Error::TokenSecretDeleted { .. } => {
                "the token controller deletes token Secrets whose ServiceAccount is missing; re-run the grant".into()
            }
            Error::File { .. } => "check the path and its permissions".into(),
            Error::Interrupted => "nothing more was sent to the API server".into(),
        }
    }
}

/// The API status, when the server answered with one.
pub fn api_status(error: &kube::Error) -> Option<&kube::core::Status> {
    match error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// What went wrong with a request, in one clause (the sentence's tail).
fn describe_api(error: &kube::Error) -> String {
    if let Some(status) = api_status(error) {
        let message = status.message.trim();
        return match (status.code, status.reason.as_str()) {
            (401, _) => "the API server rejected the credentials (401 Unauthorized)".into(),
            (403, _)
                if message.contains("attempting to grant RBAC permissions not currently held") =>
            {
                format!(
                    "the API server refused to grant permissions you do not hold yourself: {}",
                    escalation_missing(message)
                )
            }
            (403, _)
                if status.reason == "Forbidden"
                    && message.contains("because it is being terminated") =>
            {
                "the namespace is being deleted (terminating) and accepts no new objects".into()
            }
            (403, _) => format!("forbidden: {}", message),
            (404, _) => format!("not found: {}", message),
            (409, _) if message.contains("conflict") || status.reason == "Conflict" => {
                format!("conflict: {}", message)
            }
            (code, _) => format!("the API server answered {code}: {message}"),
        };
    }
    if let Some(kind) = connection_failure(error) {
        return kind;
    }
    if let kube::Error::Service(_) | kube::Error::HyperError(_) = error {
        return format!("the request failed: {}", chain(error));
    }
    chain(error)
}

fn hint_api(error: &kube::Error) -> String {
    if let Some(status) = api_status(error) {
        return match status.code {
            401 => "the token or certificate in your kubeconfig is wrong or expired; log in again".into(),
            403 if status.message.contains("attempting to grant RBAC permissions not currently held") => {
                "grant fewer permissions (another --template or --cluster-role), or have a cluster admin run it".into()
            }
            403 if status.message.contains("because it is being terminated") => {
                "wait until the namespace is gone, then run the grant again".into()
            }
            403 => "ask a cluster admin for the permission named above (kubectl auth can-i shows what you may do)"
                .into(),
            404 => "check the names, the namespace and the --context".into(),
            409 => "another field manager owns these fields; re-run with --adopt to take them over if that is intended"
                .into(),
            _ => "re-run with -v to see the requests".into(),
        };
    }
    match transport_failure(error) {
        Some(Transport::Refused) => {
            "is the cluster running, and does your kubeconfig's server (or --context) point at it?"
                .into()
        }
        Some(Transport::Tls) => {
            "the server's certificate does not match the CA in your kubeconfig; \
             check certificate-authority-data or --context"
                .into()
        }
        _ => "check the server address in your kubeconfig and your network".into(),
    }
}

/// Why a request never got an answer from the API server.
enum Transport {
    Refused,
    Tls,
    Dns,
    Timeout,
}

fn transport_failure(error: &kube::Error) -> Option<Transport> {
    let text = chain(error);
    if text.contains("Connection refused") || text.contains("connection refused") {
        Some(Transport::Refused)
    } else if is_tls(&text) {
        Some(Transport::Tls)
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        Some(Transport::Dns)
    } else if text.contains("timed out") || text.contains("deadline has elapsed") {
        Some(Transport::Timeout)
    } else {
        None
    }
}

fn connection_failure(error: &kube::Error) -> Option<String> {
    Some(match transport_failure(error)? {
        Transport::Refused => "the connection to the API server was refused".into(),
        Transport::Tls => format!(
            "the TLS handshake with the API server failed ({})",
            last_cause(error)
        ),
        Transport::Dns => "the API server's host name could not be resolved".into(),
        Transport::Timeout => "the API server did not answer in time".into(),
    })
}

fn is_tls(text: &str) -> bool {
    text.contains("invalid peer certificate")
        || text.contains("certificate")
        || text.contains("UnknownIssuer")
        || text.contains("handshake")
}

/// The whole source chain in one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

fn last_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(cause) = current.source() {
        current = cause;
    }
    current.to_string()
}

/// Escalation prevention lists the rules the caller is missing after "missing rules:";
/// keep that part, folded onto one line.
pub fn escalation_missing(message: &str) -> String {
    let tail = message
        .split_once("missing rules:")
        .or_else(|| message.split_once("not currently held:"))
        .map(|(_, rest)| rest)
        .unwrap_or(message);
    let rules: Vec<&str> = tail
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("user=") && !l.starts_with("ownerrules="))
        .collect();
    let mut text = rules.join("; ");
    if let Some(cut) = text.find("; ruleResolutionErrors") {
        text.truncate(cut);
    }
    text
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
        assert_eq!(Error::usage("x", "y").exit() as u8, 2);
        assert_eq!(Error::kubeconfig("x", "y").exit() as u8, 2);
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
