//! The TenantSet file of `kscope apply -f`: parsed with the position of every value, and
//! validated completely (every problem with its line, all at once) before any request. Pure,
//! except for reading the template files a tenant names.
//!
//! ```yaml
//! apiVersion: kscope.dev/v1alpha1
//! kind: TenantSet
//! metadata: {name: platform-teams}
//! spec:
//!   defaults: {template: developer}
//!   tenants:
//!   - {namespace: team-a, serviceAccount: ci, template: deployer}
//!   - {namespace: team-b, serviceAccount: ci, clusterRole: view, kubeconfig: {duration: 24h}}
//! ```

mod document;
mod kubeconfig;

use document::{Document, Field, TenantEntry};
use kubeconfig::{kubeconfig_delivery, kubeconfig_token};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use crate::delivery::System;

use crate::expiry::{Expires, TokenSource};
use crate::invalid::Invalid;
use crate::names::{self, NamespaceName, ServiceAccountName};
use crate::spec::{
    self, Allowances, Capacity, GrantSpec, Network, Opening, PodSecurity, RoleSource, TokenKind,
};
use crate::templates;

pub const API_VERSION: &str = "kscope.dev/v1alpha1";
pub const KIND: &str = "TenantSet";

/// One problem in the file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// A valid TenantSet.
#[derive(Debug, Clone)]
pub struct TenantSet {
    pub name: String,
    pub tenants: Vec<Tenant>,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    /// Labelled with the set's name.
    pub spec: GrantSpec,
    pub token: TokenKind,
    /// `kubeconfig: {format, deliverTo, secretNamespace}`: where `apply` delivers the
    /// credential.
    pub delivery: Option<Delivery>,
}

/// A tenant's credential delivered as a deployment system's Secret into another context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub system: System,
    /// The context (of the caller's kubeconfig) of the management cluster.
    pub context: String,
    pub secret_namespace: String,
}

/// The fields of a tenant's `kubeconfig`.
/// Parses and validates a TenantSet; `file` names it and anchors relative template paths.
/// The result is every problem found, or the set.
pub fn parse(
    text: &str,
    file: &Path,
    template_dir: Option<&Path>,
    allow: Allowances,
    now: i64,
) -> Result<TenantSet, Vec<Problem>> {
    let document: Document = serde_saphyr::from_str(text).map_err(|e| vec![syntax_problem(&e)])?;
    let mut problems = Vec::new();
    let mut problem = |at: (u32, u32), message: String| {
        problems.push(Problem {
            line: at.0,
            column: at.1,
            message,
        })
    };
    let top = (1, 1);
    let name = header(&document, &mut problem);
    let Some(spec) = &document.spec else {
        problem(top, "spec is missing".into());
        return Err(problems);
    };
    let defaults = spec.value.defaults.as_ref();
    if let Some(defaults) = defaults {
        for (key, value) in &defaults.value.unknown {
            problem(
                at(value),
                format!(
                    "unknown field spec.defaults.{key} (a tenant has {})",
                    Field::listed()
                ),
            );
        }
    }
    let tenants = spec.value.tenants.as_deref().unwrap_or_default();
    if tenants.is_empty() {
        problem(at(spec), "spec.tenants is missing or empty".into());
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let dirs = templates::user_dirs(template_dir);
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut valid = Vec::new();
    let context = TenantContext {
        defaults,
        base,
        dirs: &dirs,
        allow,
        set: &name,
        now,
        resolved: Default::default(),
    };
    for entry in tenants {
        if let Some(tenant) = tenant(entry, &context, &mut seen, &mut problem) {
            valid.push(tenant);
        }
    }
    match name {
        Some(name) if problems.is_empty() => Ok(TenantSet {
            name,
            tenants: valid,
        }),
        _ => {
            problems.sort_by_key(|p| (p.line, p.column));
            Err(problems)
        }
    }
}

/// The set's header: apiVersion, kind and metadata (only `name`, a label value). Returns the
/// set's name when it is valid.
fn header(document: &Document, problem: &mut dyn FnMut((u32, u32), String)) -> Option<String> {
    let top = (1, 1);
    match &document.api_version {
        Some(v) if v.value == API_VERSION => {}
        Some(v) => problem(
            at(v),
            format!("apiVersion must be {API_VERSION}, not {:?}", v.value),
        ),
        None => problem(top, format!("apiVersion is missing (it is {API_VERSION})")),
    }
    match &document.kind {
        Some(k) if k.value == KIND => {}
        Some(k) => problem(at(k), format!("kind must be {KIND}, not {:?}", k.value)),
        None => problem(top, format!("kind is missing (it is {KIND})")),
    }
    let name = match document.metadata.as_ref().and_then(|m| m.value.get("name")) {
        Some(name) => match name.value.as_str().map(names::dns1123_subdomain) {
            Some(Ok(())) if name.value.as_str().is_some_and(|n| n.len() <= 63) => {
                name.value.as_str().map(String::from)
            }
            Some(Ok(())) => {
                problem(
                    at(name),
                    "metadata.name is longer than 63 characters (it is a label value)".into(),
                );
                None
            }
            Some(Err(why)) => {
                problem(at(name), format!("metadata.name {} {why}", name.value));
                None
            }
            None => {
                problem(at(name), "metadata.name must be a string".into());
                None
            }
        },
        None => {
            let where_ = document.metadata.as_ref().map_or(top, at);
            problem(where_, "metadata.name is missing: it names the set, and prune only ever touches grants of this set".into());
            None
        }
    };
    if let Some(metadata) = &document.metadata {
        for (key, value) in &metadata.value {
            if key != "name" {
                problem(at(value), format!("unknown field metadata.{key}"));
            }
        }
    }
    name
}

/// What every tenant of the set is read against: the defaults, where relative template paths
/// start, the user's template folders, what the flags allow, and the set's name.
struct TenantContext<'a> {
    defaults: Option<&'a Spanned<TenantEntry>>,
    base: &'a Path,
    dirs: &'a [PathBuf],
    allow: Allowances,
    set: &'a Option<String>,
    /// The time of day (an `expires` time is checked against it).
    now: i64,
    /// The templates named so far, each read once for the whole set.
    resolved: std::cell::RefCell<BTreeMap<String, templates::Template>>,
}

