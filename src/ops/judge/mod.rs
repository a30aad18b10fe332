//! Containment at the cluster, for `grant` (before any write) and `check` (as the
//! ServiceAccount): the role's real rules and what they reach; whether an existing namespace
//! admits a node-escaping pod (asked as a dry run, so that every admission mechanism counts);
//! the ServiceAccounts of a namespace that hold more than a grant; and the guard, installed
//! before the grant's access is bound. Returns data; prints nothing.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding};

use crate::cluster::{Admission, Cluster, is_forbidden};
use crate::error::{Error, GrantError, Result};
use kscope_core::access::node_escaping_pod;
use kscope_core::containment::{Reach, cluster_role_escalations};
use kscope_core::rules::Permission;
use kscope_core::spec::{
    Allowances, Enforced, GrantRef, GrantSpec, Opening, PodSecurity, RoleSource,
};

mod beyond;
mod guard;
mod probes;
mod pulls;
mod stronger;
pub(crate) use beyond::{Neighbours, neighbours};
pub(crate) use guard::{LiveGuard, install_guard, prove_guard};
pub(crate) use probes::{Given, QUOTA_RECORD_WAIT, bounds_probes, probe};
pub(crate) use pulls::{install_always_pull, prove_always_pull};
pub(crate) use stronger::{
    Bound, NamespaceBindings, RoleRules, Stronger, cluster_bindings, stronger_accounts,
    stronger_among,
};

