//! The scoped kubeconfig kscope hands out, as data: the bearer token (never printable), the
//! endpoint of the cluster (server, embedded CA, TLS name, proxy), and the one-cluster,
//! one-user, one-context file built from them. Pure: reading the caller's kubeconfig and
//! writing files live in the `kubeconfig` module above the core.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use k8s_openapi::api::core::v1::Secret;

use crate::invalid::Unrenderable;
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

    /// The `jti` claim: the token's credential id, which API server audit logs carry as
    /// `authentication.kubernetes.io/credential-id` (bound tokens have one).
    pub fn credential_id(&self) -> Option<String> {
        self.claims()?.get("jti")?.as_str().map(str::to_string)
    }

    fn claim(&self, name: &str) -> Option<i64> {
        self.claims()?.get(name)?.as_i64()
    }

    fn claims(&self) -> Option<serde_json::Value> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = self.0.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What a token Secret holds under its `token` key.
#[derive(Debug)]
pub enum SecretToken {
    /// Nothing yet: the token controller has not filled it in.
    Empty,
    /// Bytes that are not UTF-8: no bearer token.
    NotText,
    Filled(Token),
}

impl SecretToken {
    /// Reads the `token` of a token Secret; the one place that does.
    pub fn of(secret: &Secret) -> SecretToken {
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get("token"))
            .map(|t| t.0.as_slice())
            .unwrap_or_default();
        if bytes.is_empty() {
            return SecretToken::Empty;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => SecretToken::Filled(Token::new(text)),
            Err(_) => SecretToken::NotText,
        }
    }

    /// The token controller has filled in the Secret.
    pub fn is_filled(secret: &Secret) -> bool {
        !matches!(SecretToken::of(secret), SecretToken::Empty)
    }

    /// The bearer token, when the Secret holds one as text.
    pub fn token(secret: &Secret) -> Option<Token> {
        match SecretToken::of(secret) {
            SecretToken::Filled(token) => Some(token),
            _ => None,
        }
    }
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
    /// The caller's proxy carried credentials (`user:pass@`), so it was not copied.
    pub proxy_withheld: bool,
}

/// Whether a proxy URL carries credentials (`scheme://user:pass@host`): those are the
/// caller's, never a tenant's.
pub fn proxy_has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

#[derive(Debug, Serialize)]
struct File<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: [NamedCluster<'a>; 1],
    contexts: Vec<NamedContext<'a>>,
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
) -> Result<String, Unrenderable> {
    scoped_kubeconfig_in(endpoint, namespace, sa, token, &[])
}

/// The name of the context of a grant's other namespace `other`: the grant's entry name and
/// `#<namespace>` (no namespace holds '#', so no two contexts share a name).
pub fn other_context_name(name: &str, other: &str) -> String {
    format!("{name}#{other}")
}

/// [`scoped_kubeconfig`] with a context more per namespace of `also_in` (the grant's other
/// namespaces), the same cluster and user; the home namespace's context is current.
pub fn scoped_kubeconfig_in(
    endpoint: &Endpoint,
    namespace: &NamespaceName,
    sa: &ServiceAccountName,
    token: &Token,
    also_in: &[String],
) -> Result<String, Unrenderable> {
    let name = entry_name(endpoint, namespace, sa);
    let others: Vec<String> = also_in
        .iter()
        .map(|other| other_context_name(&name, other))
        .collect();
    let mut contexts = vec![NamedContext {
        name: &name,
        context: ContextEntry {
            cluster: &name,
            user: &name,
            namespace: namespace.as_str(),
        },
    }];
    for (other, context) in also_in.iter().zip(&others) {
        contexts.push(NamedContext {
            name: context,
            context: ContextEntry {
                cluster: &name,
                user: &name,
                namespace: other,
            },
        });
    }
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
        contexts,
        users: [NamedUser {
            name: &name,
            user: UserEntry {
                token: token.expose(),
            },
        }],
        current_context: &name,
    };
    serde_saphyr::to_string(&file).map_err(|e| Unrenderable {
        what: "the kubeconfig",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            proxy_withheld: false,
        }
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
        // Read back as plain YAML: the real clients (kube-rs, kubectl) read it in the binary's
        // and the integration tests.
        let parsed: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(parsed["current-context"], "ask/ask-sa@kind-dev");
        assert_eq!(parsed["contexts"][0]["context"]["namespace"], "ask");
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
}