/// One tenant of the set, with the defaults filled in; `None` when it has a problem (each one
/// reported). `seen` remembers the grants listed so far, to report one listed twice.
fn tenant(
    entry: &Spanned<TenantEntry>,
    context: &TenantContext,
    seen: &mut BTreeMap<(String, String), u32>,
    problem: &mut dyn FnMut((u32, u32), String),
) -> Option<Tenant> {
    let here = at(entry);
    let field = |key: Field| {
        entry
            .value
            .get(key)
            .or_else(|| context.defaults.and_then(|d| d.value.get(key)))
    };
    for (key, value) in &entry.value.unknown {
        problem(
            at(value),
            format!("unknown field {key} (a tenant has {})", Field::listed()),
        );
    }
    let text = |key: Field, problem: &mut dyn FnMut((u32, u32), String)| match field(key) {
        Some(v) => match v.value.as_str() {
            Some(s) => Some((s.to_string(), at(v))),
            None => {
                problem(at(v), format!("{} must be a string", key.key()));
                None
            }
        },
        None => None,
    };
    let namespace = match text(Field::Namespace, &mut *problem) {
        Some((value, pos)) => NamespaceName::parse(&value)
            .map_err(Invalid::from)
            .and_then(|ns| {
                spec::refuse_system_namespace(&ns, context.allow.system_namespace).map(|()| ns)
            })
            .map_err(|e| problem(pos, e.to_string()))
            .ok(),
        None => {
            problem(here, "namespace is missing".into());
            None
        }
    };
    let service_account = match text(Field::ServiceAccount, &mut *problem) {
        Some((value, pos)) => ServiceAccountName::parse(&value)
            .map_err(|e| problem(pos, Invalid::from(e).to_string()))
            .ok(),
        None => {
            problem(here, "serviceAccount is missing".into());
            None
        }
    };
    // The tenant's own choice of access wins over the defaults' (template or clusterRole).
    let own = |key: Field| entry.value.get(key);
    let (template, cluster_role) =
        if own(Field::Template).is_some() || own(Field::ClusterRole).is_some() {
            (own(Field::Template), own(Field::ClusterRole))
        } else {
            (field(Field::Template), field(Field::ClusterRole))
        };
    let role = role_of(template, cluster_role, here, context, &mut *problem);
    let (token, delivery) = match field(Field::Kubeconfig) {
        None => (Some(TokenKind::LongLived), Some(None)),
        Some(k) => match &k.value {
            serde_json::Value::Object(options) => {
                let mut say = |message: String| problem(at(k), message);
                (
                    kubeconfig_token(options, &mut say),
                    kubeconfig_delivery(options, &mut say),
                )
            }
            _ => {
                problem(
                    at(k),
                    "kubeconfig must be a map such as {duration: 24h}".into(),
                );
                (None, None)
            }
        },
    };
    let pod_security = match text(Field::PodSecurity, &mut *problem) {
        None => Some(PodSecurity::default()),
        Some((value, pos)) => {
            let level = PodSecurity::parse(&value);
            if level.is_none() {
                problem(
                    pos,
                    format!("podSecurity {value:?} is not restricted, baseline or privileged"),
                );
            }
            level
        }
    };
    let (openings, capacity, network) = bounds_of(&text, &mut *problem);
    let always_pull = match field(Field::AlwaysPull) {
        None => Some(false),
        Some(v) => v.value.as_bool().or_else(|| {
            problem(at(v), "alwaysPull must be true or false".into());
            None
        }),
    };
    // `expires`: a lifetime or a time of day, or `never` (a Secret token, made so on purpose).
    let ends = match text(Field::Expires, &mut *problem) {
        None => Some((None, TokenSource::Auto)),
        Some((value, _)) if value == "never" => Some((None, TokenSource::Secret)),
        Some((value, pos)) => Expires::parse("expires", &value, context.now)
            .map(|rule| (Some(rule), TokenSource::Auto))
            .map_err(|e| problem(pos, e.to_string()))
            .ok(),
    };
    let also_in = also_in_of(
        field(Field::Namespaces),
        namespace.as_ref(),
        context,
        &mut *problem,
    );
    if let (Some(ns), Some(sa)) = (&namespace, &service_account) {
        let key = (ns.to_string(), sa.to_string());
        if let Some(first) = seen.get(&key) {
            problem(
                here,
                format!("{ns}/{sa} is listed twice (first at line {first})"),
            );
        } else {
            seen.insert(key, here.0);
        }
    }
    if let (
        Some(namespace),
        Some(service_account),
        Some(role),
        Some(token),
        Some(pod_security),
        Some(delivery),
        Some(also_in),
        Some(openings),
        Some(capacity),
        Some(network),
        Some((expires, token_source)),
        Some(always_pull),
    ) = (
        namespace,
        service_account,
        role,
        token,
        pod_security,
        delivery,
        also_in,
        openings,
        capacity,
        network,
        ends,
        always_pull,
    ) {
        return Some(Tenant {
            delivery,
            spec: GrantSpec {
                namespace,
                service_account,
                role,
                pod_security,
                set: context.set.clone(),
                also_in,
                openings,
                capacity,
                network,
                always_pull,
                expires,
                token_source,
            },
            token,
        });
    }
    None
}

