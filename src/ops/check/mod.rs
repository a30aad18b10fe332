//! The check operation: proves a grant *as the ServiceAccount* through a real credential (a
//! kubeconfig file, or a short TokenRequest token), never impersonation. SelfSubjectReview
//! says who the credential is; the access matrix is answered by the API server's reviews
//! (SelfSubjectRulesReview per namespace where its rules agree with the grant,
//! SelfSubjectAccessReview for everything else and for `--all-resources`) and compared with
//! what the grant implies. Returns the answers; prints nothing.

mod baseline;
pub(crate) mod set;
pub(crate) use baseline::{baseline_rules, bootstrap};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, RoleBinding};

use crate::cluster::{Cluster, Served, is_forbidden};
use crate::error::{Error, Exit, Result};
use crate::error::{GrantError, Input, TokenError};
use crate::kubeconfig;
use crate::ops::credential;
use crate::ops::judge::{self, Stronger};
use crate::plan::CheckPlan;
use crate::session::Session;
use kscope_core::access::{self, AccessCheck, Answer, AnsweredBy, BeyondRbac, Binding, Mode};
use kscope_core::expiry::CredentialKind;
use kscope_core::manifest::ACCESS_ANNOTATION;
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::object::BoundRole;
use kscope_core::report::fleet::Verdict;
use kscope_core::spec::{
    AccessRecord, Enforced, GrantRef, Opening, RoleSource, parse_service_account_user,
};
use kscope_core::templates;

/// Lifetime of the token minted for a check: the shortest the API accepts.
pub(crate) const CHECK_TOKEN_SECONDS: u64 = kscope_core::duration::MIN_TOKEN_SECONDS;

/// What one grant is checked against, read as the caller.
pub(crate) struct Expected {
    pub(crate) grant: GrantRef,
    /// The rules of the grant's role.
    pub(crate) rules: Vec<PolicyRule>,
    pub(crate) binding: Binding,
    /// The ServiceAccounts of the namespace the grant can act as that hold more than it.
    pub(crate) others: Vec<Stronger>,
    /// The namespace's enforced Pod Security level, as read.
    pub(crate) pod_security: Option<Enforced>,
    /// What the grant opens to its tenant (`--allow-service`): not tried as paths out.
    pub(crate) opened: Vec<Opening>,
    /// Which of kscope's bounds the grant gives its namespaces.
    pub(crate) given: judge::Given,
    /// What every ServiceAccount of the namespace may do without the grant (`--all-resources`).
    pub(crate) baseline: Vec<PolicyRule>,
    /// The grant's other namespaces, where its role must hold too.
    pub(crate) also_in: Vec<String>,
    /// Namespaces outside the grant that some RoleBinding of the ServiceAccount (or of a
    /// group it belongs to) reaches: asked as `default` is, every answer a denial.
    pub(crate) reached: Vec<String>,
    /// Whether the caller could read the RoleBindings of every namespace to find `reached`.
    pub(crate) bindings_read: bool,
}

/// The questions of a run, the same for every grant it checks.
pub(crate) struct Questions {
    /// `--all-resources`: every resource the server serves; `None`: the fixed matrix.
    pub(crate) served: Option<Vec<Served>>,
    pub(crate) mode: Mode,
}

impl Questions {
    /// The questions of `plan`, with discovery when it asks about every resource.
    pub(crate) async fn of(
        cluster: &Cluster,
        all_resources: bool,
        each: bool,
    ) -> Result<Questions> {
        Ok(Questions {
            served: if all_resources {
                Some(cluster.served().await?)
            } else {
                None
            },
            mode: if each {
                Mode::AccessReviewEach
            } else {
                Mode::RulesReviewFirst
            },
        })
    }
}

