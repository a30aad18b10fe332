//! Pure builders of the objects a grant applies: Namespace, ServiceAccount, token Secret, Role
//! (from a template) and RoleBinding, all labelled so that kscope can find what it made.
//!
//! `--dry-run` prints `to_yaml(&build(spec))`, which is exactly what `grant` applies.

use std::collections::BTreeMap;

use crate::expiry::{BOUND_TOKEN_TYPE, EXPIRES_ANNOTATION, Expires};

use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use serde::Serialize;

use crate::invalid::Unrenderable;
use crate::names::NamespaceName;
use crate::rules::RBAC_GROUP;
use crate::spec::{GrantRef, GrantSpec, RoleSource};

/// The field manager of every server-side apply kscope makes.
pub const FIELD_MANAGER: &str = "kscope";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const GRANT_LABEL: &str = "kscope.dev/grant";
/// On every object of a grant made by `apply`: the TenantSet (`metadata.name`) it belongs to.
pub const SET_LABEL: &str = "kscope.dev/set";
/// On the ServiceAccount: what the grant gave it (`template/<name>` or `clusterrole/<name>`).
pub const ACCESS_ANNOTATION: &str = "kscope.dev/access";
pub const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
pub const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
/// On every Namespace of a grant: kscope's guard applies where it is. See
/// `containment::guard_policy`.
pub const TENANT_LABEL: &str = "kscope.dev/tenant";
/// On a Namespace whose grant opens shared machinery (`--allow-service`): the openings' ids,
/// joined by `.`.
pub const OPENINGS_LABEL: &str = "kscope.dev/allow";
/// On a Namespace of a grant made with `--always-pull`: kscope's always-pull policy refuses
/// pods there whose containers may use a node's cached image.
pub const ALWAYS_PULL_LABEL: &str = "kscope.dev/always-pull";

mod bounds;
use bounds::bounds_yaml;
pub use bounds::{
    BOUNDS_ANNOTATION, Bounds, LIMITS_NAME, NETWORK_POLICY_NAME, QUOTA_NAME, QuotaHold, bounds,
    bounds_record, default_quota, quota_hold,
};
mod ownership;
pub use ownership::handed_to_apply;

/// What a server-side apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    /// Deleted and made again: a RoleBinding whose role changed (a roleRef cannot change).
    Replaced,
    /// Deleted: a Role the grant no longer needs, or an object of a revoked grant.
    Deleted,
    /// To be deleted, but already gone (an earlier revoke got that far).
    Gone,
    /// An existing namespace, deliberately left as it is.
    Exists,
    /// An existing namespace, left as it is but for kscope's tenant labels, added or changed.
    Labelled,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Replaced => "replaced",
            Outcome::Deleted => "deleted",
            Outcome::Gone => "already gone",
            Outcome::Exists => "exists (left untouched)",
            Outcome::Labelled => "exists (labelled kscope.dev/tenant for kscope's guard)",
        })
    }
}

pub use crate::object::Kind;

/// An object type a grant is made of, and its [`Kind`].
pub trait GrantObject {
    const KIND: Kind;
}

impl GrantObject for ResourceQuota {
    const KIND: Kind = Kind::ResourceQuota;
}
impl GrantObject for LimitRange {
    const KIND: Kind = Kind::LimitRange;
}
impl GrantObject for NetworkPolicy {
    const KIND: Kind = Kind::NetworkPolicy;
}
impl GrantObject for Namespace {
    const KIND: Kind = Kind::Namespace;
}
impl GrantObject for ServiceAccount {
    const KIND: Kind = Kind::ServiceAccount;
}
impl GrantObject for Secret {
    const KIND: Kind = Kind::Secret;
}
impl GrantObject for Role {
    const KIND: Kind = Kind::Role;
}
impl GrantObject for RoleBinding {
    const KIND: Kind = Kind::RoleBinding;
}

/// One object a grant applied, and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    pub kind: Kind,
    pub name: String,
    pub result: Outcome,
}