/// The rules a grant's role holds: the template's, or the ClusterRole's as the server has it
/// (aggregated). `None` when the caller may not read the ClusterRole.
pub(crate) async fn role_rules(
    cluster: &Cluster,
    role: &RoleSource,
) -> Result<Option<Vec<PolicyRule>>> {
    match role {
        RoleSource::Template(t) => Ok(Some(t.rules.clone())),
        RoleSource::ClusterRole(name) => {
            match cluster.get_cluster_scoped::<ClusterRole>(name).await {
                Ok(Some(role)) => Ok(Some(role.rules.unwrap_or_default())),
                Ok(None) => Err(Error::from(GrantError::ClusterRoleMissing {
                    name: name.clone(),
                })),
                Err(e) if is_forbidden(&e) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// What the caller of [`judge`] has read already: the guard, every ClusterRoleBinding (a set
/// reads them once), and what an earlier tenant of the set saw of the namespace (filled in
/// with what this judgement reads).
pub(crate) struct Already<'a> {
    pub(crate) guard: Option<LiveGuard>,
    pub(crate) cluster_bindings: Option<&'a [Bound]>,
    pub(crate) seen: &'a mut Seen,
}

/// What judging an existing namespace read, handed from one tenant of a set to the next in
/// the same namespace (they are granted one after the other) so that it is not read again.
#[derive(Clone, Default)]
pub(crate) struct Seen {
    /// Admission's answer for a host pod, with the namespace's labels it was asked under (a
    /// label change asks again).
    pub(crate) host_pods: Option<(std::collections::BTreeMap<String, String>, Admission)>,
    /// The namespace's RoleBindings and Roles; the set's tenants add theirs as they write them.
    pub(crate) bindings: Option<(Vec<RoleBinding>, Vec<Role>)>,
}

impl Seen {
    /// A tenant's Role (for a template) and RoleBinding, as just written: the next tenant's
    /// judgement sees them as a list would.
    pub(crate) fn wrote(&mut self, role: Option<&Role>, binding: &RoleBinding) {
        let Some((bindings, roles)) = &mut self.bindings else {
            return;
        };
        upsert(bindings, binding);
        if let Some(role) = role {
            upsert(roles, role);
        }
    }
}

/// Puts `object` into `list` in place of the one of its name.
pub(crate) fn upsert<K: kube::Resource + Clone>(list: &mut Vec<K>, object: &K) {
    let name = object.meta().name.as_deref();
    list.retain(|o| o.meta().name.as_deref() != name);
    list.push(object.clone());
}

/// What a grant's containment needs, found before any write.
pub(crate) struct Judgement {
    /// Install or keep the guard (the role reaches what it protects).
    pub(crate) guard: bool,
    /// The guard as read (when `guard`).
    pub(crate) live: LiveGuard,
    /// What the role reaches.
    pub(crate) reach: Reach,
    /// What to tell the user: a privileged namespace, an accepted risk.
    pub(crate) notes: Vec<String>,
}

/// What a role reaches; a role kscope cannot read is taken to reach everything.
pub(crate) fn reach_of(rules: Option<&[PolicyRule]>) -> Reach {
    match rules {
        Some(rules) => Reach::of(rules),
        None => Reach {
            pods: true,
            other_service_accounts: true,
            namespace: true,
            grant_objects: true,
            endpoints: true,
            shared: true,
            claims: true,
        },
    }
}

/// Everything that refuses a grant for containment, all of it in one run (one refusal, or
/// `GrantError::Refused` with each), before anything is written:
/// a ClusterRole that escalates; an existing namespace that admits node-escaping pods when the
/// role makes pods; a more powerful ServiceAccount in the namespace when the role can act as
/// it; the guard that the caller may not install when the role reaches what it protects.
/// `existing` is the namespace as read (`None`: the grant creates it).
/// `rules` are the role's, as [`role_rules`] read them.
pub(crate) async fn judge(
    cluster: &Cluster,
    spec: &GrantSpec,
    rules: Option<&[PolicyRule]>,
    allow: Allowances,
    existing: Option<&Namespace>,
    already: Already<'_>,
) -> Result<Judgement> {
    let Already {
        guard: read_guard,
        cluster_bindings,
        seen,
    } = already;
    let ns = spec.namespace.as_str();
    let mut refusals = Vec::new();
    if let (RoleSource::ClusterRole(name), Some(rules), false) =
        (&spec.role, rules, allow.escalation)
        && let Some(rule) = cluster_role_escalations(name, rules).into_iter().next()
    {
        refusals.push(GrantError::EscalatingClusterRole {
            name: name.clone(),
            rule,
        });
    }
    let reach = reach_of(rules);
    let mut notes = Vec::new();
    match existing {
        None if spec.pod_security == PodSecurity::Privileged => notes.push(format!(
            "warning: namespace {ns} is created with {}",
            kscope_core::spec::PRIVILEGED_WARNING
        )),
        None => {}
        Some(namespace) => {
            // Admission's answer for a host pod, and the namespace's stronger ServiceAccounts:
            // asked at once.
            // What an earlier tenant of a set saw of this namespace is not asked again.
            let grant = spec.grant_ref();
            let labels = namespace.metadata.labels.clone().unwrap_or_default();
            let known_answer = seen
                .host_pods
                .take()
                .filter(|(asked_under, _)| *asked_under == labels)
                .map(|(_, answer)| answer);
            let known_bindings = seen.bindings.take();
            let (admission, stronger) = futures::join!(
                async {
                    match (reach.pods, known_answer) {
                        (true, Some(known)) => Ok(Some(known)),
                        (true, None) => host_pods(cluster, ns, None).await.map(Some),
                        (false, _) => Ok(None),
                    }
                },
                async {
                    if !reach.other_service_accounts {
                        return Ok((None, known_bindings));
                    }
                    let read = match (known_bindings, cluster_bindings) {
                        (Some((bindings, roles)), Some(everywhere)) => {
                            NamespaceBindings::known(bindings, roles, everywhere)
                        }
                        _ => NamespaceBindings::read(cluster, ns, cluster_bindings).await,
                    };
                    let lists = read.lists();
                    let stronger = read.stronger(cluster, &grant, rules).await?;
                    Ok::<_, Error>((Some(stronger), lists))
                },
            );
            let (stronger, lists) = match stronger {
                Ok((stronger, lists)) => (Ok(stronger), lists),
                Err(e) => (Err(e), None),
            };
            seen.bindings = lists;
            if let Ok(Some(answer)) = &admission {
                seen.host_pods = Some((labels, answer.clone()));
            }
            if let Some(admission) = admission? {
                match admission {
                    // Refused by RBAC, the caller's own lack of pod creation says nothing of
                    // what admission would do with the tenant's pods.
                    Admission::Refused { reason, .. }
                        if reason.contains("cannot create resource \"pods\"") =>
                    {
                        if !allow.host_pods {
                            refusals.push(GrantError::HostPodsUnknown {
                                namespace: ns.to_string(),
                                reason,
                            });
                        }
                    }
                    Admission::Refused { .. } => {}
                    // An authorizer or admission webhook that could not decide: unknown.
                    Admission::Unanswered { reason, .. } => {
                        if !allow.host_pods {
                            refusals.push(GrantError::HostPodsUnknown {
                                namespace: ns.to_string(),
                                reason,
                            });
                        }
                    }
                    Admission::Admitted if allow.host_pods => notes.push(format!(
                        "warning: namespace {ns} admits pods that take their node, and the grant can create pods (accepted with --allow-host-pods)"
                    )),
                    Admission::Admitted => refusals.push(GrantError::HostPodsAdmitted {
                        namespace: ns.to_string(),
                        enforced: Enforced::of(namespace.metadata.labels.as_ref()),
                    }),
                }
            }
            if let Some(stronger) = stronger? {
                match stronger.into_iter().next() {
                    None => {}
                    Some(found) if allow.shared_namespace => notes.push(format!(
                        "warning: the grant can act as ServiceAccount {ns}/{}, which holds more through {} (accepted with --allow-shared-namespace)",
                        found.service_account, found.binding
                    )),
                    Some(found) => refusals.push(GrantError::SharedNamespace {
                        namespace: ns.to_string(),
                        service_account: found.service_account,
                        binding: found.binding,
                    }),
                }
            }
        }
    }
    let mut guard = reach.needs_guard();
    let mut live = LiveGuard::default();
    if guard {
        live = match read_guard {
            Some(read) => read,
            None => LiveGuard::read(cluster).await?,
        };
        // A guard already as kscope makes it needs no write, so no permission to write it.
        let mut missing = if live.holds() {
            Vec::new()
        } else {
            guard::guard_permissions_missing(cluster).await?
        };
        // An existing namespace is put under the guard by its label: kscope must be able to
        // set it.
        if let Some(namespace) = existing
            && (namespace.metadata.name.is_none()
                || !kscope_core::manifest::has_tenant_labels(namespace, spec))
        {
            let question = (
                Some(ns.to_string()),
                Permission::new("", "namespaces", "patch"),
            );
            if !cluster
                .can_i(&[question])
                .await?
                .first()
                .copied()
                .unwrap_or(false)
            {
                missing.push(format!("patch on namespaces/{ns} (kscope's tenant label)"));
            }
        }
        if !missing.is_empty() {
            if !allow.unguarded {
                refusals.push(GrantError::GuardNotPermitted { missing });
            }
            guard = false;
            notes.push(format!(
                "warning: no guard for namespace {ns} (accepted with --allow-unguarded): the tenant may change its Namespace, kscope's objects of its grant and Endpoints"
            ));
        }
    }
    if let Some(refused) = GrantError::refusal(refusals) {
        return Err(refused.into());
    }
    Ok(Judgement {
        guard,
        live,
        reach,
        notes,
    })
}

/// What was read, or nothing when the caller may not read it.
pub(super) fn unread<T>(read: Result<Option<T>>) -> Result<Option<T>> {
    match read {
        Err(e) if is_forbidden(&e) => Ok(None),
        other => other,
    }
}

/// Would `namespace` admit a pod that takes its node? A dry run as this client: Pod Security
/// labels, the cluster's admission defaults and any policy engine all answer.
pub(crate) async fn host_pods(
    cluster: &Cluster,
    namespace: &str,
    service_account: Option<&str>,
) -> Result<Admission> {
    let pod = node_escaping_pod(namespace, service_account);
    let started = std::time::Instant::now();
    loop {
        let answer = cluster.try_create(namespace, &pod).await?;
        // The ServiceAccount admission plugin runs before Pod Security: a namespace whose
        // `default` ServiceAccount does not exist yet refuses every pod, which says nothing.
        // kube-controller-manager makes it within moments of the namespace (or of its own
        // return, after a restart): asked again for a while, then said.
        match &answer {
            Admission::Refused { reason, .. }
                if reason.contains("error looking up service account") =>
            {
                if started.elapsed() >= ACCOUNT_WAIT {
                    return Err(Error::from(GrantError::HostPodsUnknown {
                        namespace: namespace.to_string(),
                        reason: reason.clone(),
                    }));
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            _ => return Ok(answer),
        }
    }
}

/// How long a dry run waits for a namespace's `default` ServiceAccount to be made.
const ACCOUNT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The ServiceAccounts of the grant's namespace that a grant with `grant_rules` can act as
/// and that hold more than it; none when its rules cannot act as another ServiceAccount.
pub(crate) async fn others_within_reach(
    caller: &Cluster,
    spec: &GrantRef,
    grant_rules: &[PolicyRule],
) -> Result<Vec<Stronger>> {
    if Reach::of(grant_rules).other_service_accounts {
        stronger_accounts(caller, spec, Some(grant_rules), None).await
    } else {
        Ok(Vec::new())
    }
}

/// [`others_within_reach`], from the namespace's bindings read already (`read`, left unused
/// when the grant's rules cannot act as another ServiceAccount).
pub(crate) async fn others_among(
    caller: &Cluster,
    spec: &GrantRef,
    grant_rules: &[PolicyRule],
    read: NamespaceBindings,
) -> Result<Vec<Stronger>> {
    if Reach::of(grant_rules).other_service_accounts {
        read.stronger(caller, spec, Some(grant_rules)).await
    } else {
        Ok(Vec::new())
    }
}

/// What kscope reads off a grant's Namespace, as the caller: its enforced Pod Security level
/// (`None`: no label, or not readable) and the openings its grant made there.
pub(crate) async fn namespace_marks(
    cluster: &Cluster,
    namespace: &str,
) -> (Option<Enforced>, Vec<Opening>) {
    match cluster.get_cluster_scoped::<Namespace>(namespace).await {
        Ok(Some(ns)) => {
            let labels = ns.metadata.labels.as_ref();
            let opened = labels
                .and_then(|l| l.get(kscope_core::manifest::OPENINGS_LABEL))
                .map(|v| Opening::of_label(v))
                .unwrap_or_default();
            (Enforced::of(labels), opened)
        }
        _ => (None, Vec::new()),
    }
}