/// Checks the grant that `plan` names (or implies) and returns every answer.
pub(crate) async fn execute(session: &Session, plan: &CheckPlan) -> Result<AccessCheck> {
    let through = match &plan.through {
        Some(path) => Some(connect_file(session, path, plan.trust_file).await?),
        None => None,
    };
    let grant = match (&plan.grant, &through) {
        (Some(grant), _) => grant.clone(),
        (None, Some((client, Some(namespace)))) => identity_grant(client, namespace).await?,
        (None, _) => session.grant_meant(None, "check").await?,
    };
    let cluster = &session.cluster;
    let as_sa = async {
        match through {
            Some((client, _)) => Ok(client),
            None => credential::mint(session, &grant, CHECK_TOKEN_SECONDS).await,
        }
    };
    // What the grant gave (then who else its rules reach), the caller's other reads and the
    // credential, at once: they share nothing. What the grant gave speaks first when both it
    // and the credential fail (a ServiceAccount that is not there, say).
    // The namespace's bindings are read beside the grant itself, before its rules say whether
    // they are needed (most roles can act as other ServiceAccounts: one round less).
    let expected = async {
        let (expected, read) = futures::join!(
            expected_rules(session, &grant, plan.role.as_ref(), &plan.template_dirs),
            judge::NamespaceBindings::read(cluster, grant.namespace.as_str(), None),
        );
        let (rules, binding, account) = expected?;
        let others = judge::others_among(cluster, &grant, &rules, read).await?;
        Ok::<_, Error>((rules, binding, account, others))
    };
    let (expected, as_sa, (pod_security, opened), baseline, questions, reached) = futures::join!(
        expected,
        as_sa,
        judge::namespace_marks(cluster, grant.namespace.as_str()),
        async {
            if plan.all_resources {
                bootstrap(cluster)
                    .await
                    .map(|(b, r)| baseline_rules(&b, &r, grant.namespace.as_str()))
            } else {
                Ok(Vec::new())
            }
        },
        Questions::of(cluster, plan.all_resources, plan.access_reviews),
        reached_namespaces(cluster, &grant),
    );
    let (rules, binding, account, others) = expected?;
    let credential = credential_of(cluster, &grant, account.as_ref()).await?;
    let as_sa = as_sa?;
    let (baseline, questions, reached) = (baseline?, questions?, reached?);
    // The grant's other namespaces, as its ServiceAccount records them, with the stronger
    // ServiceAccounts it can act as there.
    let given = judge::Given::of_record(
        account
            .as_ref()
            .and_then(|sa| sa.metadata.annotations.as_ref())
            .and_then(|a| a.get(kscope_core::manifest::BOUNDS_ANNOTATION))
            .map(String::as_str),
    );
    let also_in = account
        .map(|sa| kscope_core::manifest::also_in_of(&sa.metadata))
        .transpose()?
        .unwrap_or_default();
    let mut others = others;
    for other in &also_in {
        let there = GrantRef {
            namespace: other.clone(),
            service_account: grant.service_account.clone(),
        };
        others.extend(judge::others_within_reach(cluster, &there, &rules).await?);
    }
    let also_in: Vec<String> = also_in.iter().map(|n| n.to_string()).collect();
    let expected = Expected {
        bindings_read: reached.is_some(),
        reached: reached
            .unwrap_or_default()
            .into_iter()
            .filter(|n| *n != grant.namespace.as_str() && !also_in.contains(n))
            .collect(),
        also_in,
        grant,
        rules,
        binding,
        others,
        pod_security,
        opened,
        given,
        baseline,
    };
    let mut report = prove(cluster, &as_sa, expected, &questions).await?;
    report.credential = Some(credential);
    Ok(report)
}

/// The kind of credential the grant holds: long-lived unless its ServiceAccount records an
/// end, and then as its token Secret says (read only then). A grant whose token expired is
/// refused here: the API server refuses its token, whatever a freshly minted one may do.
async fn credential_of(
    cluster: &Cluster,
    grant: &GrantRef,
    account: Option<&ServiceAccount>,
) -> Result<CredentialKind> {
    let ends = account
        .and_then(|sa| sa.metadata.annotations.as_ref())
        .is_some_and(|a| a.contains_key(kscope_core::expiry::EXPIRES_ANNOTATION));
    if !ends {
        return Ok(CredentialKind::LongLived);
    }
    let secret = cluster
        .get::<k8s_openapi::api::core::v1::Secret>(
            grant.namespace.as_str(),
            &grant.service_account.token_secret(),
        )
        .await?;
    let kind = secret.as_ref().map_or(
        CredentialKind::Bound {
            expires: None,
            issued: None,
            credential_id: None,
        },
        CredentialKind::of,
    );
    match kind.expires() {
        Some(at) if kind.expired(crate::plan::now()) => Err(Error::from(TokenError::Expired {
            namespace: grant.namespace.to_string(),
            service_account: grant.service_account.to_string(),
            at: kscope_core::expiry::rfc3339(at),
        })),
        _ => Ok(kind),
    }
}

