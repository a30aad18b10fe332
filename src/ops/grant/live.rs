//! What a grant finds before it writes anything: its namespaces as they are (each other
//! namespace read and judged too) and the live versions of its objects, so that a refusal
//! leaves nothing half made.

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

use super::refusals::Refusals;
use crate::cluster::{Cluster, WriteMode, is_forbidden, is_managed};
use crate::error::{Error, GrantError, Result};
use crate::ops::judge;
use crate::plan::GrantPlan;
use kscope_core::manifest::{self, Manifests, belongs_to};
use kscope_core::spec::GrantSpec;

/// A grant's namespace as it is: `None` when it does not exist (refused under a server dry
/// run, which cannot validate objects in a namespace that is not there), refused while it is
/// being deleted. A caller who may not read it (a tenant lead with only a RoleBinding) may
/// still grant inside it: kscope then takes it as existing and leaves it alone.
pub(super) async fn read_namespace(
    cluster: &Cluster,
    ns: &str,
    mode: WriteMode,
) -> Result<Option<Namespace>> {
    let existing = match cluster.get_cluster_scoped::<Namespace>(ns).await {
        Err(e) if is_forbidden(&e) => Some(Namespace::default()),
        other => other?,
    };
    if existing
        .as_ref()
        .is_some_and(|found| found.metadata.deletion_timestamp.is_some())
    {
        return Err(Error::from(GrantError::NamespaceTerminating {
            namespace: ns.to_string(),
        }));
    }
    if existing.is_none() && mode == WriteMode::ServerDryRun {
        return Err(Error::from(GrantError::NamespaceMissingForServerDryRun {
            namespace: ns.to_string(),
        }));
    }
    Ok(existing)
}

/// One of the grant's other namespaces, read and judged before any write.
pub(super) struct AlsoInNamespace {
    pub(super) namespace: String,
    pub(super) existing: Option<Namespace>,
    pub(super) judgement: judge::Judgement,
    pub(super) role: Option<Role>,
    pub(super) role_binding: Option<RoleBinding>,
}

pub(super) async fn also_in_namespace(
    cluster: &Cluster,
    plan: &GrantPlan,
    namespace: &kscope_core::names::NamespaceName,
    extra: &manifest::AlsoIn,
    rules: Option<&[k8s_openapi::api::rbac::v1::PolicyRule]>,
    mode: WriteMode,
) -> Result<AlsoInNamespace> {
    let ns = namespace.as_str();
    let existing = read_namespace(cluster, ns, mode).await?;
    let mut refusals = Refusals::default();
    let judged = judge::judge(
        cluster,
        &plan.spec.in_namespace(namespace),
        rules,
        plan.allow,
        existing.as_ref(),
        judge::Already {
            guard: None,
            cluster_bindings: None,
            seen: &mut judge::Seen::default(),
        },
    )
    .await;
    let judgement = refusals.note(judged)?;
    let name = extra.role_binding.metadata.name.clone().unwrap_or_default();
    let (role, role_binding) = match existing {
        Some(_) => (
            match extra.role {
                Some(_) => cluster.get::<Role>(ns, &name).await?,
                None => None,
            },
            cluster.get::<RoleBinding>(ns, &name).await?,
        ),
        None => (None, None),
    };
    let mut unmanaged = Vec::new();
    if role.as_ref().is_some_and(|r| !is_managed(&r.metadata)) {
        unmanaged.push(format!("Role {ns}/{name}"));
    }
    if role_binding
        .as_ref()
        .is_some_and(|r| !is_managed(&r.metadata))
    {
        unmanaged.push(format!("RoleBinding {ns}/{name}"));
    }
    if !unmanaged.is_empty() && !plan.adopt {
        refusals
            .0
            .push(GrantError::NotManaged { objects: unmanaged });
    }
    refusals.finish()?;
    let Some(judgement) = judgement else {
        return Err(Error::bug(
            "a namespace judged without refusal has no judgement",
        ));
    };
    Ok(AlsoInNamespace {
        namespace: ns.to_string(),
        existing,
        judgement,
        role,
        role_binding,
    })
}

/// The live versions of a grant's namespaced objects.
#[derive(Default)]
pub(super) struct LiveObjects {
    pub(super) service_account: Option<ServiceAccount>,
    pub(super) token_secret: Option<Secret>,
    pub(super) role: Option<Role>,
    pub(super) role_binding: Option<RoleBinding>,
    /// The grant's own Role, when its new access (a ClusterRole) no longer needs it.
    pub(super) stale_role: Option<Role>,
}

impl LiveObjects {
    /// "Kind namespace/name" of every live object that kscope does not manage.
    pub(super) fn unmanaged(&self) -> Vec<String> {
        let metas = [
            (
                "ServiceAccount",
                self.service_account.as_ref().map(|o| &o.metadata),
            ),
            ("Secret", self.token_secret.as_ref().map(|o| &o.metadata)),
            ("Role", self.role.as_ref().map(|o| &o.metadata)),
            (
                "RoleBinding",
                self.role_binding.as_ref().map(|o| &o.metadata),
            ),
        ];
        metas
            .into_iter()
            .filter_map(|(kind, meta)| meta.filter(|m| !is_managed(m)).map(|m| (kind, m)))
            .map(|(kind, m)| {
                let ns = m.namespace.as_deref().unwrap_or_default();
                let name = m.name.as_deref().unwrap_or_default();
                format!("{kind} {ns}/{name}")
            })
            .collect()
    }
}

pub(super) async fn live_objects(
    cluster: &Cluster,
    spec: &GrantSpec,
    manifests: &Manifests,
) -> Result<LiveObjects> {
    let ns = manifests
        .namespace
        .metadata
        .name
        .as_deref()
        .unwrap_or_default();
    let name = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.name.clone().unwrap_or_default()
    };
    // A grant that binds a ClusterRole may have had a Role of its own before (its access
    // changed, perhaps by a run that was interrupted): that Role is read so it can go. The
    // four reads are independent: made at once.
    let sa = spec.service_account.as_str();
    let roles = async {
        Ok::<_, Error>(match &manifests.role {
            Some(role) => (cluster.get::<Role>(ns, &name(&role.metadata)).await?, None),
            None => {
                let own = cluster.get::<Role>(ns, sa).await?;
                let grant = spec.grant_ref();
                (None, own.filter(|r| belongs_to(&r.metadata, &grant)))
            }
        })
    };
    let (account_name, secret_name, binding_name) = (
        name(&manifests.service_account.metadata),
        name(&manifests.token_secret.metadata),
        name(&manifests.role_binding.metadata),
    );
    let ((role, stale_role), service_account, token_secret, role_binding) = futures::try_join!(
        roles,
        cluster.get::<ServiceAccount>(ns, &account_name),
        cluster.get::<Secret>(ns, &secret_name),
        cluster.get::<RoleBinding>(ns, &binding_name),
    )?;
    Ok(LiveObjects {
        stale_role,
        service_account,
        token_secret,
        role,
        role_binding,
    })
}
