//! The revoke operation: find what kscope made for a grant, delete it token Secret first (that
//! kills the long-lived token and every expiring token bound to the Secret), then the
//! RoleBinding, the Role and the ServiceAccount; then prove the old token dead by presenting it
//! until the API server answers 401. Objects of the same names that kscope does not manage are
//! left and named. Returns data; prints nothing.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::cluster::is_managed;
use crate::credential::{prove_refused, secret_token};
use crate::domain::kubeconfig::Token;
use crate::domain::manifest::{Kind, ObjectResult, Outcome, belongs_to};
use crate::domain::spec::GrantRef;
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::plan::RevokePlan;
use crate::session::Session;
use crate::state;

/// One object of the grant's names, in the grant's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) kind: Kind,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl Target {
    /// `namespace/name`, as reports show it.
    pub(crate) fn shown(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
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
pub(crate) enum NamespaceFate {
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
pub(crate) struct Survey {
    pub(crate) grant: GrantRef,
    /// kscope's objects of the grant, in the order they are deleted.
    pub(crate) delete: Vec<Target>,
    /// Objects of the grant's names that kscope does not manage: left alone.
    pub(crate) keep: Vec<Target>,
    pub(crate) namespace: NamespaceFate,
    /// The long-lived token, to prove it refused afterwards.
    token: Option<Token>,
}

/// What a revocation did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    pub(crate) namespace: String,
    pub(crate) service_account: String,
    pub(crate) objects: Vec<ObjectResult>,
    pub(crate) left: Vec<Target>,
    pub(crate) namespace_fate: NamespaceFate,
    /// Seconds until the old token was refused (401); `None` when there was no token left to
    /// present (an earlier, interrupted revoke had already deleted its Secret).
    pub(crate) token_refused_after: Option<f64>,
}

/// Reads the grant's objects and decides what goes. A grant with nothing of kscope's left is
/// an error.
pub(crate) async fn survey(session: &Session, plan: &RevokePlan) -> Result<Survey> {
    let grant = &plan.grant;
    let cluster = &session.cluster;
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let secret_name = grant.service_account.token_secret();
    let (secret, binding, role, account) = futures::try_join!(
        cluster.get::<Secret>(ns, &secret_name),
        cluster.get::<RoleBinding>(ns, sa),
        cluster.get::<Role>(ns, sa),
        cluster.get::<ServiceAccount>(ns, sa),
    )?;
    let found: [(Kind, Option<&ObjectMeta>); 4] = [
        (Kind::Secret, secret.as_ref().map(|o| &o.metadata)),
        (Kind::RoleBinding, binding.as_ref().map(|o| &o.metadata)),
        (Kind::Role, role.as_ref().map(|o| &o.metadata)),
        (Kind::ServiceAccount, account.as_ref().map(|o| &o.metadata)),
    ];
    let (mut delete, mut keep) = (Vec::new(), Vec::new());
    for (kind, meta) in found {
        let Some(meta) = meta else { continue };
        let target = Target {
            kind,
            namespace: ns.to_string(),
            name: meta.name.clone().unwrap_or_default(),
        };
        if belongs_to(meta, grant) {
            delete.push(target);
        } else {
            keep.push(target);
        }
    }
    if delete.is_empty() {
        return Err(GrantError::NoSuchGrant {
            namespace: ns.to_string(),
            service_account: sa.to_string(),
        }
        .into());
    }
    let token = secret
        .as_ref()
        .filter(|s| belongs_to(&s.metadata, grant))
        .and_then(secret_token);
    let namespace = if !plan.delete_namespace {
        NamespaceFate::Kept
    } else {
        let created = cluster
            .get_cluster_scoped::<Namespace>(ns)
            .await?
            .is_some_and(|n| is_managed(&n.metadata));
        let others = cluster
            .grants(Some(ns))
            .await?
            .into_iter()
            .any(|(_, other)| other != sa);
        match (created, others, keep.is_empty()) {
            (false, _, _) => NamespaceFate::KeptNotCreatedByKscope,
            (true, true, _) => NamespaceFate::KeptOtherGrants,
            (true, false, false) => NamespaceFate::KeptUnmanagedObjects,
            (true, false, true) => NamespaceFate::Deleted,
        }
    };
    Ok(Survey {
        grant: grant.clone(),
        delete,
        keep,
        namespace,
        token,
    })
}

/// Deletes what the survey found, token Secret first, proves the old token refused, and
/// forgets the grant locally.
pub(crate) async fn execute(
    session: &Session,
    survey: &Survey,
    timeout: Duration,
) -> Result<Report> {
    let cluster = &session.cluster;
    let grant = &survey.grant;
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let mut objects = Vec::new();
    for target in &survey.delete {
        let name = target.name.as_str();
        let gone = match target.kind {
            Kind::Secret => cluster.delete::<Secret>(ns, name).await?,
            Kind::RoleBinding => cluster.delete::<RoleBinding>(ns, name).await?,
            Kind::Role => cluster.delete::<Role>(ns, name).await?,
            Kind::ServiceAccount => cluster.delete::<ServiceAccount>(ns, name).await?,
            Kind::Namespace
            | Kind::ValidatingAdmissionPolicy
            | Kind::ValidatingAdmissionPolicyBinding => {
                return Err(Error::bug(
                    "a revoke surveyed the Namespace as an object of the grant",
                ));
            }
        };
        objects.push(ObjectResult {
            kind: target.kind,
            name: target.shown(),
            result: if gone {
                Outcome::Deleted
            } else {
                Outcome::Gone
            },
        });
    }
    let token_refused_after = match &survey.token {
        Some(token) => {
            let spinner = session.progress.start(&format!(
                "waiting for the API server to refuse the old token of {ns}/{sa}"
            ));
            let waited = prove_refused(session, grant, token, timeout).await?;
            spinner.finish("the old token is refused (401)");
            Some(waited.as_secs_f64())
        }
        None => None,
    };
    if survey.namespace == NamespaceFate::Deleted {
        cluster.delete_namespace(ns).await?;
        objects.push(ObjectResult {
            kind: Kind::Namespace,
            name: ns.to_string(),
            result: Outcome::Deleted,
        });
    }
    // Best effort: a stale memory only means `kscope kubeconfig` names a revoked grant.
    let _ = state::forget(&session.caller.context, grant);
    Ok(Report {
        namespace: ns.to_string(),
        service_account: sa.to_string(),
        objects,
        left: survey.keep.clone(),
        namespace_fate: survey.namespace,
        token_refused_after,
    })
}