/// The objects of one grant, in the order they are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    pub namespace: Namespace,
    pub service_account: ServiceAccount,
    pub token_secret: Secret,
    /// Absent when the grant binds an existing ClusterRole.
    pub role: Option<Role>,
    pub role_binding: RoleBinding,
    /// The same role in each of the grant's other namespaces, bound to the home
    /// ServiceAccount.
    pub also_in: Vec<AlsoIn>,
    /// kscope's share and isolation of the home namespace.
    pub bounds: Bounds,
}

/// A grant's objects in one of its other namespaces.
#[derive(Debug, Clone, PartialEq)]
pub struct AlsoIn {
    /// As kscope creates it when it is missing (the home namespace's Pod Security).
    pub namespace: Namespace,
    /// kscope's share and isolation of that namespace.
    pub bounds: Bounds,
    pub role: Option<Role>,
    pub role_binding: RoleBinding,
}

/// The label of a grant's objects in its other namespaces that names its home namespace;
/// with [`HOME_GRANT_LABEL`] (its ServiceAccount). Such objects never carry the grant label:
/// they are no grant of their own to `list`, `audit` or prune.
pub const HOME_LABEL: &str = "kscope.dev/home";
pub const HOME_GRANT_LABEL: &str = "kscope.dev/home-grant";
/// On the grant's ServiceAccount: its other namespaces, comma-separated.
pub const ALSO_IN_ANNOTATION: &str = "kscope.dev/also-in";

/// The name of a grant's Role and RoleBinding in its other namespaces.
pub fn extra_name(grant: &GrantRef) -> String {
    format!("kscope.{}.{}", grant.namespace, grant.service_account)
}

/// The label selector of a grant's objects in its other namespaces.
pub fn also_in_selector(grant: &GrantRef) -> String {
    format!(
        "{MANAGED_BY}={FIELD_MANAGER},{HOME_LABEL}={},{HOME_GRANT_LABEL}={}",
        grant.namespace, grant.service_account
    )
}

/// The label selector of every object kscope made for the TenantSet `set`.
pub fn set_selector(set: &str) -> String {
    format!("{MANAGED_BY}={FIELD_MANAGER},{SET_LABEL}={set}")
}

/// Every object kscope made for a grant outside the grant's home namespace.
pub fn all_also_in_selector() -> String {
    format!("{MANAGED_BY}={FIELD_MANAGER},{HOME_LABEL}")
}

/// Whether `meta` is of an object kscope made for `grant` outside its home namespace (what
/// [`also_in_selector`] selects).
pub fn is_also_in_of(meta: &ObjectMeta, grant: &GrantRef) -> bool {
    let label = |key: &str| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get(key))
            .map(String::as_str)
    };
    label(MANAGED_BY) == Some(FIELD_MANAGER)
        && label(HOME_LABEL) == Some(grant.namespace.as_str())
        && label(HOME_GRANT_LABEL) == Some(grant.service_account.as_str())
}

/// A `kscope.dev/also-in` annotation that is not a list of namespace names: data from the
/// cluster that someone other than kscope wrote, reported as such (never as a kscope bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the annotation {ALSO_IN_ANNOTATION} of {kind} {namespace}/{name} is {value:?}, \
     not a comma-separated list of namespace names (it was changed outside kscope)"
)]
pub struct UnreadableAlsoIn {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub value: String,
}

/// The other namespaces a ServiceAccount's annotation records, parsed where they are read.
pub fn also_in_of(meta: &ObjectMeta) -> Result<Vec<NamespaceName>, UnreadableAlsoIn> {
    Ok(recorded_also_in(meta, "ServiceAccount")?.unwrap_or_default())
}

/// The other namespaces a grant's token Secret records, so that `kubeconfig` reads one object;
/// `None` for a Secret that records none (a grant's not applied since the Secret began to
/// record them, a rotated one's, a bound token's): its ServiceAccount says.
pub fn also_in_of_secret(secret: &Secret) -> Result<Option<Vec<NamespaceName>>, UnreadableAlsoIn> {
    recorded_also_in(&secret.metadata, "Secret")
}