/// What a tenant opens and how kscope bounds its namespaces: `allowServices` (as
/// `--allow-service`), `quota` (as `--quota`, or `none` as `--no-quota`) and `network`
/// (`isolated`, `isolate-egress` or `open`); each `None` after a problem, reported.
type Text<'t> =
    dyn Fn(Field, &mut dyn FnMut((u32, u32), String)) -> Option<(String, (u32, u32))> + 't;

fn bounds_of(
    text: &Text,
    problem: &mut dyn FnMut((u32, u32), String),
) -> (Option<Vec<Opening>>, Option<Capacity>, Option<Network>) {
    let openings = match text(Field::AllowServices, &mut *problem) {
        None => Some(Vec::new()),
        Some((value, pos)) => Opening::parse_list(&value)
            .map_err(|item| {
                problem(
                    pos,
                    format!("allowServices {item:?} is none of nodeport, loadbalancer, externalname, external-ips"),
                )
            })
            .ok(),
    };
    let capacity = match text(Field::Quota, &mut *problem) {
        None => Some(Capacity::default()),
        Some((value, _)) if value == "none" => Some(Capacity::Unbounded),
        Some((value, pos)) => Capacity::parse_overrides(&value)
            .map(Capacity::Bounded)
            .map_err(|item| {
                problem(
                    pos,
                    format!("quota {item:?} is not NAME=QUANTITY (cpu=4, memory=8Gi, pods=50), and the quota is not none"),
                )
            })
            .ok(),
    };
    let network = match text(Field::Network, &mut *problem) {
        None => Some(Network::default()),
        Some((value, pos)) => match value.as_str() {
            "isolated" => Some(Network::Isolated),
            "isolate-egress" => Some(Network::IsolatedEgress),
            "open" => Some(Network::Open),
            _ => {
                problem(
                    pos,
                    format!("network {value:?} is not isolated, isolate-egress or open"),
                );
                None
            }
        },
    };
    (openings, capacity, network)
}

