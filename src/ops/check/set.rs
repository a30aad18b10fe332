//! `check -f`: every tenant of a TenantSet proven as `check` proves one grant (the matrix and
//! the containment probes, as the ServiceAccount, through a token minted for the proof), a
//! bounded number at a time. What the caller reads for the expectations (the grants'
//! RoleBindings, the namespaces' bindings for the shared-namespace analysis, the
//! ClusterRoleBindings, the ClusterRoles the file names, the Pod Security labels, discovery
//! and Kubernetes' own bindings for `--all-resources`) is read once per cluster, page by
//! page, and kept in a compact form. Returns items in the file's order; prints nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};

use crate::cluster::{Cluster, is_forbidden};
use crate::error::{Error, GrantError, Result, is_status};
use crate::ops::check::{self, CHECK_TOKEN_SECONDS, Expected, Questions};
use crate::ops::credential;
use crate::ops::judge::{Bound, RoleRules, stronger_among};
use crate::plan::CheckSetPlan;
use crate::session::Session;
use kscope_core::access::{AccessCheck, Binding, Grantee};
use kscope_core::containment::Reach;
use kscope_core::expiry::CredentialKind;
use kscope_core::manifest::GRANT_LABEL;
use kscope_core::object::BoundRole;
use kscope_core::report::fleet::{Item, Verdict};
use kscope_core::spec::{ENFORCE_LABEL, Enforced, GrantRef, RoleSource};
use kscope_core::tenants::Tenant;

/// How many reasons an item carries: enough to act on, few enough for a line.
const REASONS: usize = 5;

/// What the caller read once for the whole set, on one cluster.
pub(crate) struct Snapshot {
    /// `namespace/name` of each tenant's RoleBinding → `Kind/name` of the role it binds;
    /// `None` when the caller may not list RoleBindings.
    grant_bindings: Option<HashMap<String, BoundRole>>,
    /// Per tenant namespace, its RoleBindings that name a ServiceAccount.
    namespace_bindings: HashMap<String, Vec<Bound>>,
    /// Per grantee (a ServiceAccount, those of a namespace, or all), the namespaces where a
    /// RoleBinding names it: what a tenant's proof must ask beyond its own namespaces.
    reach: HashMap<Grantee, BTreeSet<String>>,
    /// The ClusterRoleBindings that name a ServiceAccount.
    cluster_bindings: Vec<Bound>,
    /// Per tenant namespace, its enforced Pod Security level.
    levels: HashMap<String, Enforced>,
    /// The rules of each ClusterRole the file names (`None`: it does not exist).
    cluster_roles: HashMap<String, Option<Vec<PolicyRule>>>,
    /// Kubernetes' own ClusterRoleBindings and ClusterRoles (`--all-resources`).
    bootstrap: (Vec<ClusterRoleBinding>, Vec<ClusterRole>),
    /// Roles named by bindings in the tenants' namespaces, read when first needed.
    roles: RoleRules,
    /// `namespace/serviceaccount` of each grant whose bound token has expired → when it did
    /// (from one list of kscope's bound token Secrets; empty when the caller may not list them).
    expired: HashMap<String, String>,
}

