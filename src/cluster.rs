//! The only module that talks to the API server. It returns data, never text: server-side
//! apply with kscope's field manager, the watch for the token, TokenRequest, SelfSubjectReview,
//! SelfSubjectRulesReview and SelfSubjectAccessReview.
//!
//! Every HTTP request goes through one tower layer that counts it and, with `-v`, logs its
//! method and path on stderr (never headers or bodies, so never a token).

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::authentication::v1::{
    BoundObjectReference, SelfSubjectReview, TokenRequest, TokenRequestSpec, UserInfo,
};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    SelfSubjectRulesReview, SelfSubjectRulesReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::client::ClientBuilder;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, api_status};
use crate::manifest::{FIELD_MANAGER, GRANT_LABEL, MANAGED_BY};
use crate::rules::Permission;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static REQUESTS: AtomicUsize = AtomicUsize::new(0);

/// `-v`: log every request's method and path on stderr.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// How many HTTP requests this process has sent.
pub fn requests_sent() -> usize {
    REQUESTS.load(Ordering::Relaxed)
}

/// How many reviews run at once.
const REVIEW_CONCURRENCY: usize = 8;

/// What a server-side apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// An existing namespace, deliberately left as it is.
    Exists,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Exists => "exists (left untouched)",
        })
    }
}

/// Whether writes are real or only validated by the server (`--dry-run=server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    ServerDryRun,
}

/// The caller's RBAC rules in one namespace, as SelfSubjectRulesReview reports them.
#[derive(Debug, Clone)]
pub struct CallerRules {
    pub rules: Vec<PolicyRule>,
    /// The authorizer could not list everything (e.g. a webhook): absence proves nothing.
    pub incomplete: bool,
}

#[derive(Clone)]
pub struct Cluster {
    client: Client,
}

impl Cluster {
    pub fn connect(config: kube::Config) -> Result<Self> {
        let layer =
            tower::util::MapRequestLayer::new(|request: http::Request<kube::client::Body>| {
                REQUESTS.fetch_add(1, Ordering::Relaxed);
                if VERBOSE.load(Ordering::Relaxed) {
                    let path = request
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/");
                    eprintln!("kscope: {} {}", request.method(), path);
                }
                request
            });
        let client = ClientBuilder::try_from(config)
            .map_err(|e| Error::api("set up the API client", e))?
            .with_layer(&layer)
            .build();
        Ok(Cluster { client })
    }

    fn namespaced<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub async fn namespace(&self, name: &str) -> Result<Option<Namespace>> {
        Api::<Namespace>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(|e| Error::api(format!("read Namespace {name}"), e))
    }

    /// The names of all namespaces, sorted (metadata only).
    pub async fn namespaces(&self) -> Result<Vec<String>> {
        let list = Api::<Namespace>::all(self.client.clone())
            .list_metadata(&ListParams::default())
            .await
            .map_err(|e| Error::api("list namespaces", e))?;
        let mut names: Vec<String> = list.items.iter().map(|n| n.name_any()).collect();
        names.sort();
        Ok(names)
    }

    pub async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ServiceAccount>> {
        self.namespaced::<ServiceAccount>(namespace)
            .get_opt(name)
            .await
            .map_err(|e| Error::api(format!("read ServiceAccount {namespace}/{name}"), e))
    }

    pub async fn secret(&self, namespace: &str, name: &str) -> Result<Option<Secret>> {
        self.namespaced::<Secret>(namespace)
            .get_opt(name)
            .await
            .map_err(|e| Error::api(format!("read Secret {namespace}/{name}"), e))
    }

    pub async fn role(&self, namespace: &str, name: &str) -> Result<Option<Role>> {
        self.namespaced::<Role>(namespace)
            .get_opt(name)
            .await
            .map_err(|e| Error::api(format!("read Role {namespace}/{name}"), e))
    }

    pub async fn cluster_role(&self, name: &str) -> Result<Option<ClusterRole>> {
        Api::<ClusterRole>::all(self.client.clone())
            .get_opt(name)
            .await
            .map_err(|e| Error::api(format!("read ClusterRole {name}"), e))
    }

    /// Every grant kscope made that the caller can see: (namespace, ServiceAccount) of the
    /// RoleBindings it labelled, sorted.
    pub async fn grants(&self) -> Result<Vec<(String, String)>> {
        let params = ListParams::default().labels(&format!("{MANAGED_BY}={FIELD_MANAGER}"));
        let list = Api::<RoleBinding>::all(self.client.clone())
            .list_metadata(&params)
            .await
            .map_err(|e| Error::api("list kscope's RoleBindings", e))?;
        let mut grants: Vec<(String, String)> = list
            .items
            .iter()
            .filter_map(|rb| Some((rb.namespace()?, rb.labels().get(GRANT_LABEL)?.clone())))
            .collect();
        grants.sort();
        grants.dedup();
        Ok(grants)
    }