fn recorded_also_in(
    meta: &ObjectMeta,
    kind: &'static str,
) -> Result<Option<Vec<NamespaceName>>, UnreadableAlsoIn> {
    let Some(value) = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(ALSO_IN_ANNOTATION))
    else {
        return Ok(None);
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|ns| {
            NamespaceName::parse(ns).map_err(|_| UnreadableAlsoIn {
                kind,
                namespace: meta.namespace.clone().unwrap_or_default(),
                name: meta.name.clone().unwrap_or_default(),
                value: crate::text::printable(value),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn also_in(spec: &GrantSpec, namespace: &NamespaceName) -> AlsoIn {
    let grant = spec.grant_ref();
    let name = extra_name(&grant);
    let metadata = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.to_string()),
        labels: Some(BTreeMap::from([
            (MANAGED_BY.to_string(), FIELD_MANAGER.to_string()),
            (HOME_LABEL.to_string(), grant.namespace.to_string()),
            (
                HOME_GRANT_LABEL.to_string(),
                grant.service_account.to_string(),
            ),
        ])),
        ..Default::default()
    };
    let (role, role_ref) = match &spec.role {
        RoleSource::Template(template) => (
            Some(Role {
                metadata: metadata.clone(),
                rules: Some(template.rules.clone()),
            }),
            ("Role", name),
        ),
        RoleSource::ClusterRole(cluster_role) => (None, ("ClusterRole", cluster_role.clone())),
    };
    AlsoIn {
        namespace: self::namespace(&spec.in_namespace(namespace)),
        bounds: bounds(spec, namespace.as_str()),
        role,
        role_binding: RoleBinding {
            metadata,
            role_ref: RoleRef {
                api_group: RBAC_GROUP.to_string(),
                kind: role_ref.0.to_string(),
                name: role_ref.1,
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".to_string(),
                name: spec.service_account.to_string(),
                namespace: Some(spec.namespace.to_string()),
                api_group: None,
            }]),
        },
    }
}

fn labels(grant: &GrantRef, set: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (MANAGED_BY.to_string(), FIELD_MANAGER.to_string()),
        (
            GRANT_LABEL.to_string(),
            grant.service_account.as_str().to_string(),
        ),
    ]);
    if let Some(set) = set {
        labels.insert(SET_LABEL.to_string(), set.to_string());
    }
    labels
}

fn meta_of(grant: &GrantRef, set: Option<&str>, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(grant.namespace.as_str().to_string()),
        labels: Some(labels(grant, set)),
        ..Default::default()
    }
}

fn meta(spec: &GrantSpec, name: &str) -> ObjectMeta {
    meta_of(&spec.grant_ref(), spec.set.as_deref(), name)
}

/// The TenantSet a grant belongs to, from an object's labels.
pub fn set_of(meta: &ObjectMeta) -> Option<String> {
    meta.labels.as_ref()?.get(SET_LABEL).cloned()
}

/// Whether an object belongs to the grant: kscope's labels, with the grant's name.
pub fn belongs_to(meta: &ObjectMeta, grant: &GrantRef) -> bool {
    let labels = meta.labels.as_ref();
    let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
    is_kscopes(meta) && label(GRANT_LABEL) == Some(grant.service_account.as_str())
}

/// Whether kscope made the object: its label, and a managed-fields entry of kscope's field
/// manager, from its create or its apply (a label alone is what anyone who may write the
/// object can set).
pub fn is_kscopes(meta: &ObjectMeta) -> bool {
    let labelled = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY))
        .is_some_and(|v| v == FIELD_MANAGER);
    let applied = meta
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| entry.manager.as_deref() == Some(FIELD_MANAGER));
    labelled && applied
}

