//! Applying a grant's objects one by one, recording what happened to each: every namespace
//! of the grant (home or other) gets its Namespace, guard, Role and RoleBinding the same way;
//! a namespace the grant no longer lists loses its Role and RoleBinding.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Resource;

use crate::cluster::{Cluster, Namespaced, WriteMode, is_forbidden, is_managed};
use crate::error::Result;
use crate::ops::judge;
use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kscope_core::manifest::{
    Bounds, GrantObject, Kind, LIMITS_NAME, NETWORK_POLICY_NAME, ObjectResult, Outcome, QUOTA_NAME,
};

/// What one namespace of a grant is given, beside what of it exists.
pub(super) struct NamespaceObjects<'a> {
    pub(super) namespace: &'a str,
    pub(super) manifest: &'a Namespace,
    pub(super) existing: Option<&'a Namespace>,
    pub(super) judgement: &'a judge::Judgement,
    pub(super) role: Option<&'a Role>,
    pub(super) live_role: Option<&'a Role>,
    pub(super) binding: &'a RoleBinding,
    pub(super) live_binding: Option<&'a RoleBinding>,
    /// kscope's ResourceQuota, LimitRange and NetworkPolicy for this namespace.
    pub(super) bounds: &'a Bounds,
    /// The namespace's quotas, limit ranges and network policies as an earlier tenant of the
    /// set left them (`None`: read them, in a namespace that exists).
    pub(super) known_bounds: Option<&'a BoundsLists>,
}

/// A namespace's ResourceQuotas, LimitRanges and NetworkPolicies, kscope's as it wrote them.
#[derive(Clone, Default)]
pub(crate) struct BoundsLists {
    quotas: Vec<ResourceQuota>,
    limits: Vec<LimitRange>,
    policies: Vec<NetworkPolicy>,
}

/// What [`Applier::access`] did in one namespace: each object's result, the notes to tell, and
/// the namespace's bounds as they now are (`None` when they could not be read).
pub(super) type Access = (Vec<ObjectResult>, Vec<String>, Option<BoundsLists>);

/// Applies a grant's namespaced objects one by one, recording what happened to each.
pub(super) struct Applier<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) adopt: bool,
    pub(super) mode: WriteMode,
    pub(super) objects: Vec<ObjectResult>,
    /// The guard is one per cluster: installed (when it needs to be) before the first
    /// namespace that needs it, once.
    pub(super) guard_checked: bool,
    /// What to tell the user (an admin's own quota kept, say).
    pub(super) notes: Vec<String>,
}

