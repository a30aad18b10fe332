//! The only module that talks to the API server. It returns data, never text: kscope's writes
//! (in `write`: created when absent, server-side applied with kscope's field manager when
//! present), the wait for the token, TokenRequest; and, in `review`,
//! SelfSubjectReview, SelfSubjectRulesReview and SelfSubjectAccessReview.
//!
//! Every HTTP request goes through one tower layer that counts it and, with `-v`, logs its
//! method and path on stderr (never headers or bodies, so never a token).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::RoleBinding;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Api, DeleteParams, ListParams};
use kube::client::ClientBuilder;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::RequestTimedOut;
use crate::error::{Error, Result, is_status};
pub(crate) use crate::wire::Wire;
use kscope_core::manifest::{FIELD_MANAGER, GRANT_LABEL, MANAGED_BY, Outcome};

mod namespace;
mod pages;
mod pool;
mod probe;
mod quota;
mod review;
mod token;
mod tokens;
mod transport;
mod write;
use crate::wire::idempotent;
pub(crate) use pool::TokenPool;
pub(crate) use probe::Admission;
pub(crate) use token::has_token;
pub(crate) use tokens::TokenHub;
use transport::{Https, https};
use write::{apply_params, apply_through};

/// One resource the API server serves, from discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Served {
    pub(crate) group: String,
    pub(crate) resource: String,
    pub(crate) namespaced: bool,
    pub(crate) verbs: Vec<String>,
}

/// A namespaced kind the client reads (Secret, RoleBinding, ...): the bounds every namespaced
/// read needs, named once.
pub(crate) trait Namespaced:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + DeserializeOwned
{
}
impl<K> Namespaced for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned
{
}

/// A cluster-scoped kind the client reads (Namespace, ClusterRole, ...).
pub(crate) trait ClusterScoped:
    Resource<Scope = ClusterResourceScope, DynamicType = ()> + Clone + Debug + DeserializeOwned
{
}
impl<K> ClusterScoped for K where
    K: Resource<Scope = ClusterResourceScope, DynamicType = ()> + Clone + Debug + DeserializeOwned
{
}

/// Whether writes are real or only validated by the server (`--dry-run=server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    Apply,
    ServerDryRun,
}

#[derive(Clone)]
pub(crate) struct Cluster {
    client: Client,
    /// The caller's settings and connections, over which [`Cluster::impersonating`] acts as
    /// another identity; `None` through a proxy, and for a token's client.
    origin: Option<Arc<Origin>>,
}

struct Origin {
    config: kube::Config,
    https: Https,
    wire: Wire,
}

/// kube's client stack (base URI, authentication, extra headers) over kscope's HTTP client
/// ([`transport`]: HTTP/2 where the server speaks it, TCP_NODELAY), and that client. A context
/// with `proxy-url` goes through kube's own builder, which knows the proxies.
fn builder(
    config: &kube::Config,
) -> std::result::Result<(ClientBuilder<NoDelayService>, Option<Https>), kube::Error> {
    if config.proxy_url.is_some() {
        return ClientBuilder::try_from(config.clone()).map(|b| (b.with_layer(&BoxLayer), None));
    }
    let client = https(config)?;
    Ok((service(config, client.clone(), None)?, Some(client)))
}

/// The service over `client`: base URI, the config's credential (or, with `bearer`, that
/// Authorization header on every request), extra headers.
fn service(
    config: &kube::Config,
    client: Https,
    bearer: Option<http::HeaderValue>,
) -> std::result::Result<ClientBuilder<NoDelayService>, kube::Error> {
    use kube::client::ConfigExt;
    let bearer = bearer.map(|value| {
        tower::util::MapRequestLayer::new(move |mut request: http::Request<kube::client::Body>| {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value.clone());
            request
        })
    });
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .option_layer(bearer)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .map_response(|response: http::Response<hyper::body::Incoming>| {
            response.map(|body| {
                http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
                    body,
                    tower::BoxError::from,
                ))
            })
        })
        .service(client);
    Ok(ClientBuilder::new(
        tower::util::BoxService::new(service),
        config.default_namespace.clone(),
    ))
}