impl Snapshot {
    /// Reads what the set's proofs need, as the caller: a few paged lists and one read per
    /// ClusterRole the file names, however many tenants there are.
    pub(crate) async fn read(cluster: &Cluster, plan: &CheckSetPlan) -> Result<Snapshot> {
        let tenants = &plan.set.tenants;
        let namespaces: HashSet<&str> = tenants
            .iter()
            .flat_map(|t| {
                std::iter::once(t.spec.namespace.as_str())
                    .chain(t.spec.also_in.iter().map(|n| n.as_str()))
            })
            .collect();
        let grants: HashSet<String> = tenants
            .iter()
            .map(|t| format!("{}/{}", t.spec.namespace, t.spec.service_account))
            .collect();
        let mut cluster_role_names: Vec<&str> = tenants
            .iter()
            .filter_map(|t| match &t.spec.role {
                RoleSource::ClusterRole(name) => Some(name.as_str()),
                RoleSource::Template(_) => None,
            })
            .collect();
        cluster_role_names.sort_unstable();
        cluster_role_names.dedup();

        let role_bindings = async {
            let mut grant_bindings = HashMap::new();
            let mut namespace_bindings: HashMap<String, Vec<Bound>> = HashMap::new();
            let mut reach: HashMap<Grantee, BTreeSet<String>> = HashMap::new();
            let read = cluster
                .each_page::<RoleBinding>(|page| {
                    for binding in page {
                        let ns = binding.metadata.namespace.clone().unwrap_or_default();
                        for subject in binding.subjects.iter().flatten() {
                            if let Some(grantee) = Grantee::of(subject, &ns) {
                                reach.entry(grantee).or_default().insert(ns.clone());
                            }
                        }
                        if !namespaces.contains(ns.as_str()) {
                            continue;
                        }
                        let name = binding.metadata.name.as_deref().unwrap_or_default();
                        let key = format!("{ns}/{name}");
                        if grants.contains(&key) {
                            let bound = &binding.role_ref;
                            grant_bindings.insert(key, BoundRole::of(bound));
                        }
                        let bound = Bound::of_role_binding(&binding);
                        if !bound.accounts.is_empty() {
                            namespace_bindings.entry(ns).or_default().push(bound);
                        }
                    }
                })
                .await;
            match read {
                Ok(()) => Ok((Some(grant_bindings), namespace_bindings, reach)),
                Err(e) if is_forbidden(&e) => Ok((None, HashMap::new(), HashMap::new())),
                Err(e) => Err(e),
            }
        };
        let cluster_bindings = async {
            let mut found = Vec::new();
            let read = cluster
                .each_page::<ClusterRoleBinding>(|page| {
                    found.extend(
                        page.iter()
                            .map(Bound::of_cluster_binding)
                            .filter(|b| !b.accounts.is_empty()),
                    );
                })
                .await;
            match read {
                Err(e) if is_forbidden(&e) => Ok(Vec::new()),
                other => other.map(|()| found),
            }
        };
        let levels = async {
            let mut levels = HashMap::new();
            let read = cluster
                .each_page::<Namespace>(|page| {
                    for ns in page {
                        let name = ns.metadata.name.unwrap_or_default();
                        if !namespaces.contains(name.as_str()) {
                            continue;
                        }
                        if let Some(level) =
                            ns.metadata.labels.and_then(|mut l| l.remove(ENFORCE_LABEL))
                        {
                            levels.insert(name, Enforced::parse(&level));
                        }
                    }
                })
                .await;
            match read {
                Err(e) if is_forbidden(&e) => Ok(HashMap::new()),
                other => other.map(|()| levels),
            }
        };
        let roles = RoleRules::new(cluster);
        let namespace_roles = async {
            let read = cluster
                .each_page::<Role>(|page| {
                    for role in page {
                        let ns = role.metadata.namespace.as_deref().unwrap_or_default();
                        if namespaces.contains(ns) {
                            let name = role.metadata.name.as_deref().unwrap_or_default();
                            roles.seed(ns, name, role.rules.unwrap_or_default());
                        }
                    }
                })
                .await;
            match read {
                // Not listable: each Role the analysis needs is read on its own.
                Err(e) if is_forbidden(&e) => Ok(()),
                other => other,
            }
        };
        let cluster_roles =
            futures::future::try_join_all(cluster_role_names.iter().map(|name| async move {
                let role = cluster.get_cluster_scoped::<ClusterRole>(name).await?;
                Ok::<_, Error>((name.to_string(), role.map(|r| r.rules.unwrap_or_default())))
            }));
        let bootstrap = async {
            if plan.all_resources {
                check::bootstrap(cluster).await
            } else {
                Ok((Vec::new(), Vec::new()))
            }
        };
        let expired = async {
            let bound = format!("type={}", kscope_core::expiry::BOUND_TOKEN_TYPE);
            let now = crate::plan::now();
            match cluster.list_all::<Secret>(Some(&bound)).await {
                Ok(secrets) => Ok(secrets
                    .into_iter()
                    .filter_map(|secret| {
                        let kind = CredentialKind::of(&secret);
                        if !kind.expired(now) {
                            return None;
                        }
                        let ns = secret.metadata.namespace.clone()?;
                        let sa = secret.metadata.labels.as_ref()?.get(GRANT_LABEL)?;
                        let at = kind.expires().map_or_else(
                            || "an unrecorded time".to_string(),
                            kscope_core::expiry::rfc3339,
                        );
                        Some((format!("{ns}/{sa}"), at))
                    })
                    .collect()),
                Err(e) if is_forbidden(&e) => Ok(HashMap::new()),
                Err(e) => Err(e),
            }
        };
        let (
            (grant_bindings, namespace_bindings, reach),
            cluster_bindings,
            levels,
            (),
            cluster_roles,
            bootstrap,
            expired,
        ) = futures::try_join!(
            role_bindings,
            cluster_bindings,
            levels,
            namespace_roles,
            cluster_roles,
            bootstrap,
            expired
        )?;
        Ok(Snapshot {
            grant_bindings,
            namespace_bindings,
            reach,
            cluster_bindings,
            levels,
            cluster_roles: cluster_roles.into_iter().collect(),
            bootstrap,
            roles,
            expired,
        })
    }

