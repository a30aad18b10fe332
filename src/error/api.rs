//! Kubernetes API failures in words: a status becomes the tail of the error's sentence
//! (`could not apply Role a/b: …`) and a hint; a request that never got an answer is named
//! by why (refused, TLS, DNS, timed out).

/// The API status, when the server answered with one.
pub(crate) fn api_status(error: &kube::Error) -> Option<&kube::core::Status> {
    match error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// Whether the server answered with this HTTP status code.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    api_status(error).is_some_and(|s| s.code == code)
}

/// What went wrong with a request, in one clause (the sentence's tail).
pub(super) fn describe_api(error: &kube::Error) -> String {
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

pub(super) fn hint_api(error: &kube::Error) -> String {
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
        Some(Transport::TlsName) => {
            "the server's certificate does not name the address in your kubeconfig's server; \
             use a name it was issued for, or set tls-server-name on the cluster entry"
                .into()
        }
        Some(Transport::Tls) => {
            "the server's certificate does not match the CA in your kubeconfig; \
             check certificate-authority-data or --context"
                .into()
        }
        Some(Transport::Timeout) => {
            "the API server is overloaded or hung: check it (kubectl get --raw /readyz), or allow more with --request-timeout".into()
        }
        _ => "check the server address in your kubeconfig and your network".into(),
    }
}

/// Why a request never got an answer from the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Refused,
    /// A certificate the CA vouches for, issued for another name than the one connected to.
    TlsName,
    Tls,
    Dns,
    Timeout,
    /// The connection broke off mid-request (reset, broken pipe, closed before the answer):
    /// worth sending an idempotent request again.
    Reset,
}

/// Classifies a failed request by the types in its source chain: the I/O error's kind, the
/// TLS library's error, the HTTP library's flags, kscope's own request timeout.
pub(crate) fn transport_failure(error: &kube::Error) -> Option<Transport> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = next {
        // An io::Error's `source` skips the error it wraps, and TLS failures come wrapped
        // twice (hyper-rustls wraps tokio-rustls's io::Error, which wraps rustls's error):
        // look through every layer.
        let mut layer = Some(cause);
        while let Some(error) = layer {
            if let Some(found) = classify(error) {
                return Some(found);
            }
            layer = error
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static));
        }
        next = cause.source();
    }
    // hyper-util reports a failed name lookup as a private ConnectError whose only mark is
    // its message, and the resolver's io::Error has no kind of its own: text is all there is.
    let text = chain(error);
    (text.contains("dns error") || text.contains("failed to lookup address"))
        .then_some(Transport::Dns)
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<Transport> {
    use std::io::ErrorKind;
    if cause.is::<RequestTimedOut>()
        || cause.is::<tower::timeout::error::Elapsed>()
        || cause.is::<tokio::time::error::Elapsed>()
    {
        return Some(Transport::Timeout);
    }
    if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        return Some(match tls {
            rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. }) => {
                Transport::TlsName
            }
            _ => Transport::Tls,
        });
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some(Transport::Refused),
            ErrorKind::TimedOut => return Some(Transport::Timeout),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                return Some(Transport::Reset);
            }
            _ => {}
        }
    }
    if let Some(http) = cause.downcast_ref::<hyper::Error>() {
        if http.is_timeout() {
            return Some(Transport::Timeout);
        }
        if http.is_incomplete_message() || http.is_canceled() {
            return Some(Transport::Reset);
        }
    }
    None
}

fn connection_failure(error: &kube::Error) -> Option<String> {
    Some(match transport_failure(error)? {
        Transport::Refused => "the connection to the API server was refused".into(),
        Transport::Tls | Transport::TlsName => format!(
            "the TLS handshake with the API server failed ({})",
            last_cause(error)
        ),
        Transport::Dns => "the API server's host name could not be resolved".into(),
        Transport::Reset => format!(
            "the connection to the API server broke off ({})",
            last_cause(error)
        ),
        Transport::Timeout => {
            let cause = last_cause(error);
            if cause.contains("--request-timeout") {
                cause.trim_end_matches(": timed out").to_string()
            } else {
                "the API server did not answer in time".into()
            }
        }
    })
}

/// The whole source chain in one line.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
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
pub(crate) fn escalation_missing(message: &str) -> String {
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

/// A request that got no answer within `--request-timeout`.
#[derive(Debug)]
pub(crate) struct RequestTimedOut {
    pub(crate) server: String,
    pub(crate) after: std::time::Duration,
}

impl std::fmt::Display for RequestTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no answer from the API server at {} within {} (--request-timeout): timed out",
            self.server,
            kscope_core::duration::flag(self.after)
        )
    }
}

impl std::error::Error for RequestTimedOut {}