    /// The live version of a namespaced object, if it exists.
    pub async fn current<K>(&self, object: &K, kind: &'static str) -> Result<Option<K>>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope> + Clone + Debug + DeserializeOwned,
        K::DynamicType: Default,
    {
        let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
        self.namespaced::<K>(&namespace)
            .get_opt(&name)
            .await
            .map_err(|e| Error::api(format!("read {kind} {namespace}/{name}"), e))
    }

    /// Server-side apply of a namespaced object whose live version (`existing`) the caller
    /// has just read; the outcome says whether it was created, changed or left as it was.
    /// `adopt` forces ownership of fields that other managers hold.
    pub async fn apply<K>(
        &self,
        object: &K,
        existing: Option<&K>,
        kind: &'static str,
        adopt: bool,
        mode: Mode,
    ) -> Result<(K, Outcome)>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
        K::DynamicType: Default,
    {
        let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
        let applied = self
            .namespaced::<K>(&namespace)
            .patch(&name, &apply_params(adopt, mode), &Patch::Apply(object))
            .await
            .map_err(|e| Error::api(format!("apply {kind} {namespace}/{name}"), e))?;
        let outcome = match existing {
            None => Outcome::Created,
            Some(before) if same_state(before, &applied) => Outcome::Unchanged,
            Some(_) => Outcome::Configured,
        };
        Ok((applied, outcome))
    }

    /// Server-side apply of the Namespace, only when it does not exist yet (`existing` is the
    /// caller's fresh read, so no second GET is needed).
    pub async fn ensure_namespace(
        &self,
        object: &Namespace,
        existing: Option<&Namespace>,
        mode: Mode,
    ) -> Result<Outcome> {
        if existing.is_some() {
            return Ok(Outcome::Exists);
        }
        let name = object.name_any();
        Api::<Namespace>::all(self.client.clone())
            .patch(&name, &apply_params(false, mode), &Patch::Apply(object))
            .await
            .map_err(|e| Error::api(format!("create Namespace {name}"), e))?;
        Ok(Outcome::Created)
    }

    /// Waits, by watching, until the token controller has filled in the Secret's token.
    /// `current` is the Secret as last seen (from the apply); its resourceVersion starts the watch.
    pub async fn wait_for_token(&self, current: Secret, timeout: Duration) -> Result<Secret> {
        let namespace = current.namespace().unwrap_or_default();
        let name = current.name_any();
        if has_token(&current) {
            return Ok(current);
        }
        let timed_out = || Error::TokenTimeout {
            namespace: namespace.clone(),
            secret: name.clone(),
            seconds: timeout.as_secs(),
        };
        let api = self.namespaced::<Secret>(&namespace);
        let watch = async {
            let mut version = current.resource_version().unwrap_or_else(|| "0".into());
            loop {
                // The server ends a watch after its own timeout; kscope's bound is the outer one.
                let params = WatchParams::default()
                    .fields(&format!("metadata.name={name}"))
                    .timeout(290);
                let mut events = api
                    .watch(&params, &version)
                    .await
                    .map_err(|e| Error::api(format!("watch Secret {namespace}/{name}"), e))?
                    .boxed();
                while let Some(event) = events
                    .try_next()
                    .await
                    .map_err(|e| Error::api(format!("watch Secret {namespace}/{name}"), e))?
                {
                    match event {
                        WatchEvent::Added(s) | WatchEvent::Modified(s) => {
                            if has_token(&s) {
                                return Ok(s);
                            }
                            version = s.resource_version().unwrap_or(version);
                        }
                        WatchEvent::Deleted(_) => {
                            return Err(Error::TokenSecretDeleted {
                                namespace: namespace.clone(),
                                secret: name.clone(),
                            });
                        }
                        WatchEvent::Bookmark(b) => version = b.metadata.resource_version,
                        // 410 Gone: the version is too old; start again from the present.
                        WatchEvent::Error(_) => {
                            let fresh = self.secret(&namespace, &name).await?.ok_or_else(|| {
                                Error::TokenSecretDeleted {
                                    namespace: namespace.clone(),
                                    secret: name.clone(),
                                }
                            })?;
                            if has_token(&fresh) {
                                return Ok(fresh);
                            }
                            version = fresh.resource_version().unwrap_or_else(|| "0".into());
                        }
                    }
                }
            }
        };
        tokio::time::timeout(timeout, watch)
            .await
            .map_err(|_| timed_out())?
    }

    /// A TokenRequest for the ServiceAccount; bound to `secret` when given, so that deleting
    /// the Secret revokes the token.
    pub async fn request_token(
        &self,
        namespace: &str,
        service_account: &str,
        seconds: u64,
        secret: Option<&Secret>,
    ) -> Result<TokenRequest> {
        let bound_object_ref = secret.map(|s| BoundObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
            name: s.metadata.name.clone(),
            uid: s.metadata.uid.clone(),
        });
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                bound_object_ref,
                expiration_seconds: Some(i64::try_from(seconds).unwrap_or(i64::MAX)),
            },
            ..Default::default()
        };
        self.namespaced::<ServiceAccount>(namespace)
            .create_token_request(service_account, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                Error::api(
                    format!("request a token for ServiceAccount {namespace}/{service_account}"),
                    e,
                )
            })
    }

    /// Who the API server says the credential is (SelfSubjectReview).
    pub async fn whoami(&self) -> Result<UserInfo> {
        let review = Api::<SelfSubjectReview>::all(self.client.clone())
            .create(&PostParams::default(), &SelfSubjectReview::default())
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
    pub async fn caller_rules(&self, namespace: &str) -> Result<CallerRules> {
        let review = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(namespace.to_string()),
            },
            ..Default::default()
        };
        let answer = Api::<SelfSubjectRulesReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
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
        Ok(CallerRules {
            rules,
            incomplete: status.incomplete,
        })
    }

    /// SelfSubjectAccessReview for each (namespace or cluster scope, permission), at most
    /// `REVIEW_CONCURRENCY` at once; answers come back in the order asked.
    pub async fn can_i(&self, questions: &[(Option<String>, Permission)]) -> Result<Vec<bool>> {
        let api = Api::<SelfSubjectAccessReview>::all(self.client.clone());
        futures::stream::iter(questions.iter().map(|(namespace, permission)| {
            let api = api.clone();
            async move {
                let (resource, subresource) = match permission.resource.split_once('/') {
                    Some((r, s)) => (r.to_string(), Some(s.to_string())),
                    None => (permission.resource.clone(), None),
                };
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(ResourceAttributes {
                            group: Some(permission.group.clone()),
                            namespace: namespace.clone(),
                            resource: Some(resource),
                            subresource,
                            verb: Some(permission.verb.clone()),
                            ..Default::default()
                        }),
                        non_resource_attributes: None,
                    },
                    ..Default::default()
                };
                api.create(&PostParams::default(), &review)
                    .await
                    .map(|r| r.status.is_some_and(|s| s.allowed))
                    .map_err(|e| Error::api(format!("review access to {permission}"), e))
            }
        }))
        .buffered(REVIEW_CONCURRENCY)
        .try_collect()
        .await
    }
}