/// The one service type both client stacks end in.
type NoDelayService = tower::util::BoxService<
    http::Request<kube::client::Body>,
    http::Response<http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, tower::BoxError>>,
    tower::BoxError,
>;

/// Boxes kube's own stack into [`NoDelayService`].
struct BoxLayer;

impl<S> tower::Layer<S> for BoxLayer
where
    S: tower::Service<
            http::Request<kube::client::Body>,
            Response = http::Response<Box<kube::client::DynBody>>,
            Error = tower::BoxError,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Service = NoDelayService;

    fn layer(&self, inner: S) -> Self::Service {
        tower::util::BoxService::new(tower::ServiceExt::map_response(
            inner,
            |response: http::Response<Box<kube::client::DynBody>>| {
                response.map(|body| {
                    http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
                        body,
                        tower::BoxError::from,
                    ))
                })
            },
        ))
    }
}

/// The kind of an object type, for the words of an error ("read Secret a/b").
fn kind<K: Resource<DynamicType = ()>>() -> String {
    K::kind(&()).into_owned()
}

impl Cluster {
    /// The one place kscope builds an API client. Every request goes through a layer that
    /// counts it in `wire` and, with `-v`, logs its method and path (never a header or body).
    pub(crate) fn connect(config: kube::Config, wire: &Wire) -> Result<Self> {
        let server = config.cluster_url.to_string();
        let (builder, https) =
            builder(&config).map_err(|e| Error::api("set up the API client", e))?;
        let mut cluster = Cluster::over(builder, server, wire);
        cluster.origin = https.map(|https| {
            Arc::new(Origin {
                config,
                https,
                wire: wire.clone(),
            })
        });
        Ok(cluster)
    }