/// The tenant's access: a template (read, and refused if it escalates) or a ClusterRole, and
/// never both nor neither.
fn role_of(
    template: Option<&Spanned<serde_json::Value>>,
    cluster_role: Option<&Spanned<serde_json::Value>>,
    here: (u32, u32),
    context: &TenantContext,
    problem: &mut dyn FnMut((u32, u32), String),
) -> Option<RoleSource> {
    match (template, cluster_role) {
        (Some(t), Some(_)) => {
            problem(
                at(t),
                "a tenant has either template or clusterRole, not both".into(),
            );
            None
        }
        (None, None) => {
            problem(
                here,
                "the tenant has neither template nor clusterRole (set one, or spec.defaults)"
                    .into(),
            );
            None
        }
        (Some(t), None) => match t.value.as_str() {
            Some(name) => template_for(name, context)
                .map(RoleSource::Template)
                .and_then(|role| spec::refuse_escalation(role, context.allow.escalation))
                .map_err(|e| problem(at(t), e.to_string()))
                .ok(),
            None => {
                problem(at(t), "template must be a string".into());
                None
            }
        },
        (None, Some(c)) => match c.value.as_str().map(names::cluster_role) {
            Some(Ok(name)) => Some(RoleSource::ClusterRole(name)),
            _ => {
                problem(
                    at(c),
                    format!("clusterRole {} is not a valid ClusterRole name", c.value),
                );
                None
            }
        },
    }
}

/// `namespaces`: the other namespaces of the grant, beside the home one, sorted and without
/// repeats; `None` when one is not a namespace the grant may have.
fn also_in_of(
    listed: Option<&Spanned<serde_json::Value>>,
    home: Option<&NamespaceName>,
    context: &TenantContext,
    problem: &mut dyn FnMut((u32, u32), String),
) -> Option<Vec<NamespaceName>> {
    let Some(v) = listed else {
        return Some(Vec::new());
    };
    match v.value.as_array() {
        Some(items) => {
            let mut found = Vec::new();
            let mut ok = true;
            for item in items {
                let parsed = item
                    .as_str()
                    .ok_or_else(|| "namespaces must be a list of namespace names".to_string())
                    .and_then(|s| NamespaceName::parse(s).map_err(|e| Invalid::from(e).to_string()))
                    .and_then(|ns| {
                        spec::refuse_system_namespace(&ns, context.allow.system_namespace)
                            .map(|()| ns)
                            .map_err(|e| e.to_string())
                    });
                match parsed {
                    Ok(ns) if Some(&ns) != home && !found.contains(&ns) => found.push(ns),
                    Ok(_) => {}
                    Err(message) => {
                        problem(at(v), message);
                        ok = false;
                    }
                }
            }
            found.sort();
            ok.then_some(found)
        }
        None => {
            problem(
                at(v),
                "namespaces must be a list such as [team-a-staging, team-a-prod]".into(),
            );
            None
        }
    }
}

/// A YAML file that does not parse, as one problem at the place the parser stopped.
pub fn syntax_problem(e: &serde_saphyr::Error) -> Problem {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| (l.line() as u32, l.column() as u32));
    let message = e.to_string();
    Problem {
        line,
        column,
        message: message.lines().next().unwrap_or(&message).to_string(),
    }
}

/// Where a value of a parsed file starts: (line, column).
pub fn at<T>(spanned: &Spanned<T>) -> (u32, u32) {
    (
        spanned.referenced.line() as u32,
        spanned.referenced.column() as u32,
    )
}

/// A tenant's template: a name (built-in or from the template directories) or a file path,
/// relative to the TenantSet file; each read once per set.
fn template_for(arg: &str, context: &TenantContext) -> Result<templates::Template, Invalid> {
    if let Some(known) = context.resolved.borrow().get(arg) {
        return Ok(known.clone());
    }
    let template = if templates::is_path(arg) {
        templates::load_file(&context.base.join(arg))?
    } else {
        templates::resolve(arg, context.dirs)?
    };
    context
        .resolved
        .borrow_mut()
        .insert(arg.to_string(), template.clone());
    Ok(template)
}