    /// What one tenant is proven against, from what was read for the set.
    async fn expected(&self, tenant: &Tenant) -> Result<Expected> {
        let grant = tenant.spec.grant_ref();
        let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
        let (rules, expected) = match &tenant.spec.role {
            RoleSource::Template(t) => (t.rules.clone(), BoundRole::Role(sa.to_string())),
            RoleSource::ClusterRole(name) => {
                match self.cluster_roles.get(name).cloned().flatten() {
                    Some(rules) => (rules, BoundRole::ClusterRole(name.clone())),
                    None => {
                        return Err(
                            GrantError::GrantClusterRoleMissing { name: name.clone() }.into()
                        );
                    }
                }
            }
        };
        let binding = Binding {
            name: format!("{ns}/{sa}"),
            expected,
            actual: self
                .grant_bindings
                .as_ref()
                .map(|bindings| bindings.get(&format!("{ns}/{sa}")).cloned()),
        };
        let mut others = Vec::new();
        if Reach::of(&rules).other_service_accounts {
            for namespace in std::iter::once(&tenant.spec.namespace).chain(&tenant.spec.also_in) {
                let there = GrantRef {
                    namespace: namespace.clone(),
                    service_account: grant.service_account.clone(),
                };
                let in_namespace = self
                    .namespace_bindings
                    .get(namespace.as_str())
                    .map_or(&[][..], Vec::as_slice);
                others.extend(
                    stronger_among(
                        &self.roles,
                        &there,
                        Some(&rules),
                        in_namespace,
                        &self.cluster_bindings,
                    )
                    .await?,
                );
            }
        }
        let (bindings, roles) = &self.bootstrap;
        // The namespaces beyond the tenant's own that a RoleBinding of it (or of a group its
        // tokens carry) reaches, from the set's one read of every RoleBinding.
        let reached: Vec<String> = Grantee::including(ns, sa)
            .iter()
            .filter_map(|g| self.reach.get(g))
            .flatten()
            .filter(|n| {
                n.as_str() != ns && !tenant.spec.also_in.iter().any(|a| a.as_str() == n.as_str())
            })
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        Ok(Expected {
            also_in: tenant.spec.also_in.iter().map(|n| n.to_string()).collect(),
            baseline: check::baseline_rules(bindings, roles, ns),
            pod_security: self.levels.get(ns).cloned(),
            opened: tenant.spec.openings.clone(),
            given: crate::ops::judge::Given::of_spec(&tenant.spec),
            grant,
            rules,
            binding,
            others,
            reached,
            bindings_read: self.grant_bindings.is_some(),
        })
    }
}