impl Applier<'_> {
    /// One namespace of the grant, whichever it is (home or other): the namespace under its
    /// guard, then its access.
    pub(super) async fn namespace_access(&mut self, step: NamespaceObjects<'_>) -> Result<()> {
        self.namespace(&step).await?;
        let (results, notes, _) = self.access(&step, false).await?;
        self.objects.extend(results);
        self.notes.extend(notes);
        Ok(())
    }

    /// The guard when the namespace needs one and it is not in the cluster yet, then the
    /// Namespace (created when missing, an existing one given kscope's tenant labels).
    /// Returns the Namespace as it now is.
    pub(super) async fn namespace(&mut self, step: &NamespaceObjects<'_>) -> Result<Namespace> {
        if step.judgement.guard && !self.guard_checked {
            self.guard_checked = true;
            let guard = judge::install_guard(self.cluster, &step.judgement.live, self.mode).await?;
            self.objects.extend(guard);
        }
        let (result, now) = self
            .cluster
            .ensure_namespace(
                step.manifest,
                step.existing,
                step.judgement.guard,
                self.mode,
            )
            .await?;
        self.objects.push(ObjectResult {
            kind: Kind::Namespace,
            name: step.namespace.to_string(),
            result,
        });
        if result == Outcome::Labelled {
            self.notes.push(format!(
                "namespace {} existed: kscope labelled it {}=true, so that kscope's guard applies there (revoke leaves the label while any kscope grant lives there)",
                step.namespace,
                kscope_core::manifest::TENANT_LABEL
            ));
        }
        Ok(now)
    }

    /// The access of a namespace that exists: kscope's bounds of it, the Role (for a template)
    /// and the RoleBinding, with what happened to each and the notes to tell. The bounds and
    /// the Role depend on nothing but the namespace and are applied at once; the binding
    /// follows its Role, or goes with it when `bind_at_once` (the caller may bind the Role, so
    /// the server does not look the Role up).
    pub(super) async fn access(
        &self,
        step: &NamespaceObjects<'_>,
        bind_at_once: bool,
    ) -> Result<Access> {
        let (cluster, adopt, mode) = (self.cluster, self.adopt, self.mode);
        let role = step.role.map(|role| (role, step.live_role));
        let binding = async {
            match step.live_binding {
                // A roleRef cannot change: replace the binding, as `kubectl auth reconcile` does.
                Some(current) if current.role_ref != step.binding.role_ref => {
                    self.replace(step.binding).await
                }
                current => {
                    let (_, outcome) = cluster.apply(step.binding, current, adopt, mode).await?;
                    Ok(outcome)
                }
            }
        };
        let role_and_binding = async {
            match bind_at_once {
                true => futures::try_join!(apply_some(cluster, role, adopt, mode), binding),
                false => {
                    let role_done = apply_some(cluster, role, adopt, mode).await?;
                    Ok((role_done, binding.await?))
                }
            }
        };
        let ((mut results, notes, lists), (role_done, bound)) =
            futures::try_join!(self.bounds(step), role_and_binding,)?;
        if let Some((role, outcome, _)) = role_done {
            results.push(result_of(role, outcome));
        }
        results.push(result_of(step.binding, bound));
        Ok((results, notes, lists))
    }

    /// kscope's ResourceQuota, LimitRange and NetworkPolicy in one namespace of the grant. In
    /// an existing namespace they are read first (one list each): an admin's own quota or limit
    /// range is kept and kscope adds none beside it, said in a note.
    async fn bounds(&self, step: &NamespaceObjects<'_>) -> Result<Access> {
        let (namespace, bounds) = (step.namespace, step.bounds);
        let mut notes = Vec::new();
        let mut lists = match (step.known_bounds, step.existing) {
            (Some(known), _) => known.clone(),
            (None, None) => BoundsLists::default(),
            (None, Some(_)) => {
                let read = futures::try_join!(
                    self.cluster.list_in::<ResourceQuota>(namespace),
                    self.cluster.list_in::<LimitRange>(namespace),
                    self.cluster.list_in::<NetworkPolicy>(namespace),
                );
                match read {
                    Ok((quotas, limits, policies)) => BoundsLists {
                        quotas,
                        limits,
                        policies,
                    },
                    // A caller who may not read them may not write kscope's either: the grant
                    // goes on without them, said plainly (check shows them missing).
                    Err(e) if is_forbidden(&e) => {
                        notes.push(format!(
                            "warning: kscope could not read the quotas and network policies of namespace {namespace} (forbidden), and gave it none of its own"
                        ));
                        return Ok((Vec::new(), notes, None));
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let (quotas, limits, policies) = (&lists.quotas, &lists.limits, &lists.policies);
        // Which of kscope's to apply (none beside an admin's own), each against its live version.
        let mut quota = None;
        if let Some(wanted) = &bounds.quota {
            match others_own(quotas, QUOTA_NAME) {
                Some(theirs) => notes.push(format!(
                    "namespace {namespace} keeps its own ResourceQuota {theirs}: kscope adds none beside it"
                )),
                None => quota = Some((wanted, quotas.iter().find(|q| named(&q.metadata, QUOTA_NAME)))),
            }
        }
        let mut limit_range = None;
        if let Some(wanted) = &bounds.limits {
            match others_own(limits, LIMITS_NAME) {
                Some(theirs) => notes.push(format!(
                    "namespace {namespace} keeps its own LimitRange {theirs}: kscope adds none beside it"
                )),
                None => {
                    limit_range =
                        Some((wanted, limits.iter().find(|l| named(&l.metadata, LIMITS_NAME))))
                }
            }
        }
        let policy = bounds.network.as_ref().map(|wanted| {
            let live = policies
                .iter()
                .find(|p| named(&p.metadata, NETWORK_POLICY_NAME));
            (wanted, live)
        });
        // The three are independent of each other: applied at once.
        let (cluster, adopt, mode) = (self.cluster, self.adopt, self.mode);
        let (quota_done, limits_done, policy_done) = futures::try_join!(
            apply_some(cluster, quota, adopt, mode),
            apply_some(cluster, limit_range, adopt, mode),
            apply_some(cluster, policy, adopt, mode),
        )?;
        let results = [
            quota_done.as_ref().map(|(o, r, _)| result_of(*o, *r)),
            limits_done.as_ref().map(|(o, r, _)| result_of(*o, *r)),
            policy_done.as_ref().map(|(o, r, _)| result_of(*o, *r)),
        ];
        let results = results.into_iter().flatten().collect();
        // The lists as they now are, for the set's next tenant in this namespace.
        if let Some((_, _, now)) = &quota_done {
            judge::upsert(&mut lists.quotas, now);
        }
        if let Some((_, _, now)) = &limits_done {
            judge::upsert(&mut lists.limits, now);
        }
        if let Some((_, _, now)) = &policy_done {
            judge::upsert(&mut lists.policies, now);
        }
        Ok((results, notes, Some(lists)))
    }

    /// Deletes the live binding and makes it anew (under a server dry run, only reported: the
    /// server cannot validate a replacement without making it).
    async fn replace(&self, binding: &RoleBinding) -> Result<Outcome> {
        let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
        let name = binding.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<RoleBinding>(ns, name).await?;
            self.cluster
                .apply(binding, None, self.adopt, self.mode)
                .await?;
        }
        Ok(Outcome::Replaced)
    }

    /// Deletes a Role of the grant that its new access no longer needs.
    pub(super) async fn remove(&mut self, role: &Role) -> Result<()> {
        let ns = role.metadata.namespace.as_deref().unwrap_or_default();
        let name = role.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<Role>(ns, name).await?;
        }
        self.objects.push(result_of(role, Outcome::Deleted));
        Ok(())
    }
}

fn named(meta: &ObjectMeta, name: &str) -> bool {
    meta.name.as_deref() == Some(name)
}

/// The name of an object of the list that is not kscope's (`ours` by name, made by kscope).
fn others_own<K: Resource<DynamicType = ()>>(objects: &[K], ours: &str) -> Option<String> {
    objects
        .iter()
        .find(|o| !(named(o.meta(), ours) && is_managed(o.meta())))
        .and_then(|o| o.meta().name.clone())
}

/// Server-side apply of `wanted` (against its live version) when there is one to apply: the
/// object, what happened, and the object as the server now has it.
async fn apply_some<'a, K>(
    cluster: &Cluster,
    wanted: Option<(&'a K, Option<&K>)>,
    adopt: bool,
    mode: WriteMode,
) -> Result<Option<(&'a K, Outcome, K)>>
where
    K: Written,
{
    match wanted {
        Some((object, live)) => {
            let (now, outcome) = cluster.apply(object, live, adopt, mode).await?;
            Ok(Some((object, outcome, now)))
        }
        None => Ok(None),
    }
}

/// What happened to one object of the grant, as reported.
pub(super) fn result_of<K: Resource<DynamicType = ()> + GrantObject>(
    object: &K,
    result: Outcome,
) -> ObjectResult {
    ObjectResult {
        kind: K::KIND,
        name: format!(
            "{}/{}",
            object.meta().namespace.as_deref().unwrap_or_default(),
            object.meta().name.as_deref().unwrap_or_default()
        ),
        result,
    }
}

/// Namespaces the grant no longer lists lose its Role and RoleBinding there (those
/// [`unlisted`] finds); the namespaces stay.
pub(super) async fn drop_unlisted(
    cluster: &Cluster,
    mode: WriteMode,
    stale: impl std::future::Future<Output = Result<Vec<RoleBinding>>>,
) -> Result<Vec<ObjectResult>> {
    let mut objects = Vec::new();
    for stale in stale.await? {
        let ns = stale.metadata.namespace.clone().unwrap_or_default();
        let name = stale.metadata.name.clone().unwrap_or_default();
        if mode == WriteMode::Apply {
            cluster.delete::<RoleBinding>(&ns, &name).await?;
            cluster.delete::<Role>(&ns, &name).await?;
        }
        for kind in [Kind::RoleBinding, Kind::Role] {
            objects.push(ObjectResult {
                kind,
                name: format!("{ns}/{name}"),
                result: Outcome::Deleted,
            });
        }
    }
    Ok(objects)
}

/// A namespaced object of a grant that kscope writes by server-side apply.
pub(super) trait Written: Namespaced + GrantObject + serde::Serialize {}
impl<K: Namespaced + GrantObject + serde::Serialize> Written for K {}