/// The Namespace of a grant, as kscope creates it (an existing one is never changed): with
/// its Pod Security labels.
pub fn namespace(spec: &GrantSpec) -> Namespace {
    let mut labels = spec.pod_security.labels();
    labels.insert(MANAGED_BY.to_string(), FIELD_MANAGER.to_string());
    if let Some(set) = &spec.set {
        labels.insert(SET_LABEL.to_string(), set.clone());
    }
    labels.extend(tenant_labels(spec));
    Namespace {
        metadata: ObjectMeta {
            name: Some(spec.namespace.as_str().to_string()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The labels kscope puts on every Namespace of a grant, one it creates or one that exists:
/// [`TENANT_LABEL`] (the guard applies there) and, when the grant opens anything,
/// [`OPENINGS_LABEL`].
pub fn tenant_labels(spec: &GrantSpec) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(TENANT_LABEL.to_string(), "true".to_string())]);
    if !spec.openings.is_empty() {
        labels.insert(
            OPENINGS_LABEL.to_string(),
            crate::spec::Opening::label_value(&spec.openings),
        );
    }
    if spec.always_pull {
        labels.insert(ALWAYS_PULL_LABEL.to_string(), "true".to_string());
    }
    labels
}

/// Whether a Namespace carries the labels of [`tenant_labels`], and no opening more.
pub fn has_tenant_labels(namespace: &Namespace, spec: &GrantSpec) -> bool {
    let labels = namespace.metadata.labels.clone().unwrap_or_default();
    let wanted = tenant_labels(spec);
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
        && [OPENINGS_LABEL, ALWAYS_PULL_LABEL]
            .iter()
            .all(|key| wanted.contains_key(*key) || !labels.contains_key(*key))
}

pub fn service_account(spec: &GrantSpec) -> ServiceAccount {
    let mut metadata = meta(spec, spec.service_account.as_str());
    let mut annotations = BTreeMap::from([(
        ACCESS_ANNOTATION.to_string(),
        spec.role.record().to_string(),
    )]);
    if !spec.also_in.is_empty() {
        let list: Vec<&str> = spec.also_in.iter().map(NamespaceName::as_str).collect();
        annotations.insert(ALSO_IN_ANNOTATION.to_string(), list.join(","));
    }
    // The grant's record of what kscope bounds its namespaces with, for check and audit.
    annotations.insert(BOUNDS_ANNOTATION.to_string(), bounds_record(spec));
    // The grant's record of what it opens (its Namespace's label is what the guard reads).
    if !spec.openings.is_empty() {
        let list: Vec<&str> = spec.openings.iter().map(|o| o.id()).collect();
        annotations.insert(OPENINGS_LABEL.to_string(), list.join(","));
    }
    // When the grant's access ends (its tokens are bound ones).
    if let Some(rule) = spec.bound_rule() {
        annotations.insert(EXPIRES_ANNOTATION.to_string(), rule.record());
    }
    metadata.annotations = Some(annotations);
    // `.secrets` stays unset: it is no token index, and listed Secrets are what the
    // legacy-token clean-up targets.
    ServiceAccount {
        metadata,
        ..Default::default()
    }
}

/// The grant's token Secret. For a long-lived token, the token controller fills in `token`,
/// `ca.crt` and `namespace`. For a bound one (`bound`), nothing fills it in: kscope stores the
/// bound token there (field manager `kscope-token`), and deleting the Secret ends the token.
pub fn token_secret(grant: &GrantRef, set: Option<&str>, bound: bool) -> Secret {
    let mut metadata = meta_of(grant, set, &grant.service_account.token_secret());
    let type_ = if bound {
        BOUND_TOKEN_TYPE
    } else {
        metadata.annotations = Some(BTreeMap::from([(
            SA_NAME_ANNOTATION.to_string(),
            grant.service_account.as_str().to_string(),
        )]));
        TOKEN_SECRET_TYPE
    };
    Secret {
        metadata,
        type_: Some(type_.to_string()),
        ..Default::default()
    }
}

/// Makes a grant's manifests hold a bound token that ends by `rule` (a grant whose live token
/// Secret is a bound one keeps it so, and a cluster that fills in no token Secret gets one).
pub fn bind_token(manifests: &mut Manifests, rule: &Expires) {
    manifests
        .service_account
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(EXPIRES_ANNOTATION.to_string(), rule.record());
    manifests.token_secret.type_ = Some(BOUND_TOKEN_TYPE.to_string());
    manifests.token_secret.metadata.annotations = None;
}

/// Whether a token Secret holds a bound token kscope stored.
pub fn is_bound(secret: &Secret) -> bool {
    secret.type_.as_deref() == Some(BOUND_TOKEN_TYPE)
}

pub fn role(spec: &GrantSpec) -> Option<Role> {
    match &spec.role {
        RoleSource::Template(template) => Some(Role {
            metadata: meta(spec, spec.service_account.as_str()),
            rules: Some(template.rules.clone()),
        }),
        RoleSource::ClusterRole(_) => None,
    }
}

pub fn role_binding(spec: &GrantSpec) -> RoleBinding {
    let (kind, name) = match &spec.role {
        RoleSource::Template(_) => ("Role", spec.service_account.as_str().to_string()),
        RoleSource::ClusterRole(name) => ("ClusterRole", name.clone()),
    };
    RoleBinding {
        metadata: meta(spec, spec.service_account.as_str()),
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_string(),
            kind: kind.to_string(),
            name,
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name: spec.service_account.as_str().to_string(),
            namespace: Some(spec.namespace.as_str().to_string()),
            api_group: None,
        }]),
    }
}

