//! What a grant is, as data: its name (namespace and ServiceAccount), where its access comes
//! from, the token a kubeconfig holds, and the access record the grant leaves on its
//! ServiceAccount. Built from flags (`plan`), from the wizard's answers and from a TenantSet
//! alike; pure.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::duration::{self, MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS};
use crate::invalid::Invalid;
use crate::names::{NamespaceName, ServiceAccountName};
use crate::templates::{self, Template};

/// The role a grant binds its ServiceAccount to.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleSource {
    /// A Role named like the ServiceAccount, made from this template.
    Template(Template),
    /// An existing ClusterRole, bound in the namespace only.
    ClusterRole(String),
}

impl RoleSource {
    /// What the grant records on its ServiceAccount.
    pub fn record(&self) -> AccessRecord {
        match self {
            RoleSource::Template(t) => AccessRecord::Template(t.name.clone()),
            RoleSource::ClusterRole(name) => AccessRecord::ClusterRole(name.clone()),
        }
    }
}

/// What a grant gave its ServiceAccount, as it records it in the `kscope.dev/access`
/// annotation: `template/<name>` or `clusterrole/<name>`. One parser and one formatter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessRecord {
    Template(String),
    ClusterRole(String),
}

impl AccessRecord {
    /// The annotation's value read back; `None` when it is not one kscope writes. The
    /// annotation is on an object the tenant may be able to write: a template is named by
    /// its name alone (a DNS-1123 label), never by a path, so nothing the tenant writes can
    /// make kscope read a local file.
    pub fn parse(value: &str) -> Option<AccessRecord> {
        match value.split_once('/') {
            Some(("template", name)) if crate::names::dns1123_label(name).is_ok() => {
                Some(AccessRecord::Template(name.to_string()))
            }
            Some(("clusterrole", name)) if crate::names::cluster_role(name).is_ok() => {
                Some(AccessRecord::ClusterRole(name.to_string()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for AccessRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessRecord::Template(name) => write!(f, "template/{name}"),
            AccessRecord::ClusterRole(name) => write!(f, "clusterrole/{name}"),
        }
    }
}

impl serde::Serialize for AccessRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Pod Security Admission label keys.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
pub const WARN_LABEL: &str = "pod-security.kubernetes.io/warn";
pub const AUDIT_LABEL: &str = "pod-security.kubernetes.io/audit";

/// A Pod Security Standard, as the `pod-security.kubernetes.io/*` labels name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum PodSecurity {
    Restricted,
    /// kscope's default: no host namespaces, host paths or privileged containers.
    #[default]
    Baseline,
    /// Anything goes, a pod may take the node: said plainly wherever kscope reports it.
    Privileged,
}

impl PodSecurity {
    pub fn parse(value: &str) -> Option<PodSecurity> {
        match value {
            "restricted" => Some(PodSecurity::Restricted),
            "baseline" => Some(PodSecurity::Baseline),
            "privileged" => Some(PodSecurity::Privileged),
            _ => None,
        }
    }

    /// The labels of a namespace kscope creates: `enforce` at this level, `warn` and `audit`
    /// at restricted, so that users see what the strictest level would refuse.
    pub fn labels(self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (ENFORCE_LABEL.to_string(), self.to_string()),
            (WARN_LABEL.to_string(), PodSecurity::Restricted.to_string()),
            (AUDIT_LABEL.to_string(), PodSecurity::Restricted.to_string()),
        ])
    }
}

/// A namespace's enforced Pod Security level as its label reads: one of the three levels, or a
/// value that is none of them (data from the cluster, kept as read so that reports show it,
/// and never taken for a level that refuses anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enforced {
    Level(PodSecurity),
    Unknown(String),
}

impl Enforced {
    /// The enforced level of a namespace, from its labels; `None` when none is set.
    pub fn of(labels: Option<&BTreeMap<String, String>>) -> Option<Enforced> {
        labels?
            .get(ENFORCE_LABEL)
            .map(|value| Enforced::parse(value))
    }

