//! The reviews the API server answers about the credential a client holds: who it is
//! (SelfSubjectReview), what it may do in a namespace (SelfSubjectRulesReview), and whether
//! it may do one thing (SelfSubjectAccessReview), asked concurrently with a bound; and,
//! asked by the caller about someone else, SubjectAccessReview.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, UserInfo};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec, SubjectAccessReview,
    SubjectAccessReviewSpec, SubjectAccessReviewStatus,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Api, PostParams};

use super::Cluster;
use crate::error::{Error, Result};
use crate::wire::idempotent;
use kscope_core::rules::Permission;

/// How many reviews run at once (reviews are cheap for the API server: no storage).
const REVIEW_CONCURRENCY: usize = 32;

/// One SelfSubjectAccessReview answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Review {
    pub(crate) allowed: bool,
    /// The authorizer's reason, e.g. `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole
    /// "view" to Group "system:serviceaccounts"`.
    pub(crate) reason: Option<String>,
    /// Set when an authorizer of the chain could not decide (`status.evaluationError`).
    pub(crate) evaluation_error: Option<String>,
}

/// The caller's RBAC rules in one namespace, as SelfSubjectRulesReview reports them.
#[derive(Debug, Clone)]
pub(crate) struct CallerRules {
    pub(crate) rules: Vec<PolicyRule>,
    /// The authorizer could not list everything (e.g. a webhook), or hit an error while
    /// listing (e.g. a binding to a role that does not exist): absence proves nothing.
    pub(crate) incomplete: bool,
    /// What the authorizer chain said it could not list (`status.evaluationError`).
    pub(crate) evaluation_error: Option<String>,
}

impl Cluster {
    /// Who the API server says the credential is (SelfSubjectReview).
    pub(crate) async fn whoami(&self) -> Result<UserInfo> {
        let api = Api::<SelfSubjectReview>::all(self.client.clone());
        let (post, question) = (PostParams::default(), SelfSubjectReview::default());
        let review = idempotent(|| api.create(&post, &question))
            .await
            .map_err(|e| {
                Error::api(
                    "ask the API server who this credential is (SelfSubjectReview)",
                    e,
                )
            })?;
        Ok(review.status.and_then(|s| s.user_info).unwrap_or_default())
    }

    /// The caller's rules in `namespace` (SelfSubjectRulesReview).
    pub(crate) async fn caller_rules(&self, namespace: &str) -> Result<CallerRules> {
        let review = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(namespace.to_string()),
            },
            ..Default::default()
        };
        let api = Api::<SelfSubjectRulesReview>::all(self.client.clone());
        let post = PostParams::default();
        let answer = idempotent(|| api.create(&post, &review))
            .await
            .map_err(|e| {
                Error::api(format!("list your permissions in namespace {namespace}"), e)
            })?;
        let status = answer.status.unwrap_or_default();
        let rules = status
            .resource_rules
            .into_iter()
            .map(|r| PolicyRule {
                api_groups: r.api_groups,
                resources: r.resources,
                resource_names: r.resource_names,
                verbs: r.verbs,
                non_resource_urls: None,
            })
            .collect();
        let evaluation_error = status.evaluation_error.filter(|e| !e.is_empty());
        Ok(CallerRules {
            rules,
            incomplete: status.incomplete || evaluation_error.is_some(),
            evaluation_error,
        })
    }

    /// SelfSubjectAccessReview for each (namespace or cluster scope, permission), at most
    /// `REVIEW_CONCURRENCY` at once; answers come back in the order asked.
    pub(crate) async fn can_i(
        &self,
        questions: &[(Option<String>, Permission)],
    ) -> Result<Vec<bool>> {
        Ok(self
            .reviews(questions)
            .await?
            .into_iter()
            .map(|r| r.allowed)
            .collect())
    }

    /// SelfSubjectAccessReview for each question, with the authorizer's reason (which binding
    /// and role allowed it), at most `REVIEW_CONCURRENCY` at once, in the order asked.
    pub(crate) async fn reviews(
        &self,
        questions: &[(Option<String>, Permission)],
    ) -> Result<Vec<Review>> {
        let api = Api::<SelfSubjectAccessReview>::all(self.client.clone());
        each(questions, |attributes, permission| {
            let api = api.clone();
            async move {
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(attributes),
                        non_resource_attributes: None,
                    },
                    ..Default::default()
                };
                let post = PostParams::default();
                idempotent(|| api.create(&post, &review))
                    .await
                    .map(|r| Review::of(r.status))
                    .map_err(|e| Error::api(format!("review access to {permission}"), e))
            }
        })
        .await
    }

    /// SubjectAccessReview for each question, asked by the caller about someone else (`user`
    /// with `groups`; an empty `user` stands for any member of the groups), at most
    /// `REVIEW_CONCURRENCY` at once, in the order asked.
    pub(crate) async fn reviews_of(
        &self,
        user: &str,
        groups: &[String],
        questions: &[(Option<String>, Permission)],
    ) -> Result<Vec<Review>> {
        let api = Api::<SubjectAccessReview>::all(self.client.clone());
        each(questions, |attributes, permission| {
            let api = api.clone();
            async move {
                let review = SubjectAccessReview {
                    spec: SubjectAccessReviewSpec {
                        resource_attributes: Some(attributes),
                        user: (!user.is_empty()).then(|| user.to_string()),
                        groups: Some(groups.to_vec()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let post = PostParams::default();
                idempotent(|| api.create(&post, &review))
                    .await
                    .map(|r| Review::of(r.status))
                    .map_err(|e| Error::api(format!("review whether {user} may {permission}"), e))
            }
        })
        .await
    }
}

/// Asks `ask` each question (its attributes, and the permission for words), at most
/// `REVIEW_CONCURRENCY` at once; the answers come back in the order asked.
async fn each<'q, F, Fut>(
    questions: &'q [(Option<String>, Permission)],
    ask: F,
) -> Result<Vec<Review>>
where
    F: Fn(ResourceAttributes, &'q Permission) -> Fut,
    Fut: std::future::Future<Output = Result<Review>>,
{
    futures::stream::iter(
        questions
            .iter()
            .map(|(namespace, permission)| ask(attributes(namespace, permission), permission)),
    )
    .buffered(REVIEW_CONCURRENCY)
    .try_collect()
    .await
}

/// The attributes of one question: a permission in a namespace, or at cluster scope.
fn attributes(namespace: &Option<String>, permission: &Permission) -> ResourceAttributes {
    let (resource, subresource) = permission.parts();
    ResourceAttributes {
        group: Some(permission.group.clone()),
        namespace: namespace.clone(),
        resource: Some(resource.to_string()),
        subresource: subresource.map(String::from),
        verb: Some(permission.verb.clone()),
        ..Default::default()
    }
}

impl Review {
    fn of(status: Option<SubjectAccessReviewStatus>) -> Review {
        let status = status.unwrap_or_default();
        Review {
            allowed: status.allowed,
            reason: status.reason.filter(|r| !r.is_empty()),
            evaluation_error: status.evaluation_error.filter(|e| !e.is_empty()),
        }
    }
}