/// Server-side apply as kscope; `adopt` forces ownership of fields other managers hold.
fn apply_params(adopt: bool, mode: Mode) -> PatchParams {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    if adopt {
        params = params.force();
    }
    params.dry_run = mode == Mode::ServerDryRun;
    params
}

/// Whether kscope made (or adopted) the object: it carries kscope's managed-by label.
pub fn is_managed(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY))
        .is_some_and(|v| v == FIELD_MANAGER)
}

/// The token controller has filled in the Secret.
pub fn has_token(secret: &Secret) -> bool {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get("token"))
        .is_some_and(|t| !t.0.is_empty())
}

/// Whether an apply changed anything: kscope compares resourceVersions, except under a server
/// dry run (which never bumps it), where the objects are compared without server bookkeeping.
fn same_state<K: Resource + Serialize>(before: &K, after: &K) -> bool {
    let strip = |object: &K| {
        let mut value = serde_json::to_value(object).unwrap_or_default();
        if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            for key in ["managedFields", "resourceVersion", "generation"] {
                meta.remove(key);
            }
        }
        value
    };
    let versions = (
        before.meta().resource_version.as_ref(),
        after.meta().resource_version.as_ref(),
    );
    match versions {
        (Some(a), Some(b)) if a != b => false,
        _ => strip(before) == strip(after),
    }
}

/// Whether an error is the API server refusing the caller (403).
pub fn is_forbidden(error: &Error) -> bool {
    matches!(error, Error::Api { source, .. } if api_status(source).is_some_and(|s| s.code == 403))
}
