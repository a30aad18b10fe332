//! The reviews the API server answers about the credential a client holds: who it is
//! (SelfSubjectReview), what it may do in a namespace (SelfSubjectRulesReview), and whether
//! it may do one thing (SelfSubjectAccessReview), asked concurrently with a bound.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, UserInfo};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
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
}

/// The caller's RBAC rules in one namespace, as SelfSubjectRulesReview reports them.
#[derive(Debug, Clone)]
pub(crate) struct CallerRules {
    pub(crate) rules: Vec<PolicyRule>,
    /// The authorizer could not list everything (e.g. a webhook), or hit an error while
    /// listing (e.g. a binding to a role that does not exist): absence proves nothing.
    pub(crate) incomplete: bool,
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
        let failed = status.evaluation_error.is_some_and(|e| !e.is_empty());
        Ok(CallerRules {
            rules,
            incomplete: status.incomplete || failed,
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
        futures::stream::iter(questions.iter().map(|(namespace, permission)| {
            let api = api.clone();
            async move {
                let (resource, subresource) = permission.parts();
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(ResourceAttributes {
                            group: Some(permission.group.clone()),
                            namespace: namespace.clone(),
                            resource: Some(resource.to_string()),
                            subresource: subresource.map(String::from),
                            verb: Some(permission.verb.clone()),
                            ..Default::default()
                        }),
                        non_resource_attributes: None,
                    },
                    ..Default::default()
                };
                let post = PostParams::default();
                idempotent(|| api.create(&post, &review))
                    .await
                    .map(|r| {
                        let status = r.status.unwrap_or_default();
                        Review {
                            allowed: status.allowed,
                            reason: status.reason.filter(|r| !r.is_empty()),
                        }
                    })
                    .map_err(|e| Error::api(format!("review access to {permission}"), e))
            }
        }))
        .buffered(REVIEW_CONCURRENCY)
        .try_collect()
        .await
    }
}