/// Proves one grant as the ServiceAccount (`as_sa`): who it is, the answers to the questions,
/// and the containment probes, all at once. Where the authorizer chain cannot list the
/// ServiceAccount's rules (authorization beyond RBAC), the caller (`caller`) then asks the API
/// server about the namespace's other ServiceAccounts too.
pub(crate) async fn prove(
    caller: &Cluster,
    as_sa: &Cluster,
    expected: Expected,
    questions: &Questions,
) -> Result<AccessCheck> {
    let grant = &expected.grant;
    let (rules, baseline) = (&expected.rules, &expected.baseline);
    let namespace = grant.namespace.as_str();
    let probes = match &questions.served {
        Some(served) => {
            let served: Vec<access::ServedResource> = served
                .iter()
                .map(|s| {
                    (
                        s.group.as_str(),
                        s.resource.as_str(),
                        s.namespaced,
                        s.verbs.as_slice(),
                    )
                })
                .collect();
            access::all_probes(
                namespace,
                &expected.also_in,
                &expected.reached,
                rules,
                baseline,
                &served,
            )
        }
        None => access::probes_in(namespace, &expected.also_in, &expected.reached, rules),
    };
    let namespaces = access::probed_namespaces_in(namespace, &expected.also_in, &expected.reached);
    let answers = async {
        match questions.mode {
            Mode::AccessReviewEach => ask_each(as_sa, namespace, probes).await,
            Mode::RulesReviewFirst => ask_matrix(as_sa, &namespaces, probes).await,
        }
    };
    let mut namespaces_of_grant = vec![grant.namespace.to_string()];
    namespaces_of_grant.extend(expected.also_in.iter().cloned());
    let (identity, (answers, unlisted), mut containment, bounds) = futures::try_join!(
        who(as_sa),
        answers,
        judge::probe(
            as_sa,
            grant,
            &expected.also_in,
            &expected.others,
            &expected.opened,
            &expected.binding.expected,
        ),
        judge::bounds_probes(
            caller,
            as_sa,
            grant,
            &namespaces_of_grant,
            expected.given,
            rules
        ),
    )?;
    containment.extend(bounds);
    let beyond_rbac = match unlisted {
        Some(error) => {
            let (beyond, paths) = beyond_rbac(caller, &expected, &answers, error).await?;
            containment.extend(paths);
            Some(beyond)
        }
        None => None,
    };
    Ok(AccessCheck {
        namespace: grant.namespace.to_string(),
        service_account: grant.service_account.to_string(),
        mode: questions.mode,
        identity,
        binding: Some(expected.binding),
        answers,
        containment,
        pod_security: expected.pod_security,
        namespaces,
        bindings_read: expected.bindings_read,
        opened: expected.opened.iter().map(|o| o.to_string()).collect(),
        beyond_rbac,
        credential: None,
    })
}

/// Where the authorizer chain cannot list the ServiceAccount's rules (`error`, the rules
/// review's evaluationError): the namespace's other ServiceAccounts that the grant can act as
/// are asked about by SubjectAccessReview, on every question the grant is denied, since the
/// bindings no longer show all they hold.
async fn beyond_rbac(
    caller: &Cluster,
    expected: &Expected,
    answers: &[Answer],
    error: String,
) -> Result<(BeyondRbac, Vec<access::PathProbe>)> {
    let denied: Vec<_> = answers
        .iter()
        .filter(|a| !a.probe.expected)
        .map(|a| (a.probe.namespace.clone(), a.probe.permission.clone()))
        .collect();
    let grant = &expected.grant;
    let found = if kscope_core::containment::Reach::of(&expected.rules).other_service_accounts {
        let mut namespaces = vec![grant.namespace.to_string()];
        namespaces.extend(expected.also_in.iter().cloned());
        judge::neighbours(caller, grant, &namespaces, &expected.others, &denied).await?
    } else {
        judge::Neighbours {
            paths: Vec::new(),
            asked: Vec::new(),
        }
    };
    let beyond = BeyondRbac {
        evaluation_error: error,
        neighbours_asked: found.asked,
        questions: denied.len(),
    };
    Ok((beyond, found.paths))
}

