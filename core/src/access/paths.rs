//! The paths out of a namespace that RBAC rules do not show, as `check` tries them: each with
//! a stable id, a key, and a sentence for people. Pure.

use serde::Serialize;

use crate::object::Kind;
use crate::spec::service_account_user;

/// One path out of the namespace, tried as the ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PathProbe {
    /// What was tried: `path` (in words) and `id` (stable) in JSON and YAML.
    #[serde(flatten)]
    pub path: PathOut,
    /// Always `refused`: no path out may be open.
    pub expected: &'static str,
    /// Refused, for a reason that proves the path closed (see `containment::refusal_proves`).
    pub refused: bool,
    /// Neither proven refused nor open: the server refused for another reason (a validation
    /// error, another policy, an authorizer that failed), which says nothing of the path.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unproven: bool,
    /// The server's words: why it refused, or that it would have stored the write; or the
    /// binding that gives another ServiceAccount its power.
    pub reason: String,
}

impl PathProbe {
    /// `unproven: <path>: <the server's words>`, as lists of reasons say it.
    pub fn unproven_words(&self) -> String {
        format!("unproven: {}: {}", self.path, self.reason)
    }
}

/// A path out of the namespace that RBAC rules do not show, as `check` tries it. Its [`id`]
/// never changes meaning (CI formats track an open path by it); its sentence ([`Display`]) is
/// for people and may be reworded.
///
/// [`id`]: PathOut::id
/// [`Display`]: std::fmt::Display
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathOut {
    /// Creating a pod that takes its node, in the grant's own namespace (`home`) or in another
    /// of its namespaces.
    HostPod { namespace: String, home: bool },
    /// Changing the labels of a Namespace of the grant (its Pod Security labels among them).
    NamespaceRelabel { namespace: String, home: bool },
    /// Removing kscope's label from the grant's own ServiceAccount.
    ServiceAccountUnlabel { namespace: String, name: String },
    /// Changing the grant's own RoleBinding (a finalizer added: a change RBAC's escalation
    /// check lets through at once, so that only the guard can refuse it).
    RoleBindingChange { namespace: String, name: String },
    /// Writing Endpoints in a namespace of the grant (CVE-2021-25740).
    EndpointsWrite { namespace: String },
    /// Acting as another ServiceAccount of the namespace that holds more than the grant.
    StrongerAccount {
        namespace: String,
        service_account: String,
    },
    /// The other ServiceAccounts of a namespace, where the authorizer chain goes beyond RBAC
    /// and the caller could not ask the API server about them: never proven refused.
    NeighboursUnjudged { namespace: String },
    /// A namespace of the grant without kscope's (or an admin's) ResourceQuota, LimitRange or
    /// NetworkPolicy, which the grant did not opt out of: its tenant may take the cluster's
    /// capacity, or be reached by every pod.
    BoundMissing { namespace: String, kind: Kind },
    /// Changing or deleting kscope's ResourceQuota, LimitRange or NetworkPolicy.
    BoundWrite { namespace: String, kind: Kind },
    /// Going past a namespace's ResourceQuotas that the API server does not enforce: quota
    /// admission reads what a resource quota controller recorded (`status.hard`), and a quota
    /// no controller has recorded bounds nothing.
    QuotaUnenforced { namespace: String },
    /// A Service that reaches outside the namespace (a node port, a load balancer, an external
    /// name or external IPs), in a namespace of the grant that does not open it.
    ReachingService {
        namespace: String,
        opening: crate::spec::Opening,
    },
    /// A pod of the system's own priority (`system-cluster-critical`): it would preempt every
    /// other namespace's pods and never be preempted by them.
    SystemPriority { namespace: String },
    /// A PersistentVolumeClaim that names a PersistentVolume of the cluster (`spec.volumeName`):
    /// a volume the platform did not give the namespace, perhaps another tenant's data.
    NamedVolume { namespace: String },
    /// A RoleBinding in a namespace of the grant that lets in an identity from outside it (every
    /// authenticated user, as `check` tries it): the tenant opening its namespace to others.
    OutsideBinding { namespace: String },
    /// A pod that may run an image from a node's cache (`imagePullPolicy` other than `Always`)
    /// in a namespace of a grant made with `--always-pull`: another tenant's private image,
    /// pulled there before, without the registry's say.
    CachedImage { namespace: String },
}

