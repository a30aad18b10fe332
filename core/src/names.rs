//! Names that Kubernetes constrains: namespaces (DNS-1123 labels), ServiceAccounts (DNS-1123
//! subdomains, and at most 63 characters because kscope puts them in a label) and ClusterRole
//! names. Depends on nothing else in kscope; a failure is an [`InvalidName`] whose sentence
//! lives in `error.rs`.

use std::fmt;

/// kscope records the ServiceAccount name in a label, whose values stop at 63 characters.
pub const MAX_SERVICE_ACCOUNT_LEN: usize = 63;

/// A name that was refused: what it names, the value, and why (a clause after "it").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub what: &'static str,
    pub value: String,
    pub reason: String,
}

/// A namespace name: an RFC 1123 DNS label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespaceName(String);

/// A ServiceAccount name: an RFC 1123 DNS subdomain of at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAccountName(String);

fn refused(what: &'static str, value: &str, reason: String) -> InvalidName {
    InvalidName {
        what,
        value: value.to_string(),
        reason,
    }
}

impl NamespaceName {
    pub fn parse(value: &str) -> Result<Self, InvalidName> {
        dns1123_label(value)
            .map(|()| NamespaceName(value.to_string()))
            .map_err(|reason| refused("namespace", value, reason))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ServiceAccountName {
    pub fn parse(value: &str) -> Result<Self, InvalidName> {
        let checked = dns1123_subdomain(value).and_then(|()| {
            if value.len() > MAX_SERVICE_ACCOUNT_LEN {
                Err(format!(
                    "is {} characters long; kscope allows at most {MAX_SERVICE_ACCOUNT_LEN} because it records \
                     the name in the kscope.dev/grant label",
                    value.len()
                ))
            } else {
                Ok(())
            }
        });
        checked
            .map(|()| ServiceAccountName(value.to_string()))
            .map_err(|reason| refused("serviceaccount", value, reason))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The name of the long-lived token Secret of this grant.
    pub fn token_secret(&self) -> String {
        token_secret_name(&self.0)
    }
}

impl fmt::Display for NamespaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ServiceAccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of the long-lived token Secret kscope makes for ServiceAccount `service_account`.
pub fn token_secret_name(service_account: &str) -> String {
    format!("{service_account}-token")
}

/// A ClusterRole name as the API accepts it in a path segment (`system:` names included).
pub fn cluster_role(value: &str) -> Result<String, InvalidName> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && !value.contains('/')
        && !value.contains('%')
        && value != "."
        && value != ".."
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(value.to_string())
    } else {
        Err(refused(
            "--cluster-role",
            value,
            "is not a valid ClusterRole name".into(),
        ))
    }
}

/// RFC 1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric. Returns why not.
pub fn dns1123_label(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 63 {
        return Err(format!(
            "is {} characters long; the limit is 63",
            value.len()
        ));
    }
    label_characters(value, false)
}

/// RFC 1123 subdomain: at most 253 characters, dot-separated labels.
pub fn dns1123_subdomain(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 253 {
        return Err(format!(
            "is {} characters long; the limit is 253",
            value.len()
        ));
    }
    label_characters(value, true)
}

fn label_characters(value: &str, dots: bool) -> Result<(), String> {
    if let Some(c) = value.chars().find(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "contains the uppercase letter '{c}'; names must be lowercase"
        ));
    }
    if let Some(c) = value.chars().find(|&c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.'))
    }) {
        return Err(format!("contains '{c}', which is not allowed"));
    }
    let pieces: Vec<&str> = if dots {
        value.split('.').collect()
    } else {
        vec![value]
    };
    for piece in pieces {
        match (piece.chars().next(), piece.chars().last()) {
            (None, _) => return Err("has an empty part between dots".into()),
            (Some(f), Some(l)) if !f.is_ascii_alphanumeric() || !l.is_ascii_alphanumeric() => {
                return Err("must start and end with a letter or digit".into());
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_follow_dns1123_labels() {
        for good in ["a", "ask", "team-a", "a1", "1a", &"a".repeat(63)] {
            assert!(NamespaceName::parse(good).is_ok(), "{good}");
        }
        let cases = [
            ("", "is empty"),
            ("Ask", "uppercase letter 'A'"),
            ("a_b", "contains '_'"),
            ("-a", "start and end"),
            ("a-", "start and end"),
            ("a.b", "contains '.'"),
            ("a b", "contains ' '"),
        ];
        for (bad, why) in cases {
            let e = NamespaceName::parse(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad}: {e:?}");
            assert_eq!(e.what, "namespace");
        }
        let long = "a".repeat(64);
        assert!(
            NamespaceName::parse(&long)
                .unwrap_err()
                .reason
                .contains("64 characters")
        );
    }

    #[test]
    fn service_account_names_are_subdomains_of_at_most_63() {
        assert!(ServiceAccountName::parse("ci.deployer").is_ok());
        assert!(ServiceAccountName::parse(&"a".repeat(63)).is_ok());
        let reason = |v: &str| ServiceAccountName::parse(v).unwrap_err().reason;
        assert!(reason("a..b").contains("empty part"));
        assert!(reason(&"a".repeat(64)).contains("label"));
        assert!(reason(&"a".repeat(254)).contains("253"));
        assert_eq!(
            ServiceAccountName::parse("ask-sa").unwrap().token_secret(),
            "ask-sa-token"
        );
    }

    #[test]
    fn cluster_role_names_allow_system_paths_but_not_slashes() {
        assert_eq!(
            cluster_role("system:aggregate-to-view").unwrap(),
            "system:aggregate-to-view"
        );
        for bad in ["", "a/b", "..", "a b", "a%2f"] {
            assert!(cluster_role(bad).is_err(), "{bad:?}");
        }
    }
}
