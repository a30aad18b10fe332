//! The grant operation: check up front that the caller may make the grant, apply its objects
//! (server-side, field manager `kscope`), wait for the token by watching, and remember the
//! grant for this context. Returns what it did; prints nothing. `grant` and the wizard share it.

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding};

use crate::cluster::{Cluster, WriteMode, has_token, is_forbidden, is_managed};
use crate::error::GrantError;
use crate::error::{Error, Result};
use crate::ops::judge;
use k8s_openapi::NamespaceResourceScope;
use kube::Resource;

use crate::plan::GrantPlan;
use crate::session::Session;
use crate::state;
use kscope_core::manifest::{
    self, GrantObject, Kind, Manifests, ObjectResult, Outcome, belongs_to,
};
use kscope_core::rules::{self, Permission};
use kscope_core::spec::{GrantSpec, RoleSource};

use kscope_core::rules::RBAC_GROUP as RBAC;

/// What a grant did.
pub(crate) struct Granted {
    pub(crate) objects: Vec<ObjectResult>,
    /// The token Secret, filled in (absent under a server dry run).
    pub(crate) token_secret: Option<Secret>,
    /// Set when the grant could not be remembered locally (a warning, never a failure).
    pub(crate) not_remembered: Option<Error>,
    /// What containment has to say: a privileged namespace, a risk the flags accepted.
    pub(crate) notes: Vec<String>,
    /// A guard installed or changed that the plan left for its caller to prove in force
    /// (`apply` proves a whole set's guards after the set): what the role reaches.
    pub(crate) guard_unproven: Option<kscope_core::containment::Reach>,
    /// The grant's other namespaces (their guards are proven with the home one's).
    pub(crate) also_in: Vec<String>,
}

/// Applies a grant (or, with `WriteMode::ServerDryRun`, has the server validate it), waits for its
/// token and, unless a dry run, remembers it for this context.
pub(crate) async fn execute(
    session: &Session,
    plan: &GrantPlan,
    mode: WriteMode,
) -> Result<Granted> {
    let manifests = manifest::build(&plan.spec);
    let applied = apply(&session.cluster, plan, &manifests, mode).await?;
    let (objects, secret, notes) = (applied.objects, applied.secret, applied.notes);
    let token_secret = match (mode, secret) {
        (WriteMode::ServerDryRun, _) => None,
        (WriteMode::Apply, secret) if has_token(&secret) => Some(secret),
        (WriteMode::Apply, secret) => {
            let ns = plan.spec.namespace.as_str();
            let name = secret.metadata.name.clone().unwrap_or_default();
            let spinner = session.progress.start(&format!(
                "waiting for the token controller to fill in Secret {ns}/{name}"
            ));
            let filled = session.cluster.wait_for_token(secret, plan.timeout).await?;
            spinner.finish(&format!("token ready in Secret {ns}/{name}"));
            Some(filled)
        }
    };
    // A guard just installed or changed is proven in force before the grant is reported made.
    if mode == WriteMode::Apply && plan.prove_guard && applied.guard_changed {
        let spinner = session.progress.start(&format!(
            "waiting for kscope's guard to be in force in namespace {}",
            plan.spec.namespace
        ));
        judge::prove_guard(
            session,
            &plan.spec.grant_ref(),
            &also_in(&plan.spec),
            applied.reach,
        )
        .await?;
        spinner.finish("kscope's guard is in force (a write it protects was refused)");
    }
    let guard_unproven = (mode == WriteMode::Apply && !plan.prove_guard && applied.guard_changed)
        .then_some(applied.reach);
    let not_remembered = match mode {
        WriteMode::Apply if plan.remember => {
            state::remember(&session.caller.context, &plan.spec.grant_ref()).err()
        }
        _ => None,
    };
    Ok(Granted {
        objects,
        token_secret,
        not_remembered,
        notes,
        guard_unproven,
        also_in: also_in(&plan.spec),
    })
}

fn also_in(spec: &GrantSpec) -> Vec<String> {
    spec.also_in.iter().map(|n| n.to_string()).collect()
}