    pub fn parse(value: &str) -> Enforced {
        PodSecurity::parse(value)
            .map(Enforced::Level)
            .unwrap_or_else(|| Enforced::Unknown(crate::text::printable(value)))
    }

    /// Pods that take their node are admitted at this level.
    pub fn is_privileged(&self) -> bool {
        matches!(self, Enforced::Level(PodSecurity::Privileged))
    }

    /// Pods that take their node are refused at this level (baseline or restricted).
    pub fn refuses_host_pods(&self) -> bool {
        matches!(
            self,
            Enforced::Level(PodSecurity::Baseline | PodSecurity::Restricted)
        )
    }
}

impl fmt::Display for Enforced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Enforced::Level(level) => level.fmt(f),
            Enforced::Unknown(value) => write!(f, "{value:?} (not a Pod Security level)"),
        }
    }
}

impl serde::Serialize for Enforced {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Enforced::Level(level) => s.collect_str(level),
            Enforced::Unknown(value) => s.serialize_str(value),
        }
    }
}

impl fmt::Display for PodSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PodSecurity::Restricted => "restricted",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Privileged => "privileged",
        })
    }
}

/// The sentence every report uses for a namespace whose pods may take the node.
pub const PRIVILEGED_WARNING: &str = "Pod Security is privileged: any pod of this namespace may run privileged, \
     with the node's PID and network namespaces and its file system: root on the node";

/// One grant by name: a ServiceAccount in a namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrantRef {
    pub namespace: NamespaceName,
    pub service_account: ServiceAccountName,
}

impl GrantRef {
    /// The user name the API server gives the ServiceAccount's tokens.
    pub fn username(&self) -> String {
        service_account_user(self.namespace.as_str(), self.service_account.as_str())
    }
}

impl fmt::Display for GrantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.service_account)
    }
}

/// `system:serviceaccount:<namespace>:<name>`: how the API server names a ServiceAccount.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The namespace and name of a ServiceAccount user name, when `user` is one.
pub fn parse_service_account_user(user: &str) -> Option<(&str, &str)> {
    user.strip_prefix("system:serviceaccount:")?.split_once(':')
}

/// What a grant makes.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub namespace: NamespaceName,
    pub service_account: ServiceAccountName,
    pub role: RoleSource,
    /// The Pod Security level of the namespace, when kscope creates it.
    pub pod_security: PodSecurity,
    /// The TenantSet the grant belongs to (`apply`), labelled on every object.
    pub set: Option<String>,
    /// The other namespaces the ServiceAccount is granted the same role in (`--also-in`,
    /// TenantSet `namespaces`): sorted, without the home namespace.
    pub also_in: Vec<NamespaceName>,
    /// The shared machinery the grant opens to its tenant (`--allow-service`): sorted, each
    /// once. Closed by the guard otherwise.
    pub openings: Vec<Opening>,
    /// kscope's ResourceQuota and LimitRange for the grant's namespaces, or none (`--no-quota`).
    pub capacity: Capacity,
    /// kscope's NetworkPolicy for the grant's namespaces (`--network`).
    pub network: Network,
    /// Every pod of the grant's namespaces pulls its images (`--always-pull`), so that no tenant
    /// runs another's private image from a node's cache.
    pub always_pull: bool,
    /// When the grant's access ends (`--expires`); its token is then a bound one, which
    /// `rotate` and `apply` renew. `None`: it ends when revoked.
    pub expires: Option<crate::expiry::Expires>,
    /// Where the grant's token comes from (`--token-source`).
    pub token_source: crate::expiry::TokenSource,
}

/// The share of the cluster kscope gives a grant's namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capacity {
    /// kscope's ResourceQuota (the defaults, with these hard limits set or replaced) and
    /// LimitRange.
    Bounded(BTreeMap<String, String>),
    /// `--no-quota`: neither.
    Unbounded,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity::Bounded(BTreeMap::new())
    }
}