/// The namespaces of a set's tenants, each once.
pub fn namespaces(set: &TenantSet) -> BTreeSet<&str> {
    set.tenants
        .iter()
        .map(|t| t.spec.namespace.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<TenantSet, Vec<Problem>> {
        parse(
            text,
            Path::new("/nonexistent/set.yaml"),
            None,
            Allowances::default(),
            NOW,
        )
    }

    const NOW: i64 = 1_796_000_000;

    #[test]
    fn a_tenant_may_expire_or_be_made_permanent_on_purpose() {
        let head = "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: set}\nspec:\n  defaults: {template: developer}\n  tenants:\n";
        let set = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, expires: 30d}}\n  - {{namespace: b, serviceAccount: ci, expires: never}}\n  - {{namespace: c, serviceAccount: ci}}\n"
        ))
        .unwrap();
        let [a, b, c] = [0, 1, 2].map(|i| &set.tenants[i].spec);
        assert_eq!(
            a.expires,
            Some(Expires::After(std::time::Duration::from_secs(30 * 86_400)))
        );
        assert_eq!((b.expires, b.token_source), (None, TokenSource::Secret));
        assert_eq!((c.expires, c.token_source), (None, TokenSource::Auto));
        assert!(!a.always_pull);
        let pulls = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, alwaysPull: true}}\n"
        ))
        .unwrap();
        assert!(pulls.tenants[0].spec.always_pull);
        let problems = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, alwaysPull: sometimes}}\n"
        ))
        .unwrap_err();
        assert!(
            problems[0]
                .message
                .contains("alwaysPull must be true or false"),
            "{problems:?}"
        );
        let problems = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, expires: 5m}}\n"
        ))
        .unwrap_err();
        assert!(
            problems[0].message.contains("shorter than 10m"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_valid_set_with_defaults() {
        let set = parsed(
            "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata:\n  name: platform-teams\nspec:\n  defaults: {template: developer}\n  tenants:\n  - {namespace: team-a, serviceAccount: ci, template: deployer}\n  - {namespace: team-b, serviceAccount: ci, clusterRole: view, kubeconfig: {duration: 24h}}\n  - {namespace: team-c, serviceAccount: app}\n",
        )
        .unwrap();
        assert_eq!(set.name, "platform-teams");
        let access: Vec<String> = set
            .tenants
            .iter()
            .map(|t| t.spec.role.record().to_string())
            .collect();
        assert_eq!(
            access,
            [
                "template/deployer",
                "clusterrole/view",
                "template/developer"
            ]
        );
        assert_eq!(
            set.tenants[1].token,
            TokenKind::Expiring(std::time::Duration::from_secs(86_400))
        );
        assert!(
            set.tenants
                .iter()
                .all(|t| t.spec.set.as_deref() == Some("platform-teams"))
        );
    }

    #[test]
    fn a_tenant_opens_services_sets_its_quota_and_its_network_and_mistakes_are_named() {
        let head = "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: set}\nspec:\n  defaults: {template: developer, network: isolate-egress}\n  tenants:\n";
        let set = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, allowServices: 'loadbalancer,nodeport', quota: 'cpu=8,pods=100'}}\n  - {{namespace: b, serviceAccount: ci, quota: none, network: open}}\n"
        ))
        .unwrap();
        let (a, b) = (&set.tenants[0].spec, &set.tenants[1].spec);
        assert_eq!(a.openings, [Opening::NodePort, Opening::LoadBalancer]);
        let Capacity::Bounded(overrides) = &a.capacity else {
            panic!("{:?}", a.capacity)
        };
        assert_eq!(overrides["requests.cpu"], "8");
        assert_eq!(overrides["pods"], "100");
        assert_eq!(a.network, Network::IsolatedEgress);
        assert_eq!(b.capacity, Capacity::Unbounded);
        assert_eq!(b.network, Network::Open);
        let problems = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: ci, allowServices: hostport, quota: 'cpu', network: closed}}\n"
        ))
        .unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("allowServices \"hostport\"")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("quota \"cpu\"")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("network \"closed\"")),
            "{messages:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_line_at_once() {
        let problems = parsed(
            "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: set}\nspec:\n  tenants:\n  - {namespace: Team-A, serviceAccount: ci, template: developer}\n  - {namespace: b, serviceAccount: ci}\n  - {namespace: c, serviceAccount: ci, template: developer, clusterRole: view}\n  - {namespace: d, serviceAccount: ci, template: nope}\n  - {namespace: e, serviceAccount: ci, clusterRole: view, kubeconfig: {duration: 5m}}\n  - {namespace: f, serviceAcount: ci, clusterRole: view}\n  - {namespace: g, serviceAccount: ci, clusterRole: view}\n  - {namespace: g, serviceAccount: ci, clusterRole: edit}\n",
        )
        .unwrap_err();
        let lines: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        let has = |line: u32, text: &str| lines.iter().any(|(l, m)| *l == line && m.contains(text));
        assert!(has(6, "invalid namespace name \"Team-A\""), "{lines:?}");
        assert!(has(7, "neither template nor clusterRole"), "{lines:?}");
        assert!(
            has(8, "either template or clusterRole, not both"),
            "{lines:?}"
        );
        assert!(has(9, "unknown template \"nope\""), "{lines:?}");
        assert!(has(10, "at least 10 minutes"), "{lines:?}");
        assert!(has(11, "unknown field serviceAcount"), "{lines:?}");
        assert!(has(11, "serviceAccount is missing"), "{lines:?}");
        assert!(
            has(13, "g/ci is listed twice (first at line 12)"),
            "{lines:?}"
        );
        assert_eq!(problems.len(), 8, "{lines:?}");
    }

    #[test]
    fn deliveries_are_read_and_their_mistakes_named() {
        let head = "apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: set}\nspec:\n  defaults: {template: gitops}\n  tenants:\n";
        let set = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: argo, kubeconfig: {{format: argocd, deliverTo: mgmt}}}}\n  - {{namespace: b, serviceAccount: flux, kubeconfig: {{format: flux, deliverTo: mgmt, secretNamespace: apps, duration: 24h}}}}\n  - {{namespace: c, serviceAccount: ci}}\n"
        ))
        .unwrap();
        let argo = set.tenants[0].delivery.clone().unwrap();
        assert_eq!(
            (
                argo.system,
                argo.context.as_str(),
                argo.secret_namespace.as_str()
            ),
            (System::ArgoCd, "mgmt", "argocd")
        );
        let flux = set.tenants[1].delivery.clone().unwrap();
        assert_eq!(
            (flux.system, flux.secret_namespace.as_str()),
            (System::Flux, "apps")
        );
        assert!(matches!(set.tenants[1].token, TokenKind::Expiring(_)));
        assert_eq!(set.tenants[2].delivery, None);

        let problems = parsed(&format!(
            "{head}  - {{namespace: a, serviceAccount: x, kubeconfig: {{format: argocd}}}}\n  - {{namespace: b, serviceAccount: x, kubeconfig: {{format: flux, deliverTo: mgmt}}}}\n  - {{namespace: c, serviceAccount: x, kubeconfig: {{deliverTo: mgmt}}}}\n  - {{namespace: d, serviceAccount: x, kubeconfig: {{format: helm, deliverTo: mgmt}}}}\n  - {{namespace: e, serviceAccount: x, kubeconfig: {{format: argocd, deliverTo: mgmt, secretNamespace: Argo}}}}\n"
        ))
        .unwrap_err();
        let has = |line: u32, text: &str| {
            problems
                .iter()
                .any(|p| p.line == line && p.message.contains(text))
        };
        assert!(has(7, "needs kubeconfig.deliverTo"), "{problems:?}");
        assert!(
            has(8, "flux needs kubeconfig.secretNamespace"),
            "{problems:?}"
        );
        assert!(
            has(9, "need kubeconfig.format argocd or flux"),
            "{problems:?}"
        );
        assert!(has(10, "not \"helm\""), "{problems:?}");
        assert!(has(11, "not a valid namespace name"), "{problems:?}");
        assert_eq!(problems.len(), 5, "{problems:?}");
    }

    #[test]
    fn the_header_and_syntax_are_checked() {
        let problems = parsed("apiVersion: v1\nkind: Secret\nspec:\n  tenants: []\n").unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("apiVersion must be kscope.dev/v1alpha1")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("kind must be TenantSet")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("metadata.name is missing")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("spec.tenants is missing or empty")),
            "{messages:?}"
        );
        let broken = parsed("apiVersion: kscope.dev/v1alpha1\nkind: [unclosed\n").unwrap_err();
        assert_eq!(broken.len(), 1);
        assert!(broken[0].line >= 2, "{broken:?}");
        let unknown = parsed("apiVersion: kscope.dev/v1alpha1\nkind: TenantSet\nmetadata: {name: s}\nspec: {tenants: []}\nextra: 1\n").unwrap_err();
        assert!(unknown[0].message.contains("extra"), "{unknown:?}");
    }
}