impl PathOut {
    /// The stable id of this kind of path.
    pub fn id(&self) -> &'static str {
        match self {
            PathOut::HostPod { .. } => "host-pod",
            PathOut::NamespaceRelabel { .. } => "namespace-relabel",
            PathOut::ServiceAccountUnlabel { .. } => "service-account-unlabel",
            PathOut::RoleBindingChange { .. } => "role-binding-change",
            PathOut::EndpointsWrite { .. } => "endpoints-write",
            PathOut::StrongerAccount { .. } => "stronger-account",
            PathOut::NeighboursUnjudged { .. } => "neighbours-unjudged",
            PathOut::BoundMissing { kind, .. } => match kind {
                Kind::ResourceQuota => "quota-missing",
                Kind::LimitRange => "limits-missing",
                _ => "network-policy-missing",
            },
            PathOut::BoundWrite { kind, .. } => match kind {
                Kind::ResourceQuota => "quota-write",
                Kind::LimitRange => "limits-write",
                _ => "network-policy-write",
            },
            PathOut::QuotaUnenforced { .. } => "quota-unenforced",
            PathOut::ReachingService { opening, .. } => match opening {
                crate::spec::Opening::NodePort => "service-nodeport",
                crate::spec::Opening::LoadBalancer => "service-loadbalancer",
                crate::spec::Opening::ExternalName => "service-externalname",
                crate::spec::Opening::ExternalIps => "service-external-ips",
            },
            PathOut::OutsideBinding { .. } => "binding-outside",
            PathOut::SystemPriority { .. } => "priority-system",
            PathOut::NamedVolume { .. } => "volume-named",
            PathOut::CachedImage { .. } => "cached-image",
        }
    }

    /// What tells this path apart from the others of one check, from names only: the id and
    /// the namespace (and object) it is tried on.
    pub fn key(&self) -> String {
        match self {
            PathOut::HostPod { namespace, .. }
            | PathOut::NamespaceRelabel { namespace, .. }
            | PathOut::EndpointsWrite { namespace }
            | PathOut::NeighboursUnjudged { namespace }
            | PathOut::BoundMissing { namespace, .. }
            | PathOut::BoundWrite { namespace, .. }
            | PathOut::QuotaUnenforced { namespace }
            | PathOut::ReachingService { namespace, .. }
            | PathOut::OutsideBinding { namespace }
            | PathOut::SystemPriority { namespace }
            | PathOut::NamedVolume { namespace }
            | PathOut::CachedImage { namespace } => format!("{}:{namespace}", self.id()),
            PathOut::ServiceAccountUnlabel { namespace, name }
            | PathOut::RoleBindingChange { namespace, name }
            | PathOut::StrongerAccount {
                namespace,
                service_account: name,
            } => format!("{}:{namespace}/{name}", self.id()),
        }
    }
}

impl std::fmt::Display for PathOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathOut::HostPod { home: true, .. } => f.write_str(
                "create a pod that takes its node (privileged, hostPID, hostNetwork, hostPath /)",
            ),
            PathOut::HostPod { namespace, .. } => {
                write!(f, "create a pod that takes its node in {namespace}")
            }
            PathOut::NamespaceRelabel {
                namespace,
                home: true,
            } => write!(f, "relabel its Namespace {namespace}"),
            PathOut::NamespaceRelabel { namespace, .. } => {
                write!(f, "relabel the Namespace {namespace}")
            }
            PathOut::ServiceAccountUnlabel { namespace, name } => write!(
                f,
                "remove kscope's label from its ServiceAccount {namespace}/{name}"
            ),
            PathOut::RoleBindingChange { namespace, name } => write!(
                f,
                "change kscope's RoleBinding {namespace}/{name} (add a finalizer)"
            ),
            PathOut::EndpointsWrite { namespace } => write!(f, "write Endpoints in {namespace}"),
            PathOut::StrongerAccount {
                namespace,
                service_account,
            } => write!(
                f,
                "act as ServiceAccount {}, which holds more than the grant",
                service_account_user(namespace, service_account)
            ),
            PathOut::NeighboursUnjudged { namespace } => write!(
                f,
                "act as another ServiceAccount of {namespace} that an authorizer beyond RBAC makes stronger"
            ),
            PathOut::BoundMissing { namespace, kind } => write!(
                f,
                "{} in {namespace}, without a {kind} (kscope's or an admin's)",
                match kind {
                    Kind::ResourceQuota => "take the cluster's capacity",
                    Kind::LimitRange => "run containers without requests or limits",
                    _ => "be reached by every pod of the cluster",
                }
            ),
            PathOut::BoundWrite { namespace, kind } => {
                write!(f, "change kscope's {kind} in {namespace}")
            }
            PathOut::QuotaUnenforced { namespace } => write!(
                f,
                "take the cluster's capacity in {namespace} past a ResourceQuota the API server does not enforce"
            ),
            PathOut::ReachingService { namespace, opening } => write!(
                f,
                "create a Service that reaches outside {namespace} ({})",
                match opening {
                    crate::spec::Opening::NodePort => "type NodePort: a port on every node",
                    crate::spec::Opening::LoadBalancer =>
                        "type LoadBalancer: node ports and an outside address",
                    crate::spec::Opening::ExternalName => "type ExternalName",
                    crate::spec::Opening::ExternalIps => "externalIPs",
                }
            ),
            PathOut::SystemPriority { namespace } => write!(
                f,
                "run a pod in {namespace} of the system's own priority (system-cluster-critical), which preempts every other namespace's pods"
            ),
            PathOut::NamedVolume { namespace } => write!(
                f,
                "claim a PersistentVolume of the cluster by name in {namespace} (spec.volumeName)"
            ),
            PathOut::OutsideBinding { namespace } => write!(
                f,
                "let identities from outside {namespace} in (a RoleBinding of its role to system:authenticated)"
            ),
            PathOut::CachedImage { namespace } => write!(
                f,
                "run a pod in {namespace} from an image in a node's cache (imagePullPolicy IfNotPresent)"
            ),
        }
    }
}

/// `{"path": <sentence>, "id": <id>}`, flattened into its [`PathProbe`].
impl Serialize for PathOut {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("PathOut", 2)?;
        out.serialize_field("path", &self.to_string())?;
        out.serialize_field("id", self.id())?;
        out.end()
    }
}