impl Capacity {
    /// `--quota cpu=4,memory=8Gi,pods=50,...`: `cpu` and `memory` stand for their
    /// `requests.` limits; any other key is a ResourceQuota hard limit as Kubernetes names it.
    /// Each value must look like a quantity. An item that does not is returned.
    pub fn parse_overrides(text: &str) -> Result<BTreeMap<String, String>, String> {
        let mut overrides = BTreeMap::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(item.to_string());
            };
            let (key, value) = (key.trim(), value.trim());
            let key_ok = !key.is_empty()
                && key.len() <= 253
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "./-_".contains(c));
            let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let value_ok = !digits.is_empty()
                && value.len() <= 32
                && digits.chars().all(|c| c.is_ascii_digit() || c == '.');
            if !key_ok || !value_ok {
                return Err(item.to_string());
            }
            let key = match key {
                "cpu" | "memory" => format!("requests.{key}"),
                other => other.to_string(),
            };
            overrides.insert(key, value.to_string());
        }
        Ok(overrides)
    }
}

/// How kscope isolates a grant's namespaces on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Traffic into the namespace only from the grant's own namespaces.
    #[default]
    Isolated,
    /// That, and traffic out of it only to the grant's own namespaces and cluster DNS.
    IsolatedEgress,
    /// `--network open`: no NetworkPolicy of kscope's.
    Open,
}

/// A piece of shared cluster machinery that kscope's guard closes to tenants by default and a
/// grant may open (`--allow-service`): each reaches outside the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Opening {
    /// `type: NodePort` Services: a port on every node of the cluster.
    NodePort,
    /// `type: LoadBalancer` Services: node ports and an address outside the cluster.
    LoadBalancer,
    /// `type: ExternalName` Services: a name of the namespace that points at any host.
    ExternalName,
    /// `spec.externalIPs`: addresses claimed for the whole cluster (CVE-2020-8554).
    ExternalIps,
}

impl Opening {
    pub const ALL: [Opening; 4] = [
        Opening::NodePort,
        Opening::LoadBalancer,
        Opening::ExternalName,
        Opening::ExternalIps,
    ];

    /// How flags, labels and reports name it.
    pub fn id(self) -> &'static str {
        match self {
            Opening::NodePort => "nodeport",
            Opening::LoadBalancer => "loadbalancer",
            Opening::ExternalName => "externalname",
            Opening::ExternalIps => "external-ips",
        }
    }

    pub fn parse(text: &str) -> Option<Opening> {
        Opening::ALL.into_iter().find(|o| o.id() == text)
    }

    /// What such a Service reaches, in a sentence.
    pub fn reach(self) -> &'static str {
        match self {
            Opening::NodePort => "a NodePort Service opens a port on every node of the cluster",
            Opening::LoadBalancer => {
                "a LoadBalancer Service opens a port on every node and an address outside the cluster"
            }
            Opening::ExternalName => {
                "an ExternalName Service points a name of the namespace at any host"
            }
            Opening::ExternalIps => {
                "externalIPs claim addresses for the whole cluster, CVE-2020-8554"
            }
        }
    }

    /// A comma-separated list of ids, sorted and each once; an unknown one is named.
    pub fn parse_list(text: &str) -> Result<Vec<Opening>, String> {
        let mut openings = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match Opening::parse(item) {
                Some(opening) => openings.push(opening),
                None => return Err(item.to_string()),
            }
        }
        openings.sort();
        openings.dedup();
        Ok(openings)
    }

    /// The value of the Namespace label that opens `openings`: their ids joined by `.` (a
    /// label value allows no comma).
    pub fn label_value(openings: &[Opening]) -> String {
        openings
            .iter()
            .map(|o| o.id())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The openings a label value names (unknown ids are left out).
    pub fn of_label(value: &str) -> Vec<Opening> {
        value.split('.').filter_map(Opening::parse).collect()
    }
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl GrantSpec {
    /// A grant of `role` to `service_account` in `namespace`, with every other choice at its
    /// default: baseline Pod Security, no other namespace, no opening, kscope's quota and
    /// network policy, no always-pull, a token that ends when revoked.
    pub fn new(
        namespace: NamespaceName,
        service_account: ServiceAccountName,
        role: RoleSource,
    ) -> GrantSpec {
        GrantSpec {
            namespace,
            service_account,
            role,
            pod_security: PodSecurity::default(),
            set: None,
            also_in: Vec::new(),
            openings: Vec::new(),
            capacity: Capacity::default(),
            network: Network::default(),
            always_pull: false,
            expires: None,
            token_source: crate::expiry::TokenSource::default(),
        }
    }

    /// The same grant's objects in another namespace `namespace`: for judging that
    /// namespace as a home one is judged.
    pub fn in_namespace(&self, namespace: &NamespaceName) -> GrantSpec {
        GrantSpec {
            namespace: namespace.clone(),
            also_in: Vec::new(),
            ..self.clone()
        }
    }

    /// How the grant's bound tokens end, when its tokens are bound ones: by `--expires`, or
    /// by the default lifetime for `--token-source bound` alone.
    pub fn bound_rule(&self) -> Option<crate::expiry::Expires> {
        use crate::expiry::{DEFAULT_LIFETIME, Expires, TokenSource};
        match (self.expires, self.token_source) {
            (Some(rule), _) => Some(rule),
            (None, TokenSource::Bound) => Some(Expires::After(DEFAULT_LIFETIME)),
            (None, _) => None,
        }
    }

    pub fn grant_ref(&self) -> GrantRef {
        GrantRef {
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
        }
    }
}

/// The token a kubeconfig holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The token Secret's own, long-lived token.
    LongLived,
    /// A TokenRequest token of this lifetime, bound to the token Secret.
    Expiring(Duration),
}