async fn apply(
    cluster: &Cluster,
    plan: &GrantPlan,
    manifests: &Manifests,
    mode: WriteMode,
) -> Result<Applied> {
    let spec = &plan.spec;
    let ns = spec.namespace.as_str();
    let existing = read_namespace(cluster, ns, mode).await?;
    // The role's rules, read once (a ClusterRole's from the server) for both checks below.
    let rules = judge::role_rules(cluster, &spec.role).await?;
    // Every refusal of the grant is found before any write and said at once: the caller's
    // permissions, containment in each namespace, objects kscope does not own.
    let mut refusals = Refusals::default();
    if plan.preflight {
        refusals.note(preflight(cluster, spec, rules.as_deref(), existing.is_none()).await)?;
    }
    let judged = judge::judge(
        cluster,
        spec,
        rules.as_deref(),
        plan.allow,
        existing.as_ref(),
    )
    .await;
    let judgement = refusals.note(judged)?;

    // Read what exists before writing anything, so that a refusal leaves nothing half made.
    // In a namespace that does not exist yet, nothing does.
    let live = match existing {
        Some(_) => refusals
            .note(live_objects(cluster, spec, manifests).await)?
            .unwrap_or_default(),
        None => LiveObjects::default(),
    };
    let unmanaged = live.unmanaged();
    if !unmanaged.is_empty() && !plan.adopt {
        refusals
            .0
            .push(GrantError::NotManaged { objects: unmanaged });
    }
    // The other namespaces, each read, judged and its objects read before anything is
    // written, as the home namespace is.
    let mut others = Vec::new();
    for (extra_ns, extra) in spec.also_in.iter().zip(&manifests.also_in) {
        let other = also_in_namespace(cluster, plan, extra_ns, extra, rules.as_deref(), mode).await;
        others.extend(refusals.note(other)?);
    }
    refusals.finish()?;
    let Some(judgement) = judgement else {
        return Err(Error::bug(
            "a grant judged without refusal has no judgement",
        ));
    };

    let mut applier = Applier {
        cluster,
        adopt: plan.adopt,
        mode,
        objects: Vec::new(),
    };
    // The namespace and its guard before the access (a tenant is never bound without its
    // guard); the binding before the ServiceAccount's record of the access, so that the record
    // never claims access that is not bound; the Secret last, once its account exists.
    applier
        .namespace_access(NamespaceObjects {
            namespace: ns,
            manifest: &manifests.namespace,
            existing: existing.as_ref(),
            judgement: &judgement,
            role: manifests.role.as_ref(),
            live_role: live.role.as_ref(),
            binding: &manifests.role_binding,
            live_binding: live.role_binding.as_ref(),
        })
        .await?;
    let live_sa = live.service_account.as_ref();
    applier.apply(&manifests.service_account, live_sa).await?;
    let secret = applier
        .apply(&manifests.token_secret, live.token_secret.as_ref())
        .await?;
    if let Some(stale) = &live.stale_role {
        applier.remove(stale).await?;
    }
    let mut notes = judgement.notes;
    for (other, extra) in others.iter().zip(&manifests.also_in) {
        applier
            .namespace_access(NamespaceObjects {
                namespace: &other.namespace,
                manifest: &extra.namespace,
                existing: other.existing.as_ref(),
                judgement: &other.judgement,
                role: extra.role.as_ref(),
                live_role: other.role.as_ref(),
                binding: &extra.role_binding,
                live_binding: other.role_binding.as_ref(),
            })
            .await?;
        notes.extend(other.judgement.notes.iter().cloned());
    }
    applier.drop_unlisted(spec).await?;
    let mut objects = applier.objects;
    objects.sort_by_key(|o| o.kind);
    let guard_changed = objects.iter().any(|o| {
        matches!(
            o.kind,
            Kind::ValidatingAdmissionPolicy | Kind::ValidatingAdmissionPolicyBinding
        ) && o.result != Outcome::Unchanged
    });
    Ok(Applied {
        objects,
        secret,
        notes,
        guard_changed,
        reach: judgement.reach,
    })
}

