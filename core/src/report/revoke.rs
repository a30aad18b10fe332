//! `revoke`'s report: what a revocation will do (read before anything is deleted) and what
//! it did, with the API server's proof that the grant's tokens are refused.

use serde::Serialize;

use crate::kubeconfig::Token;
use crate::leftovers::Leftover;
use crate::manifest::{Kind, ObjectResult};
use crate::spec::GrantRef;

/// One object of the grant's names, in the grant's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl Target {
    /// `namespace/name`, as reports show it.
    pub fn shown(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `Kind namespace/name`.
    pub fn described(&self) -> String {
        format!("{} {}", self.kind, self.shown())
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Target", 2)?;
        out.serialize_field("kind", &self.kind)?;
        out.serialize_field("name", &self.shown())?;
        out.end()
    }
}

/// What happens to the grant's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NamespaceFate {
    /// Not asked to delete it.
    Kept,
    /// `--delete-namespace`, and kscope created it: deleted.
    Deleted,
    /// `--delete-namespace`, but kscope did not create it.
    KeptNotCreatedByKscope,
    /// `--delete-namespace`, but other kscope grants live in it.
    KeptOtherGrants,
    /// `--delete-namespace`, but it holds objects of the grant's names that are not kscope's.
    KeptUnmanagedObjects,
}

/// What a revocation will do, read before anything is deleted.
pub struct Survey {
    pub grant: GrantRef,
    /// kscope's objects of the grant, in the order they are deleted.
    pub delete: Vec<Target>,
    /// Objects of the grant's names that kscope does not manage: left alone.
    pub keep: Vec<Target>,
    pub namespace: NamespaceFate,
    /// The long-lived token, to prove it refused afterwards.
    pub token: Option<Token>,
    /// What the tenant made in the grant's namespaces during the grant (not kscope's), with
    /// what the API server said each may still do.
    pub tenant_made: Vec<Leftover>,
    /// `--purge`: delete `tenant_made` too.
    pub purge: bool,
}

impl Survey {
    /// Whether the ServiceAccount itself is not kscope's and survives the revocation.
    pub fn account_survives(&self) -> bool {
        self.keep.iter().any(|t| t.kind == Kind::ServiceAccount)
    }
}

/// What a revocation did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    pub namespace: String,
    pub service_account: String,
    pub objects: Vec<ObjectResult>,
    pub left: Vec<Target>,
    pub namespace_fate: NamespaceFate,
    /// Seconds until the old token was refused (401); `None` when there was no token left to
    /// present (an earlier, interrupted revoke had already deleted its Secret).
    pub token_refused_after: Option<f64>,
    /// Seconds until a token minted for the ServiceAccount just before the revoke was refused
    /// (401): what every token issued for it before (self-minted, `--duration`) now gets.
    /// `None` when the ServiceAccount was already gone, or (with `account_deleted`) the caller
    /// may not create `serviceaccounts/token`, so no token could be minted to prove it.
    pub every_token_refused_after: Option<f64>,
    /// The ServiceAccount was deleted by this revoke (not already gone).
    pub account_deleted: bool,
    /// What the tenant made during the grant, asked about again after the revoke (or purged,
    /// and proven refused).
    pub tenant_made: Vec<Leftover>,
    /// Seconds until `--purge`'s proof held (each purged ServiceAccount's token refused, and
    /// no identity holding access).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_refused_after: Option<f64>,
}