/// A `--duration`: a token lifetime that the TokenRequest API accepts.
pub fn token_lifetime(value: &str) -> Result<Duration, Invalid> {
    let lifetime = duration::parse(value).map_err(|reason| Invalid::Duration {
        flag: "--duration",
        value: value.to_string(),
        reason,
    })?;
    let seconds = lifetime.as_secs();
    if !(MIN_TOKEN_SECONDS..=MAX_TOKEN_SECONDS).contains(&seconds) {
        return Err(Invalid::TokenLifetime {
            flag: "--duration",
            value: value.to_string(),
            too_long: seconds > MAX_TOKEN_SECONDS,
        });
    }
    Ok(lifetime)
}

/// Any positive duration, for `flag`.
pub fn positive(flag: &'static str, value: &str) -> Result<Duration, Invalid> {
    let invalid = |reason: String| Invalid::Duration {
        flag,
        value: value.to_string(),
        reason,
    };
    match duration::parse(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(invalid("must be positive".into())),
        Err(reason) => Err(invalid(reason)),
    }
}

/// The risks a grant was told to accept, each by its own flag; all off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Allowances {
    /// `--allow-escalation`: a role that grants escalate, bind, impersonate, every verb, or
    /// token creation named outright.
    pub escalation: bool,
    /// `--allow-host-pods`: an existing namespace that admits pods able to take their node.
    pub host_pods: bool,
    /// `--allow-system-namespace`: kube-system, kube-public, kube-node-lease or default.
    pub system_namespace: bool,
    /// `--allow-shared-namespace`: a namespace with a more powerful ServiceAccount that the
    /// grant could act as.
    pub shared_namespace: bool,
    /// `--allow-unguarded`: no guard, because the caller may not install it.
    pub unguarded: bool,
}