/// A grant's namespace as it is: `None` when it does not exist (refused under a server dry
/// run, which cannot validate objects in a namespace that is not there), refused while it is
/// being deleted. A caller who may not read it (a tenant lead with only a RoleBinding) may
/// still grant inside it: kscope then takes it as existing and leaves it alone.
async fn read_namespace(cluster: &Cluster, ns: &str, mode: WriteMode) -> Result<Option<Namespace>> {
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

/// The refusals of one grant, gathered across its checks so that all are said at once.
#[derive(Default)]
struct Refusals(Vec<GrantError>);

impl Refusals {
    /// A check's value, or `None` once its refusals are noted; any other error ends the grant.
    fn note<T>(&mut self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(Error::Grant(GrantError::Refused { reasons })) => {
                self.0.extend(reasons);
                Ok(None)
            }
            Err(Error::Grant(refusal)) if refusal.refuses_a_grant() => {
                self.0.push(refusal);
                Ok(None)
            }
            // Once the caller is refused for what it lacks, a read it may not make is one more
            // sign of the same: the refusals already say what to do.
            Err(other) if !self.0.is_empty() && is_forbidden(&other) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Nothing refused, or every refusal as one error.
    fn finish(self) -> Result<()> {
        match GrantError::refusal(self.0) {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        }
    }
}

/// One of the grant's other namespaces, read and judged before any write.
struct AlsoInNamespace {
    namespace: String,
    existing: Option<Namespace>,
    judgement: judge::Judgement,
    role: Option<Role>,
    role_binding: Option<RoleBinding>,
}

async fn also_in_namespace(
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

/// What applying a grant's objects did.
struct Applied {
    objects: Vec<ObjectResult>,
    secret: Secret,
    notes: Vec<String>,
    /// The guard was created or changed (so it may not be in force yet).
    guard_changed: bool,
    reach: kscope_core::containment::Reach,
}

/// What one namespace of a grant is given, beside what of it exists.
struct NamespaceObjects<'a> {
    namespace: &'a str,
    manifest: &'a Namespace,
    existing: Option<&'a Namespace>,
    judgement: &'a judge::Judgement,
    role: Option<&'a Role>,
    live_role: Option<&'a Role>,
    binding: &'a RoleBinding,
    live_binding: Option<&'a RoleBinding>,
}

/// Applies a grant's namespaced objects one by one, recording what happened to each.
struct Applier<'a> {
    cluster: &'a Cluster,
    adopt: bool,
    mode: WriteMode,
    objects: Vec<ObjectResult>,
}

impl Applier<'_> {
    /// One namespace of the grant, whichever it is (home or other): the Namespace (created
    /// only when missing), the guard when it needs one, the Role (for a template) and the
    /// RoleBinding.
    async fn namespace_access(&mut self, step: NamespaceObjects<'_>) -> Result<()> {
        let result = self
            .cluster
            .ensure_namespace(step.manifest, step.existing, self.mode)
            .await?;
        self.objects.push(ObjectResult {
            kind: Kind::Namespace,
            name: step.namespace.to_string(),
            result,
        });
        if step.judgement.guard {
            let guard = judge::install_guard(
                self.cluster,
                step.namespace,
                &step.judgement.live,
                self.mode,
            )
            .await?;
            self.objects.extend(guard);
        }
        if let Some(role) = step.role {
            self.apply(role, step.live_role).await?;
        }
        match step.live_binding {
            // A roleRef cannot change: replace the binding, as `kubectl auth reconcile` does.
            Some(current) if current.role_ref != step.binding.role_ref => {
                self.replace(step.binding).await
            }
            current => self.apply(step.binding, current).await.map(|_| ()),
        }
    }

    /// Namespaces the grant no longer lists lose its Role and RoleBinding there; the
    /// namespaces stay.
    async fn drop_unlisted(&mut self, spec: &GrantSpec) -> Result<()> {
        let selector = manifest::also_in_selector(&spec.grant_ref());
        let listed: Vec<&str> = spec.also_in.iter().map(|n| n.as_str()).collect();
        // A caller who may not list RoleBindings everywhere (a tenant lead with a RoleBinding)
        // has no other namespaces to clean up.
        let found = match self.cluster.list_labelled::<RoleBinding>(&selector).await {
            Err(e) if is_forbidden(&e) => Vec::new(),
            other => other?,
        };
        for stale in found {
            let ns = stale.metadata.namespace.clone().unwrap_or_default();
            if listed.contains(&ns.as_str()) || !is_managed(&stale.metadata) {
                continue;
            }
            let name = stale.metadata.name.clone().unwrap_or_default();
            if self.mode == WriteMode::Apply {
                self.cluster.delete::<RoleBinding>(&ns, &name).await?;
                self.cluster.delete::<Role>(&ns, &name).await?;
            }
            for kind in [Kind::RoleBinding, Kind::Role] {
                self.objects.push(ObjectResult {
                    kind,
                    name: format!("{ns}/{name}"),
                    result: Outcome::Deleted,
                });
            }
        }
        Ok(())
    }

    async fn apply<K>(&mut self, object: &K, live: Option<&K>) -> Result<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + GrantObject
            + Clone
            + std::fmt::Debug
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        let (applied, result) = self
            .cluster
            .apply(object, live, self.adopt, self.mode)
            .await?;
        self.record(object, result);
        Ok(applied)
    }

    fn record<K: Resource<DynamicType = ()> + GrantObject>(&mut self, object: &K, result: Outcome) {
        self.objects.push(ObjectResult {
            kind: K::KIND,
            name: format!(
                "{}/{}",
                object.meta().namespace.as_deref().unwrap_or_default(),
                object.meta().name.as_deref().unwrap_or_default()
            ),
            result,
        });
    }

    /// Deletes the live binding and makes it anew (under a server dry run, only reported: the
    /// server cannot validate a replacement without making it).
    async fn replace(&mut self, binding: &RoleBinding) -> Result<()> {
        let ns = binding.metadata.namespace.as_deref().unwrap_or_default();
        let name = binding.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<RoleBinding>(ns, name).await?;
            self.cluster
                .apply(binding, None, self.adopt, self.mode)
                .await?;
        }
        self.record(binding, Outcome::Replaced);
        Ok(())
    }

    /// Deletes a Role of the grant that its new access no longer needs.
    async fn remove(&mut self, role: &Role) -> Result<()> {
        let ns = role.metadata.namespace.as_deref().unwrap_or_default();
        let name = role.metadata.name.as_deref().unwrap_or_default();
        if self.mode == WriteMode::Apply {
            self.cluster.delete::<Role>(ns, name).await?;
        }
        self.record(role, Outcome::Deleted);
        Ok(())
    }
}