/// Proves every tenant of the set on the session's cluster, `plan.concurrency` at a time;
/// `done` is given each item as it is proven, in the file's order.
pub(crate) async fn prove_all(
    session: &Session,
    plan: &CheckSetPlan,
    done: &mut dyn FnMut(Item) -> Result<()>,
) -> Result<()> {
    let session = session.quiet();
    let cluster = &session.cluster;
    let (snapshot, questions) = futures::try_join!(
        Snapshot::read(cluster, plan),
        Questions::of(cluster, plan.all_resources, plan.access_reviews),
    )?;
    // One pool of connections for every tenant's token, set up from the first tenant's
    // kubeconfig (they differ only in the token).
    let pool = match plan.set.tenants.first() {
        Some(first) => credential::token_pool(&session, &first.spec.grant_ref()).await?,
        None => None,
    };
    let (session, snapshot, questions, pool) = (&session, &snapshot, &questions, pool.as_ref());
    let mut items = futures::stream::iter(&plan.set.tenants)
        .map(|tenant| async move {
            let proof = async {
                // A grant whose token expired is refused, as `check` refuses it.
                let grant = tenant.spec.grant_ref();
                if let Some(at) = snapshot
                    .expired
                    .get(&format!("{}/{}", grant.namespace, grant.service_account))
                {
                    return Err(Error::from(crate::error::TokenError::Expired {
                        namespace: grant.namespace.to_string(),
                        service_account: grant.service_account.to_string(),
                        at: at.clone(),
                    }));
                }
                let expected = snapshot.expected(tenant).await?;
                let as_sa =
                    credential::mint_pooled(session, pool, &expected.grant, CHECK_TOKEN_SECONDS)
                        .await?;
                check::prove(&session.cluster, &as_sa, expected, questions).await
            };
            item(&session.caller.context, tenant, proof.await)
        })
        .buffered(plan.concurrency);
    while let Some(item) = items.next().await {
        done(item)?;
    }
    Ok(())
}

/// The item of one tenant from its proof (or from why there is none).
fn item(context: &str, tenant: &Tenant, proof: Result<AccessCheck>) -> Item {
    let mut item = Item {
        context: context.to_string(),
        namespace: tenant.spec.namespace.to_string(),
        service_account: tenant.spec.service_account.to_string(),
        verdict: Verdict::Ok,
        reasons: Vec::new(),
        report: None,
    };
    match proof {
        Ok(report) => {
            item.reasons = reasons(&report);
            item.verdict = Verdict::of(&report);
            item.report = Some(report);
        }
        Err(e) if is_missing(&e) => {
            item.verdict = Verdict::Missing;
            item.reasons = vec![format!(
                "ServiceAccount {}/{} does not exist (or its namespace does not)",
                item.namespace, item.service_account
            )];
        }
        Err(e) => {
            item.verdict = Verdict::Failed;
            item.reasons = vec![e.to_string()];
        }
    }
    item
}

/// A TokenRequest refused with 404: the ServiceAccount is not there.
fn is_missing(error: &Error) -> bool {
    matches!(error, Error::Api { source, .. } if is_status(source, 404))
}

/// Why a proof differs from the file, first things first: who the credential is, what the
/// RoleBinding binds, the answers that differ (with the authorizer's reason for an allow),
/// and the paths out that are open.
pub(crate) fn reasons(report: &AccessCheck) -> Vec<String> {
    let mut reasons = Vec::new();
    if !report.identity_matches() {
        reasons.push(format!(
            "the credential is {}, not {}",
            report.identity,
            report.expected_identity()
        ));
    }
    if let Some(binding) = report.binding.as_ref().filter(|b| !b.matches()) {
        reasons.push(match &binding.actual {
            Some(Some(bound)) => format!(
                "RoleBinding {} binds {bound}, not {}",
                binding.name, binding.expected
            ),
            _ => format!(
                "RoleBinding {} is missing (the file says {})",
                binding.name, binding.expected
            ),
        });
    }
    for answer in report.mismatches() {
        let scope = answer.probe.scope();
        let mut reason = format!(
            "{} {} {scope}",
            if answer.allowed {
                "allowed:"
            } else {
                "denied:"
            },
            answer.probe.permission
        );
        if let Some(why) = answer.reason.as_deref().filter(|r| !r.is_empty()) {
            reason.push_str(&format!(" ({why})"));
        }
        reasons.push(reason);
    }
    for path in report.open_paths() {
        reasons.push(format!("open: {}: {}", path.path, path.reason));
    }
    reasons.extend(report.unproven_answers().iter().map(|a| a.unproven_words()));
    reasons.extend(report.unproven_paths().iter().map(|p| p.unproven_words()));
    reasons.truncate(REASONS);
    reasons
}