    /// The caller acting as a ServiceAccount (impersonation: its user name and the groups its
    /// tokens carry), over the caller's own connections; `None` when the caller already
    /// impersonates someone, or is reached through a proxy.
    pub(crate) fn impersonating(&self, namespace: &str, service_account: &str) -> Option<Cluster> {
        let origin = self.origin.as_ref()?;
        if origin.config.auth_info.impersonate.is_some()
            || origin.config.auth_info.impersonate_groups.is_some()
        {
            return None;
        }
        let mut config = origin.config.clone();
        config.auth_info.impersonate = Some(format!(
            "system:serviceaccount:{namespace}:{service_account}"
        ));
        config.auth_info.impersonate_groups = Some(vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{namespace}"),
            "system:authenticated".into(),
        ]);
        let builder = service(&config, origin.https.clone(), None).ok()?;
        Some(Cluster::over(
            builder,
            config.cluster_url.to_string(),
            &origin.wire,
        ))
    }

    /// The client of `builder`, every request counted (and, with `-v`, logged) in `wire`
    /// and bounded by its request timeout.
    fn over(builder: ClientBuilder<NoDelayService>, server: String, wire: &Wire) -> Self {
        let bound = wire.request_timeout.unwrap_or(Duration::MAX);
        // The answer's headers must come within the bound (a watch's events may take longer:
        // they are bounded by the operation's own --timeout).
        let timeout = tower::ServiceBuilder::new()
            .map_err(move |error: tower::BoxError| -> tower::BoxError {
                if error.is::<tower::timeout::error::Elapsed>() {
                    Box::new(RequestTimedOut {
                        server: server.trim_end_matches('/').to_string(),
                        after: bound,
                    })
                } else {
                    error
                }
            })
            .layer(tower::timeout::TimeoutLayer::new(bound));
        let layer = crate::wire::Logged { wire: wire.clone() };
        let client = builder.with_layer(&layer).with_layer(&timeout).build();
        Cluster {
            client,
            origin: None,
        }
    }

    fn namespaced<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A namespaced object, if it exists.
    pub(crate) async fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>>
    where
        K: Namespaced,
    {
        fetch(
            self.namespaced::<K>(namespace),
            &format!("{namespace}/{name}"),
            name,
        )
        .await
    }

    /// A cluster-scoped object, if it exists.
    pub(crate) async fn get_cluster_scoped<K>(&self, name: &str) -> Result<Option<K>>
    where
        K: ClusterScoped,
    {
        fetch(Api::<K>::all(self.client.clone()), name, name).await
    }

    /// The objects of kind `K` that carry kscope's managed-by label, in one namespace or (with
    /// `None`) in all of them: one list request.
    pub(crate) async fn list_managed<K>(&self, namespace: Option<&str>) -> Result<Vec<K>>
    where
        K: Namespaced,
    {
        let api = match namespace {
            Some(ns) => self.namespaced::<K>(ns),
            None => Api::<K>::all(self.client.clone()),
        };
        let params = ListParams::default().labels(&format!("{MANAGED_BY}={FIELD_MANAGER}"));
        let scope = namespace.map_or("all namespaces".to_string(), |ns| format!("namespace {ns}"));
        idempotent(|| api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|e| Error::api(format!("list kscope's {}s in {scope}", kind::<K>()), e))
    }

    /// Deletes a namespaced object; `false` when it was already gone.
    pub(crate) async fn delete<K>(&self, namespace: &str, name: &str) -> Result<bool>
    where
        K: Namespaced,
    {
        let shown = format!("{} {namespace}/{name}", kind::<K>());
        let (api, params) = (self.namespaced::<K>(namespace), DeleteParams::default());
        deleted(idempotent(|| api.delete(name, &params)).await, &shown)
    }

    /// Deletes a namespace; `false` when it was already gone.
    pub(crate) async fn delete_namespace(&self, name: &str) -> Result<bool> {
        self.delete_cluster_scoped::<Namespace>(name).await
    }

    /// Deletes a cluster-scoped object; `false` when it was already gone.
    pub(crate) async fn delete_cluster_scoped<K: ClusterScoped>(&self, name: &str) -> Result<bool> {
        let api = Api::<K>::all(self.client.clone());
        let params = DeleteParams::default();
        deleted(
            idempotent(|| api.delete(name, &params)).await,
            &format!("{} {name}", kind::<K>()),
        )
    }

    /// Every resource the API server serves (CRDs and aggregated APIs included), by aggregated
    /// discovery (two requests), or group by group where the server lacks it.
    pub(crate) async fn served(&self) -> Result<Vec<Served>> {
        use kube::discovery::{Discovery, Scope};
        let discovery = match Discovery::new(self.client.clone()).run_aggregated().await {
            Ok(found) => found,
            Err(_) => Discovery::new(self.client.clone())
                .run()
                .await
                .map_err(|e| Error::api("discover the resources the API server serves", e))?,
        };
        let mut served = Vec::new();
        for group in discovery.groups() {
            for (resource, capabilities) in group.recommended_resources() {
                let namespaced = capabilities.scope == Scope::Namespaced;
                served.push(Served {
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    namespaced,
                    verbs: capabilities.operations.clone(),
                });
                // Subresources (pods/exec, deployments/scale, serviceaccounts/token, …) have
                // verbs of their own and share their resource's scope.
                for (sub, sub_capabilities) in &capabilities.subresources {
                    served.push(Served {
                        group: resource.group.clone(),
                        resource: format!("{}/{}", resource.plural, sub.plural),
                        namespaced,
                        verbs: sub_capabilities.operations.clone(),
                    });
                }
            }
        }
        served.sort_by(|a, b| (&a.group, &a.resource).cmp(&(&b.group, &b.resource)));
        Ok(served)
    }

    /// The objects of kind `K` with the labels `selector`, cluster-wide or in all namespaces
    /// (one list request).
    pub(crate) async fn list_labelled<K>(&self, selector: &str) -> Result<Vec<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
    {
        let api = Api::<K>::all(self.client.clone());
        let params = ListParams::default().labels(selector);
        idempotent(|| api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|e| Error::api(format!("list {}s ({selector})", kind::<K>()), e))
    }

    /// [`Cluster::list_labelled`], where a caller who may not list them everywhere (a tenant
    /// lead with a RoleBinding) finds none.
    pub(crate) async fn list_labelled_visible<K>(&self, selector: &str) -> Result<Vec<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
    {
        match self.list_labelled(selector).await {
            Err(e) if is_forbidden(&e) => Ok(Vec::new()),
            other => other,
        }
    }

    /// Every object of kind `K` the caller can list, in all namespaces or cluster-wide, with an
    /// optional field selector (one list request).
    pub(crate) async fn list_all<K>(&self, fields: Option<&str>) -> Result<Vec<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
    {
        let api = Api::<K>::all(self.client.clone());
        let mut params = ListParams::default();
        if let Some(fields) = fields {
            params = params.fields(fields);
        }
        idempotent(|| api.list(&params))
            .await
            .map(|list| list.items)
            .map_err(|e| Error::api(format!("list {}s in all namespaces", kind::<K>()), e))
    }

    /// The names of all namespaces, sorted (metadata only).
    pub(crate) async fn namespaces(&self) -> Result<Vec<String>> {
        let api = Api::<Namespace>::all(self.client.clone());
        let params = ListParams::default();
        let list = idempotent(|| api.list_metadata(&params))
            .await
            .map_err(|e| Error::api("list namespaces", e))?;
        let mut names: Vec<String> = list.items.iter().map(|n| n.name_any()).collect();
        names.sort();
        Ok(names)
    }

    /// Every grant kscope made that the caller can see, in one namespace or all of them:
    /// (namespace, ServiceAccount) of the RoleBindings it labelled, sorted.
    pub(crate) async fn grants(&self, namespace: Option<&str>) -> Result<Vec<(String, String)>> {
        let params = ListParams::default().labels(&format!("{MANAGED_BY}={FIELD_MANAGER}"));
        let api = match namespace {
            Some(ns) => self.namespaced::<RoleBinding>(ns),
            None => Api::<RoleBinding>::all(self.client.clone()),
        };
        let list = idempotent(|| api.list_metadata(&params))
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

    /// Server-side apply of a namespaced object whose live version (`existing`) the caller
    /// has just read; the outcome says whether it was created, changed or left as it was.
    /// `adopt` forces ownership of fields that other managers hold.
    pub(crate) async fn apply<K>(
        &self,
        object: &K,
        existing: Option<&K>,
        adopt: bool,
        mode: WriteMode,
    ) -> Result<(K, Outcome)>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
        let api = self.namespaced::<K>(&namespace);
        apply_through(
            api,
            &format!("{namespace}/{name}"),
            object,
            existing,
            apply_params(adopt, mode),
        )
        .await
    }
}

/// Whether kscope made (or adopted) the object: it carries kscope's managed-by label.
pub(crate) fn is_managed(meta: &ObjectMeta) -> bool {
    kscope_core::manifest::is_kscopes(meta)
}

fn deleted<T>(answer: std::result::Result<T, kube::Error>, shown: &str) -> Result<bool> {
    match answer {
        Ok(_) => Ok(true),
        Err(e) if is_status(&e, 404) => Ok(false),
        Err(e) => Err(Error::api(format!("delete {shown}"), e)),
    }
}

/// Whether the API server accepts a credential: `Ok(false)` when it answers 401.
pub(crate) async fn accepts(cluster: &Cluster) -> Result<bool> {
    match cluster.whoami().await {
        Ok(_) => Ok(true),
        Err(Error::Api { source, .. }) if is_status(&source, 401) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn fetch<K>(api: Api<K>, shown: &str, name: &str) -> Result<Option<K>>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    idempotent(|| api.get_opt(name))
        .await
        .map_err(|e| Error::api(format!("read {} {shown}", kind::<K>()), e))
}

/// Whether an error is the API server refusing the caller (403).
pub(crate) fn is_forbidden(error: &Error) -> bool {
    matches!(error, Error::Api { source, .. } if is_status(source, 403))
}