/// The live versions of a grant's namespaced objects.
#[derive(Default)]
struct LiveObjects {
    service_account: Option<ServiceAccount>,
    token_secret: Option<Secret>,
    role: Option<Role>,
    role_binding: Option<RoleBinding>,
    /// The grant's own Role, when its new access (a ClusterRole) no longer needs it.
    stale_role: Option<Role>,
}

impl LiveObjects {
    /// "Kind namespace/name" of every live object that kscope does not manage.
    fn unmanaged(&self) -> Vec<String> {
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

async fn live_objects(
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
    // changed, perhaps by a run that was interrupted): that Role is read so it can go.
    let sa = spec.service_account.as_str();
    let (role, stale_role) = match &manifests.role {
        Some(role) => (cluster.get::<Role>(ns, &name(&role.metadata)).await?, None),
        None => {
            let own = cluster.get::<Role>(ns, sa).await?;
            let grant = spec.grant_ref();
            (None, own.filter(|r| belongs_to(&r.metadata, &grant)))
        }
    };
    Ok(LiveObjects {
        stale_role,
        service_account: cluster
            .get(ns, &name(&manifests.service_account.metadata))
            .await?,
        token_secret: cluster
            .get(ns, &name(&manifests.token_secret.metadata))
            .await?,
        role,
        role_binding: cluster
            .get(ns, &name(&manifests.role_binding.metadata))
            .await?,
    })
}

/// Finds, before anything is created, what the caller lacks: the writes a grant makes, and
/// (RBAC escalation prevention) every permission the role would hand out. One
/// SelfSubjectRulesReview answers both; where its answer is incomplete (webhook authorizers),
/// the API server's own refusal is left to speak. `role_rules` are the rules the grant hands
/// out (`None`: a ClusterRole the caller may not read).
async fn preflight(
    cluster: &Cluster,
    spec: &GrantSpec,
    role_rules: Option<&[PolicyRule]>,
    create_namespace: bool,
) -> Result<()> {
    let ns = spec.namespace.as_str();
    let caller = cluster.caller_rules(ns).await?;
    let mut missing = Vec::new();
    if create_namespace {
        let question = (None, Permission::new("", "namespaces", "create"));
        let allowed = cluster.can_i(&[question]).await?;
        if !allowed.first().copied().unwrap_or(false) {
            missing.push("create on namespaces".to_string());
        }
    }
    if !caller.incomplete {
        let own = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let write = |group: &str, resources: &[&str]| PolicyRule {
            api_groups: own(&[group]),
            resources: own(resources),
            verbs: ["get", "create", "patch"].map(String::from).to_vec(),
            ..Default::default()
        };
        let mut writes = vec![write("", &["serviceaccounts", "secrets"])];
        let granted: Vec<PolicyRule> = match &spec.role {
            RoleSource::Template(template) => {
                writes.push(write(RBAC, &["roles", "rolebindings"]));
                let escalate = Permission::new(RBAC, "roles", "escalate");
                if rules::allows(&caller.rules, &escalate) {
                    Vec::new()
                } else {
                    template.rules.clone()
                }
            }
            RoleSource::ClusterRole(_) => {
                writes.push(write(RBAC, &["rolebindings"]));
                let bind = Permission::new(RBAC, "clusterroles", "bind");
                match role_rules {
                    Some(held) if !rules::allows(&caller.rules, &bind) => held
                        .iter()
                        .filter(|r| r.resources.as_ref().is_some_and(|r| !r.is_empty()))
                        .cloned()
                        .collect(),
                    // May bind anything, or may not read ClusterRoles (the server's own
                    // check will decide).
                    _ => Vec::new(),
                }
            }
        };
        missing.extend(rules::missing(&caller.rules, &writes));
        missing.extend(rules::missing(&caller.rules, &granted));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::from(GrantError::MissingPermissions { missing }))
    }
}
