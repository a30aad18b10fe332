//! The ways the pure core refuses its input. Each variant's sentence (`Display`) and hint sit
//! together here; every one of them means exit 2: nothing was sent to the API server.

use std::path::PathBuf;

use crate::duration::MAX_TOKEN_SECONDS;
use crate::names::InvalidName;

/// Bad input found by the core: a name, a duration, a template.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("invalid {} name {}: it {}", .0.what, shown(&.0.value), .0.reason)]
    Name(InvalidName),

    #[error("invalid --cluster-role {value:?}: not a valid ClusterRole name")]
    ClusterRole { value: String },

    /// A flag whose value is not one kscope knows; `reason` follows "it".
    #[error("invalid {flag} {value:?}: it {reason}")]
    Flag {
        flag: &'static str,
        value: String,
        reason: String,
    },

    /// A duration flag that does not parse or is not positive; `reason` follows "it".
    #[error("invalid {flag} {value:?}: it {reason}")]
    Duration {
        flag: &'static str,
        value: String,
        reason: String,
    },

    /// A token lifetime outside what TokenRequest accepts; `flag` names where it was given.
    #[error("invalid {flag} {value:?}: {}", if *.too_long {
        format!("the API server accepts at most {MAX_TOKEN_SECONDS} seconds")
    } else {
        "tokens must live at least 10 minutes".to_string()
    })]
    TokenLifetime {
        flag: &'static str,
        value: String,
        too_long: bool,
    },

    #[error("bad {source_name}: {reason}")]
    BadTemplate { source_name: String, reason: String },

    #[error("template {template} lets the tenant step outside its grant: {rule}")]
    EscalatingTemplate { template: String, rule: String },

    /// `--cluster-role cluster-admin` without `--allow-escalation`.
    #[error("ClusterRole {name} lets the tenant step outside its grant: {rule}")]
    EscalatingClusterRole { name: String, rule: String },

    #[error(
        "namespace {namespace} holds the cluster's own identities; kscope does not hand it to a tenant"
    )]
    SystemNamespace { namespace: String },

    /// A template in the default directory that has a built-in's name.
    #[error("the template file {} is named {name}, like a built-in template", path.display())]
    ShadowingTemplate { name: String, path: PathBuf },

    #[error("unknown template {name:?}")]
    UnknownTemplate { name: String, known: Vec<String> },

    #[error("could not read the template directory {}: {source}", dir.display())]
    TemplateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not read the template file {}: {detail}", path.display())]
    TemplateFile { path: PathBuf, detail: String },
}

impl Invalid {
    /// A flag's value kscope does not know; `reason` follows "it".
    pub fn flag(flag: &'static str, value: String, reason: &str) -> Invalid {
        Invalid::Flag {
            flag,
            value,
            reason: reason.to_string(),
        }
    }

    /// The line under the sentence: what to do about it.
    pub fn hint(&self) -> String {
        match self {
            Invalid::Name(name) if name.what == "namespace" || name.what == "serviceaccount" => {
                "use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. team-a)".into()
            }
            Invalid::Name(_) => "check the name".into(),
            Invalid::ClusterRole { .. } => {
                "name an existing ClusterRole such as edit or view (kubectl get clusterroles)".into()
            }
            Invalid::Flag { flag, .. } => format!("see kscope grant --help for what {flag} takes; nothing was sent"),
            Invalid::Duration { flag, .. } if *flag != "--duration" => format!("e.g. {flag} 60s"),
            Invalid::Duration { .. } | Invalid::TokenLifetime { .. } => {
                "use a duration from 10m to 136y, such as --duration 24h".into()
            }
            Invalid::BadTemplate { .. } => {
                "a template has name, description and rules (see templates/ in the kscope repository)".into()
            }
            Invalid::UnknownTemplate { known, .. } => format!(
                "choose one of {} (kscope templates lists them), or give a file path",
                known.join(", ")
            ),
            Invalid::EscalatingTemplate { .. } => "remove that rule, or pass --allow-escalation if the tenant is meant to hold it; nothing was sent".into(),
            Invalid::EscalatingClusterRole { .. } => "bind a narrower ClusterRole (edit, view, admin), or pass --allow-escalation if the tenant is meant to hold it; nothing was sent".into(),
            Invalid::SystemNamespace { .. } => "grant in a namespace of the tenant's own, or pass --allow-system-namespace if that is really meant; nothing was sent".into(),
            Invalid::ShadowingTemplate { .. } => "rename it, or give its directory with --template-dir to replace the built-in on purpose".into(),
            Invalid::TemplateDir { .. } => "check --template-dir and its permissions".into(),
            Invalid::TemplateFile { .. } => "check the path given to --template".into(),
        }
    }

    /// The same refusal of a value that came from a file field instead of a flag (a TenantSet's
    /// `kubeconfig.duration`, say): the sentence names the field.
    pub fn for_field(self, field: &'static str) -> Invalid {
        match self {
            Invalid::Duration { value, reason, .. } => Invalid::Duration {
                flag: field,
                value,
                reason,
            },
            Invalid::TokenLifetime {
                value, too_long, ..
            } => Invalid::TokenLifetime {
                flag: field,
                value,
                too_long,
            },
            other => other,
        }
    }
}

impl From<InvalidName> for Invalid {
    fn from(name: InvalidName) -> Self {
        if name.what == "--cluster-role" {
            Invalid::ClusterRole { value: name.value }
        } else {
            Invalid::Name(name)
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

/// A pure renderer failed to serialize what it built (a bug: its input is kscope's own).
#[derive(Debug, thiserror::Error)]
#[error("could not render {what}: {detail}")]
pub struct Unrenderable {
    pub what: &'static str,
    pub detail: String,
}