/// A template that lets its tenant step outside what it was given is refused, naming the rule,
/// unless `--allow-escalation`; so is binding `cluster-admin`, by name, before any request
/// (other ClusterRoles are judged by their rules once they are read).
pub fn refuse_escalation(role: RoleSource, allow: bool) -> Result<RoleSource, Invalid> {
    if allow {
        return Ok(role);
    }
    match &role {
        RoleSource::Template(template) => {
            if let Some(rule) = templates::escalations(template).into_iter().next() {
                return Err(Invalid::EscalatingTemplate {
                    template: template.name.clone(),
                    rule,
                });
            }
        }
        RoleSource::ClusterRole(name) if name == "cluster-admin" => {
            return Err(Invalid::EscalatingClusterRole {
                name: name.clone(),
                rule: "it holds every verb on every resource".into(),
            });
        }
        RoleSource::ClusterRole(_) => {}
    }
    Ok(role)
}

/// A namespace that holds the cluster's own identities is refused, unless
/// `--allow-system-namespace`.
pub fn refuse_system_namespace(namespace: &NamespaceName, allow: bool) -> Result<(), Invalid> {
    if !allow && SYSTEM_NAMESPACES.contains(&namespace.as_str()) {
        return Err(Invalid::SystemNamespace {
            namespace: namespace.to_string(),
        });
    }
    Ok(())
}

/// The namespaces that hold the cluster's own identities; never handed out without
/// `--allow-system-namespace`.
pub const SYSTEM_NAMESPACES: [&str; 4] =
    ["kube-system", "kube-public", "kube-node-lease", "default"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_record_reads_back_what_it_writes() {
        for record in [
            AccessRecord::Template("developer".into()),
            AccessRecord::ClusterRole("system:aggregate-to-edit".into()),
        ] {
            assert_eq!(AccessRecord::parse(&record.to_string()), Some(record));
        }
        assert_eq!(
            AccessRecord::ClusterRole("view".into()).to_string(),
            "clusterrole/view"
        );
        for foreign in [
            "",
            "template/",
            "role/x",
            "view",
            "clusterrole",
            "template/../../etc/evil.yaml",
            "template//tmp/t.yaml",
            "template/x.yaml",
            "clusterrole/a/b",
        ] {
            assert_eq!(AccessRecord::parse(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn token_lifetimes_are_bounded_like_the_api() {
        assert!(token_lifetime("10m").is_ok());
        assert!(token_lifetime("24h").is_ok());
        let short = token_lifetime("9m59s").unwrap_err();
        assert!(short.to_string().contains("at least 10 minutes"), "{short}");
        assert!(token_lifetime(&format!("{}s", MAX_TOKEN_SECONDS + 1)).is_err());
        assert!(token_lifetime(&format!("{MAX_TOKEN_SECONDS}s")).is_ok());
        assert!(
            token_lifetime("soon")
                .unwrap_err()
                .to_string()
                .starts_with("invalid --duration \"soon\": it needs a number")
        );
        assert_eq!(
            token_lifetime("5m")
                .unwrap_err()
                .for_field("kubeconfig.duration")
                .to_string(),
            "invalid kubeconfig.duration \"5m\": tokens must live at least 10 minutes"
        );
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(
            positive("--timeout", "90s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            positive("--timeout", "0s").unwrap_err().to_string(),
            "invalid --timeout \"0s\": it must be positive"
        );
    }

    #[test]
    fn an_enforced_level_is_read_typed_and_an_unknown_value_refuses_nothing() {
        let labels = |value: &str| {
            Some(BTreeMap::from([(
                ENFORCE_LABEL.to_string(),
                value.to_string(),
            )]))
        };
        let read = |value: &str| Enforced::of(labels(value).as_ref()).unwrap();
        assert!(read("baseline").refuses_host_pods());
        assert!(read("restricted").refuses_host_pods());
        assert!(read("privileged").is_privileged());
        assert!(!read("privileged").refuses_host_pods());
        let odd = read("Baseline\u{1b}");
        assert!(!odd.refuses_host_pods() && !odd.is_privileged());
        assert!(!odd.to_string().contains('\u{1b}'), "{odd}");
        assert_eq!(Enforced::of(None), None);
        assert_eq!(
            serde_json::to_string(&read("baseline")).unwrap(),
            "\"baseline\""
        );
    }
}
