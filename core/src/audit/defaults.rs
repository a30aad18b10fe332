//! Kubernetes' own bindings of broad groups: which they are, what their ClusterRoles may
//! hold, and the two rules that judge the bindings carrying their label
//! (KSCOPE-DEFAULT-ROLE-WIDENED, KSCOPE-FORGED-DEFAULT-LABEL). Pure.

use k8s_openapi::api::rbac::v1::PolicyRule;

use super::{
    BOOTSTRAP_LABEL, Binding, Finding, Inventory, bootstrap, bound_role, broad_groups, name,
};
use crate::catalog::Rule;

/// The ClusterRoleBindings of broad groups that Kubernetes itself makes (each binds the
/// ClusterRole of its own name). The bootstrapping label alone proves nothing: anyone who may
/// write bindings may set it.
const DEFAULT_BROAD_BINDINGS: [&str; 5] = [
    "system:basic-user",
    "system:cluster-trust-bundle-discovery",
    "system:discovery",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
];

/// Whether a binding is one of Kubernetes' own bindings of broad groups: the label, a known
/// name, and the ClusterRole of that name.
pub(super) fn kubernetes_default(binding: &Binding) -> bool {
    bootstrap(binding.meta)
        && binding.namespace.is_none()
        && DEFAULT_BROAD_BINDINGS.contains(&name(binding.meta))
        && binding.role_ref.kind == "ClusterRole"
        && binding.role_ref.name == name(binding.meta)
}

/// What Kubernetes' own ClusterRoles of broad groups hold, together: asking who one is and
/// what one may do, reading trust bundles, and reading discovery, health and version URLs.
/// A rule of such a role beyond this is not Kubernetes' own.
fn default_broad_rule(rule: &PolicyRule) -> bool {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
    if rule.verbs.iter().any(|v| v == "*") {
        return false;
    }
    if let Some(urls) = rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
        const PUBLIC: [&str; 15] = [
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/healthz",
            "/livez",
            "/readyz",
            "/version",
            "/version/",
            "/openapi",
            "/openapi/*",
            "/.well-known/openid-configuration",
            "/.well-known/openid-configuration/",
            "/openid/v1/jwks",
            "/openid/v1/jwks/",
        ];
        return urls.iter().all(|u| PUBLIC.contains(&u.as_str()))
            && rule.verbs.iter().all(|v| v == "get");
    }
    let allowed: [(&str, &str, &[&str]); 4] = [
        (
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            &["create"],
        ),
        (
            "authorization.k8s.io",
            "selfsubjectrulesreviews",
            &["create"],
        ),
        ("authentication.k8s.io", "selfsubjectreviews", &["create"]),
        (
            "certificates.k8s.io",
            "clustertrustbundles",
            &["get", "list", "watch"],
        ),
    ];
    list(&rule.api_groups).iter().all(|group| {
        list(&rule.resources).iter().all(|resource| {
            allowed.iter().any(|(g, r, verbs)| {
                g == group
                    && r == resource
                    && rule.verbs.iter().all(|v| verbs.contains(&v.as_str()))
            })
        })
    }) && list(&rule.resource_names).is_empty()
}

/// A rule in one line: `verbs on resources (groups)` or `verbs on URLs`.
fn describe(rule: &PolicyRule) -> String {
    let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default().join(",");
    match rule.non_resource_urls.as_ref().filter(|u| !u.is_empty()) {
        Some(urls) => format!("{} on {}", rule.verbs.join(","), urls.join(",")),
        None => format!(
            "{} on {} ({})",
            rule.verbs.join(","),
            list(&rule.resources),
            list(&rule.api_groups)
        ),
    }
}

/// KSCOPE-DEFAULT-ROLE-WIDENED and KSCOPE-FORGED-DEFAULT-LABEL: the bindings of broad groups
/// that carry Kubernetes' bootstrapping label, against those Kubernetes itself makes.
pub(super) fn default_bindings(inventory: &Inventory, bindings: &[Binding]) -> Vec<Finding> {
    let mut found = Vec::new();
    for binding in bindings.iter().filter(|b| bootstrap(b.meta)) {
        let groups = broad_groups(binding);
        if groups.is_empty() {
            continue;
        }
        if kubernetes_default(binding) {
            // Its name is Kubernetes' own; what its ClusterRole holds must be too.
            let rules = inventory.rules_of(binding.role_ref, None);
            if let Some(extra) = rules.iter().find(|r| !default_broad_rule(r)) {
                found.push(Finding::new(
                    Rule::DefaultRoleWidened,
                    binding.object.clone(),
                    None,
                    bound_role(binding),
                    format!(
                        "gives {} to {}, and ClusterRole {} holds more than Kubernetes' own: {}",
                        binding.role_ref.name,
                        groups.join(", "),
                        binding.role_ref.name,
                        describe(extra)
                    ),
                ));
            }
        } else {
            // The label hides nothing: a "default" binding of broad groups that Kubernetes
            // does not make is named here, and judged like any other binding as well.
            found.push(Finding::new(
                Rule::ForgedDefaultLabel,
                binding.object.clone(),
                binding.namespace.map(String::from),
                format!("{}={}", BOOTSTRAP_LABEL.0, BOOTSTRAP_LABEL.1),
                format!(
                    "carries {}={} but is not one of Kubernetes' own bindings of {}: anyone who may write bindings can set that label",
                    BOOTSTRAP_LABEL.0,
                    BOOTSTRAP_LABEL.1,
                    groups.join(", ")
                ),
            ));
        }
    }
    found
}
