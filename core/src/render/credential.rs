//! What kscope says about a credential it emits: an expiring token's real lifetime, and an
//! endpoint that skips TLS verification.

use crate::duration;
use crate::kubeconfig::Endpoint;
use crate::report::credential::Expiry;

/// What the API server made of an expiring token: when it ends, and whether it was shortened.
pub fn expiry_notes(expiry: &Expiry, now: i64) -> Vec<String> {
    let Some(expires) = expiry.expires_at else {
        return vec!["the token carries no expiry claim".into()];
    };
    let left = u64::try_from(expires - now).unwrap_or(0);
    let when = k8s_openapi::jiff::Timestamp::from_second(expires)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| expires.to_string());
    let mut notes = vec![format!(
        "the token expires at {when} (in {})",
        duration::format(left)
    )];
    if expiry.shortened() {
        notes.push(format!(
            "warning: the API server granted {} instead of the {} asked for (its --service-account-max-token-expiration); --strict-duration makes this an error",
            expiry.granted().map_or_else(|| "less".into(), duration::flag),
            duration::flag(expiry.requested)
        ));
    }
    notes
}

/// What a user must hear before trusting the kubeconfigs written for `endpoint`: they skip
/// TLS verification because the caller's own cluster entry does.
pub fn endpoint_warning(endpoint: &Endpoint) -> Option<String> {
    let mut said = Vec::new();
    if endpoint.insecure_skip_tls_verify {
        said.push(format!(
            "warning: cluster {} skips TLS verification (insecure-skip-tls-verify in your kubeconfig, and no CA is known), and so do the kubeconfigs kscope writes for it: anyone between them and the API server can take their token; give the cluster a certificate-authority instead",
            endpoint.cluster
        ));
    }
    if endpoint.proxy_withheld {
        said.push(format!(
            "warning: the proxy-url of cluster {} carries credentials (user:password@), which are yours: kscope leaves the proxy out of the tenant's kubeconfig; give the tenant a proxy of its own (set proxy-url in its kubeconfig)",
            endpoint.cluster
        ));
    }
    (!said.is_empty()).then(|| said.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_tls_verification_is_warned_of_by_cluster() {
        let mut endpoint = Endpoint {
            cluster: "kind-dev".into(),
            server: "https://127.0.0.1:6443".into(),
            ca_pem: None,
            insecure_skip_tls_verify: true,
            tls_server_name: None,
            proxy_url: None,
            proxy_withheld: false,
        };
        let warning = endpoint_warning(&endpoint).unwrap();
        assert!(
            warning.contains("cluster kind-dev skips TLS verification"),
            "{warning}"
        );
        endpoint.insecure_skip_tls_verify = false;
        assert_eq!(endpoint_warning(&endpoint), None);
    }

    #[test]
    fn a_shortened_token_is_said_with_the_lifetime_granted() {
        let expiry = Expiry {
            requested: std::time::Duration::from_secs(7200),
            expires_at: Some(1_000_000 + 3600),
            issued_at: 1_000_000,
        };
        assert!(expiry.shortened());
        let notes = expiry_notes(&expiry, 1_000_000);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].ends_with("(in 1h)"), "{notes:?}");
        assert!(
            notes[1].contains("granted 1h instead of the 2h asked for"),
            "{notes:?}"
        );
        let full = Expiry {
            expires_at: Some(1_000_000 + 7200),
            ..expiry
        };
        assert!(!full.shortened());
        assert_eq!(expiry_notes(&full, 1_000_000).len(), 1);
    }
}
