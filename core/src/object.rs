//! The Kubernetes objects kscope names in its reports, typed: their kind (with its API
//! version) and a reference to one object. Reports build references from the objects they
//! read; nothing is formatted as text and parsed back.

use std::fmt;

use serde::Serialize;

/// The kinds of object kscope makes or reports on. A grant's own kinds come first, in the
/// order a grant reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    Namespace,
    ServiceAccount,
    Secret,
    Role,
    RoleBinding,
    /// kscope's share of the cluster for a grant's namespace.
    ResourceQuota,
    /// kscope's defaults for containers without requests and limits.
    LimitRange,
    /// kscope's isolation of a grant's namespace.
    NetworkPolicy,
    /// A Service (the audit reports those that reach outside a tenant namespace).
    Service,
    /// kscope's guard (cluster-scoped).
    ValidatingAdmissionPolicy,
    /// The guard's binding for one tenant namespace (cluster-scoped).
    ValidatingAdmissionPolicyBinding,
    ClusterRole,
    ClusterRoleBinding,
}

impl Kind {
    /// Every kind, for parsing.
    pub const ALL: [Kind; 13] = [
        Kind::Namespace,
        Kind::ServiceAccount,
        Kind::Secret,
        Kind::Role,
        Kind::RoleBinding,
        Kind::ResourceQuota,
        Kind::LimitRange,
        Kind::NetworkPolicy,
        Kind::Service,
        Kind::ValidatingAdmissionPolicy,
        Kind::ValidatingAdmissionPolicyBinding,
        Kind::ClusterRole,
        Kind::ClusterRoleBinding,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Secret => "Secret",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::ResourceQuota => "ResourceQuota",
            Kind::LimitRange => "LimitRange",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::Service => "Service",
            Kind::ValidatingAdmissionPolicy => "ValidatingAdmissionPolicy",
            Kind::ValidatingAdmissionPolicyBinding => "ValidatingAdmissionPolicyBinding",
            Kind::ClusterRole => "ClusterRole",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
        }
    }

    /// The kind named `name` (as Kubernetes spells it), if kscope knows it.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Namespace
            | Kind::ServiceAccount
            | Kind::Secret
            | Kind::ResourceQuota
            | Kind::LimitRange
            | Kind::Service => "v1",
            Kind::NetworkPolicy => "networking.k8s.io/v1",
            Kind::Role | Kind::RoleBinding | Kind::ClusterRole | Kind::ClusterRoleBinding => {
                "rbac.authorization.k8s.io/v1"
            }
            Kind::ValidatingAdmissionPolicy | Kind::ValidatingAdmissionPolicyBinding => {
                "admissionregistration.k8s.io/v1"
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Kubernetes object: its kind, its namespace (none at cluster scope) and its name.
/// Serialized as Kubernetes references are: `{apiVersion, kind, namespace?, name}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// A namespaced object.
    pub fn namespaced(kind: Kind, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    /// A cluster-scoped object.
    pub fn cluster_scoped(kind: Kind, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: None,
            name: name.to_string(),
        }
    }
}

/// `Kind namespace/name` (or `Kind name` at cluster scope), as kscope shows objects.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl Serialize for ObjectRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = if self.namespace.is_some() { 4 } else { 3 };
        let mut out = s.serialize_struct("ObjectRef", fields)?;
        out.serialize_field("apiVersion", self.kind.api_version())?;
        out.serialize_field("kind", self.kind.as_str())?;
        if let Some(ns) = &self.namespace {
            out.serialize_field("namespace", ns)?;
        }
        out.serialize_field("name", &self.name)?;
        out.end()
    }
}

/// The role a binding binds (its roleRef): a Role of the binding's namespace or a
/// ClusterRole, by name. Shown as `Role/<name>` or `ClusterRole/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BoundRole {
    Role(String),
    ClusterRole(String),
    /// A roleRef kind that RBAC does not have (a conforming API server refuses one): data
    /// from the cluster, kept as read.
    Other {
        kind: String,
        name: String,
    },
}

impl BoundRole {
    /// What a binding's roleRef names.
    pub fn of(role_ref: &k8s_openapi::api::rbac::v1::RoleRef) -> BoundRole {
        let name = role_ref.name.clone();
        match role_ref.kind.as_str() {
            "Role" => BoundRole::Role(name),
            "ClusterRole" => BoundRole::ClusterRole(name),
            other => BoundRole::Other {
                kind: crate::text::printable(other),
                name,
            },
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            BoundRole::Role(_) => "Role",
            BoundRole::ClusterRole(_) => "ClusterRole",
            BoundRole::Other { kind, .. } => kind,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            BoundRole::Role(name) | BoundRole::ClusterRole(name) => name,
            BoundRole::Other { name, .. } => name,
        }
    }
}

impl fmt::Display for BoundRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind(), self.name())
    }
}

impl Serialize for BoundRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back_and_references_print_and_serialize_as_kubernetes_does() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("Pod"), None);
        let secret = ObjectRef::namespaced(Kind::Secret, "ops", "t");
        assert_eq!(secret.to_string(), "Secret ops/t");
        let binding = ObjectRef::cluster_scoped(Kind::ClusterRoleBinding, "b");
        assert_eq!(binding.to_string(), "ClusterRoleBinding b");
        assert_eq!(
            serde_json::to_value(&binding).unwrap(),
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "name": "b"})
        );
        assert_eq!(
            serde_json::to_value(&secret).unwrap()["namespace"],
            serde_json::json!("ops")
        );
        let role_ref = |kind: &str| k8s_openapi::api::rbac::v1::RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: kind.into(),
            name: "edit".into(),
        };
        assert_eq!(
            BoundRole::of(&role_ref("ClusterRole")),
            BoundRole::ClusterRole("edit".into())
        );
        assert_eq!(BoundRole::of(&role_ref("Role")).to_string(), "Role/edit");
        let odd = BoundRole::of(&role_ref("Group"));
        assert_ne!(odd, BoundRole::ClusterRole("edit".into()));
        assert_eq!(
            serde_json::to_value(&odd).unwrap(),
            serde_json::json!("Group/edit")
        );
    }
}