/// The namespaces where some RoleBinding binds the grant's ServiceAccount, its user name, or
/// a group every token of it carries (`system:serviceaccounts`, `system:serviceaccounts:<ns>`,
/// `system:authenticated`), read as the caller page by page; `None` when the caller may not
/// list RoleBindings everywhere (the check then says that it could not look).
async fn reached_namespaces(cluster: &Cluster, grant: &GrantRef) -> Result<Option<Vec<String>>> {
    let keys = access::Grantee::including(grant.namespace.as_str(), grant.service_account.as_str());
    let mut reached = std::collections::BTreeSet::new();
    let read = cluster
        .each_page::<RoleBinding>(|page| {
            for binding in page {
                let here = binding.metadata.namespace.clone().unwrap_or_default();
                let names_it = binding
                    .subjects
                    .iter()
                    .flatten()
                    .filter_map(|s| access::Grantee::of(s, &here))
                    .any(|g| keys.contains(&g));
                if names_it {
                    reached.insert(here);
                }
            }
        })
        .await;
    match read {
        Ok(()) => Ok(Some(reached.into_iter().collect())),
        Err(e) if is_forbidden(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The username the API server sees for the credential (SelfSubjectReview).
async fn who(as_sa: &Cluster) -> Result<String> {
    Ok(as_sa.whoami().await?.username.unwrap_or_default())
}

/// The answers, and what the authorizer chain said when it could not list the rules (where
/// authorization goes beyond RBAC).
type Answered = (Vec<Answer>, Option<String>);

/// Every probe asked by its own SelfSubjectAccessReview (`--access-reviews`), and one rules
/// review of the grant's namespace, to learn whether authorization goes beyond RBAC.
async fn ask_each(as_sa: &Cluster, home: &str, probes: Vec<access::Probe>) -> Result<Answered> {
    let unsettled = vec![None; probes.len()];
    let (answers, listed) =
        futures::try_join!(answer(as_sa, probes, unsettled), as_sa.caller_rules(home))?;
    Ok((answers, listed.evaluation_error))
}

/// The default matrix: one SelfSubjectRulesReview per namespace probed answers every probe
/// that the listed rules decide in agreement with the grant; everything else (a difference,
/// an incomplete list, cluster scope the lists allow) is asked by its own
/// SelfSubjectAccessReview, whose answer stands and which names the source of an allow.
/// About 3 requests instead of one per probe when the grant holds.
async fn ask_matrix(
    as_sa: &Cluster,
    namespaces: &[String],
    probes: Vec<access::Probe>,
) -> Result<Answered> {
    let lists =
        futures::future::try_join_all(namespaces.iter().map(|n| as_sa.caller_rules(n))).await?;
    let unlisted = lists.iter().find_map(|l| l.evaluation_error.clone());
    let listed: BTreeMap<String, Vec<PolicyRule>> = namespaces
        .iter()
        .cloned()
        .zip(lists)
        .filter(|(_, list)| !list.incomplete)
        .map(|(namespace, list)| (namespace, list.rules))
        .collect();
    let settled = access::settle(&probes, &listed);
    Ok((answer(as_sa, probes, settled).await?, unlisted))
}

/// The answers: each settled probe as the rules reviews settled it, each other one asked by
/// its own SelfSubjectAccessReview (concurrently, in the order asked).
async fn answer(
    as_sa: &Cluster,
    probes: Vec<access::Probe>,
    settled: Vec<Option<bool>>,
) -> Result<Vec<Answer>> {
    let questions: Vec<_> = probes
        .iter()
        .zip(&settled)
        .filter(|(_, settled)| settled.is_none())
        .map(|(p, _)| (p.namespace.clone(), p.permission.clone()))
        .collect();
    let mut reviews = as_sa.reviews(&questions).await?.into_iter();
    probes
        .into_iter()
        .zip(settled)
        .map(|(probe, settled)| match settled {
            Some(allowed) => Ok(Answer {
                probe,
                allowed,
                reason: None,
                answered_by: AnsweredBy::SelfSubjectRulesReview,
                evaluation_error: None,
            }),
            None => {
                let review = reviews
                    .next()
                    .ok_or_else(|| Error::bug("fewer access reviews than questions"))?;
                Ok(Answer {
                    probe,
                    allowed: review.allowed,
                    reason: review.reason,
                    answered_by: AnsweredBy::SelfSubjectAccessReview,
                    evaluation_error: review.evaluation_error,
                })
            }
        })
        .collect()
}

/// Exit 0 when every answer matches the grant and every path out is proven refused, 3 when
/// access differs (whatever else), 1 when something could not be proven.
pub(crate) fn verdict(report: &AccessCheck) -> Exit {
    match Verdict::of(report) {
        Verdict::Ok => Exit::Ok,
        Verdict::Differs | Verdict::Missing => Exit::AccessDiffers,
        Verdict::Unproven | Verdict::Failed => Exit::Runtime,
    }
}

/// A client for `--kubeconfig-file`, and the namespace of its current context.
async fn connect_file(
    session: &Session,
    path: &Path,
    trust: bool,
) -> Result<(Cluster, Option<String>)> {
    let (file, namespace) = kubeconfig::read_credential_file(path, trust)?;
    let client = session
        .client_for(file)
        .await
        .map_err(|detail| Input::CredentialFile {
            path: PathBuf::from(path),
            detail,
        })?;
    Ok((client, namespace))
}

/// The grant of a credential file: the ServiceAccount it authenticates as.
async fn identity_grant(client: &Cluster, namespace: &str) -> Result<GrantRef> {
    let identity = client.whoami().await?.username.unwrap_or_default();
    let not_ours = || GrantError::NotAServiceAccountOf {
        identity: identity.clone(),
        namespace: namespace.to_string(),
    };
    let sa = match parse_service_account_user(&identity) {
        Some((ns, sa)) if ns == namespace => sa,
        _ => return Err(not_ours().into()),
    };
    Ok(GrantRef {
        namespace: NamespaceName::parse(namespace).map_err(|_| not_ours())?,
        service_account: ServiceAccountName::parse(sa).map_err(|_| not_ours())?,
    })
}

/// The rules the grant gave: from the plan's role, or from the `kscope.dev/access` annotation
/// that `grant` put on the ServiceAccount; the grant's RoleBinding as it is, against what the
/// access says it must be; and the ServiceAccount as read (both read at once).
async fn expected_rules(
    session: &Session,
    grant: &GrantRef,
    role: Option<&RoleSource>,
    template_dirs: &[PathBuf],
) -> Result<(Vec<PolicyRule>, Binding, Option<ServiceAccount>)> {
    let (ns, sa) = (grant.namespace.as_str(), grant.service_account.as_str());
    let bound = async {
        match session.cluster.get::<RoleBinding>(ns, sa).await {
            Ok(found) => Ok(Some(found.map(|rb| BoundRole::of(&rb.role_ref)))),
            // A caller who may not read bindings leaves the matrix to speak.
            Err(e) if is_forbidden(&e) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (account, actual) =
        futures::try_join!(session.cluster.get::<ServiceAccount>(ns, sa), bound)?;
    let recorded;
    let role = match role {
        Some(role) => role,
        None => {
            recorded = recorded_role(account.as_ref(), grant, template_dirs)?;
            &recorded
        }
    };
    let expected = match role {
        RoleSource::Template(_) => BoundRole::Role(sa.to_string()),
        RoleSource::ClusterRole(name) => BoundRole::ClusterRole(name.clone()),
    };
    let binding = Binding {
        name: format!("{ns}/{sa}"),
        expected,
        actual,
    };
    Ok((rules_of(session, role).await?, binding, account))
}

async fn rules_of(session: &Session, role: &RoleSource) -> Result<Vec<PolicyRule>> {
    match role {
        RoleSource::Template(t) => Ok(t.rules.clone()),
        RoleSource::ClusterRole(name) => session
            .cluster
            .get_cluster_scoped::<ClusterRole>(name)
            .await?
            .map(|r| r.rules.unwrap_or_default())
            .ok_or_else(|| GrantError::GrantClusterRoleMissing { name: name.clone() }.into()),
    }
}

fn recorded_role(
    account: Option<&ServiceAccount>,
    grant: &GrantRef,
    template_dirs: &[PathBuf],
) -> Result<RoleSource> {
    let (namespace, service_account) = (
        grant.namespace.to_string(),
        grant.service_account.to_string(),
    );
    let sa = account.ok_or_else(|| GrantError::ServiceAccountMissing {
        namespace: namespace.clone(),
        service_account: service_account.clone(),
    })?;
    let access = sa
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ACCESS_ANNOTATION))
        .cloned()
        .ok_or_else(|| GrantError::NotGrantedByKscope {
            namespace: namespace.clone(),
            service_account: service_account.clone(),
        })?;
    match AccessRecord::parse(&access) {
        Some(AccessRecord::ClusterRole(name)) => Ok(RoleSource::ClusterRole(name)),
        Some(AccessRecord::Template(name)) => templates::resolve(&name, template_dirs)
            .map(RoleSource::Template)
            .map_err(|_| GrantError::GrantTemplateMissing { name }.into()),
        None => Err(Error::from(GrantError::UnknownAccessRecord {
            namespace,
            service_account,
            value: access,
        })),
    }
}