pub fn build(spec: &GrantSpec) -> Manifests {
    let mut token_secret = token_secret(
        &spec.grant_ref(),
        spec.set.as_deref(),
        spec.bound_rule().is_some(),
    );
    // The grant's other namespaces, on the Secret too (an empty list says "none"), so that
    // `kubeconfig` reads one object instead of two.
    if let Some(annotations) = token_secret.metadata.annotations.as_mut() {
        let list: Vec<&str> = spec.also_in.iter().map(NamespaceName::as_str).collect();
        annotations.insert(ALSO_IN_ANNOTATION.to_string(), list.join(","));
    }
    Manifests {
        namespace: namespace(spec),
        service_account: service_account(spec),
        token_secret,
        role: role(spec),
        role_binding: role_binding(spec),
        also_in: spec.also_in.iter().map(|ns| also_in(spec, ns)).collect(),
        bounds: bounds(spec, spec.namespace.as_str()),
    }
}

/// One YAML document of an object.
pub fn object_yaml<T: serde::Serialize>(object: &T) -> Result<String, Unrenderable> {
    serde_saphyr::to_string(object).map_err(|e| Unrenderable {
        what: "YAML",
        detail: e.to_string(),
    })
}

/// The grant as multi-document YAML, in apply order.
pub fn to_yaml(manifests: &Manifests) -> Result<String, Unrenderable> {
    to_yaml_with(manifests, true)
}

/// The grant as multi-document YAML; without its Namespace when another grant of the same
/// output already has it.
pub fn to_yaml_with(manifests: &Manifests, namespace: bool) -> Result<String, Unrenderable> {
    let mut docs = Vec::new();
    if namespace {
        docs.push(object_yaml(&manifests.namespace)?);
    }
    docs.push(object_yaml(&manifests.service_account)?);
    docs.push(object_yaml(&manifests.token_secret)?);
    if let Some(role) = &manifests.role {
        docs.push(object_yaml(role)?);
    }
    docs.push(object_yaml(&manifests.role_binding)?);
    if namespace {
        docs.extend(bounds_yaml(&manifests.bounds)?);
    }
    for extra in &manifests.also_in {
        if namespace {
            docs.push(object_yaml(&extra.namespace)?);
            docs.extend(bounds_yaml(&extra.bounds)?);
        }
        if let Some(role) = &extra.role {
            docs.push(object_yaml(role)?);
        }
        docs.push(object_yaml(&extra.role_binding)?);
    }
    Ok(docs.iter().map(|d| format!("---\n{d}")).collect())
}

/// Whether the live object already holds every field of `wanted` with the same value (maps
/// may hold more; lists must match item by item).
pub fn covers<K: Serialize>(live: &K, wanted: &K) -> bool {
    match (serde_json::to_value(live), serde_json::to_value(wanted)) {
        (Ok(live), Ok(wanted)) => {
            contains(&live, &wanted) && ownership::drops_nothing(&live, &wanted)
        }
        _ => false,
    }
}

fn contains(live: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (live, wanted) {
        (Value::Object(live), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, value)| live.get(key).is_some_and(|l| contains(l, value))),
        (Value::Array(live), Value::Array(wanted)) => {
            live.len() == wanted.len() && live.iter().zip(wanted).all(|(l, w)| contains(l, w))
        }
        (live, wanted) => live == wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{NamespaceName, ServiceAccountName};
    use crate::templates;
    use crate::test_support::snapshot;

    fn spec(role: RoleSource) -> GrantSpec {
        GrantSpec::new(
            NamespaceName::parse("ask").unwrap(),
            ServiceAccountName::parse("ask-sa").unwrap(),
            role,
        )
    }

    #[test]
    fn every_template_renders_the_same_five_objects() {
        for template in templates::built_ins() {
            let name = template.name.clone();
            let yaml = to_yaml(&build(&spec(RoleSource::Template(template)))).unwrap();
            snapshot(&format!("grant_template_{name}"), &yaml);
        }
    }

    #[test]
    fn a_cluster_role_grant_has_no_role() {
        let manifests = build(&spec(RoleSource::ClusterRole("edit".into())));
        assert!(manifests.role.is_none());
        assert_eq!(manifests.role_binding.role_ref.kind, "ClusterRole");
        snapshot("grant_cluster_role_edit", &to_yaml(&manifests).unwrap());
    }

    #[test]
    fn objects_carry_ownership_and_never_list_the_secret_on_the_sa() {
        let m = build(&spec(RoleSource::Template(
            templates::built_ins().remove(0),
        )));
        assert!(m.service_account.secrets.is_none());
        for labels in [
            &m.service_account.metadata.labels,
            &m.token_secret.metadata.labels,
            &m.role_binding.metadata.labels,
        ] {
            let labels = labels.as_ref().unwrap();
            assert_eq!(labels[MANAGED_BY], "kscope");
            assert_eq!(labels[GRANT_LABEL], "ask-sa");
        }
        assert_eq!(
            m.token_secret.metadata.name.as_deref(),
            Some("ask-sa-token")
        );
        assert_eq!(m.token_secret.type_.as_deref(), Some(TOKEN_SECRET_TYPE));
        assert_eq!(
            m.token_secret.metadata.annotations.as_ref().unwrap()[SA_NAME_ANNOTATION],
            "ask-sa"
        );
    }

    #[test]
    fn an_also_in_record_is_parsed_where_it_is_read_and_a_bad_one_is_cluster_data() {
        let meta = |value: &str| ObjectMeta {
            namespace: Some("ask".into()),
            name: Some("ask-sa".into()),
            annotations: Some([(ALSO_IN_ANNOTATION.to_string(), value.to_string())].into()),
            ..Default::default()
        };
        let read: Vec<String> = also_in_of(&meta("b, c,"))
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(read, ["b", "c"]);
        assert_eq!(also_in_of(&ObjectMeta::default()), Ok(Vec::new()));
        let bad = also_in_of(&meta("b,Not_A_Namespace\u{1b}[31m")).unwrap_err();
        assert_eq!(
            (bad.namespace.as_str(), bad.name.as_str()),
            ("ask", "ask-sa")
        );
        let said = bad.to_string();
        assert!(said.contains("changed outside kscope"), "{said}");
        assert!(
            !said.contains('\u{1b}'),
            "cluster data is made printable: {said}"
        );
    }
}
