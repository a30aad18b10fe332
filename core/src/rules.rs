//! RBAC rule arithmetic, done the way the API server's authorizer does it: whether a set of
//! `PolicyRule`s allows one request, and which rules a caller lacks to grant others (RBAC
//! escalation prevention). Pure; used by `grant`'s pre-flight and by `check`'s expectations.

use k8s_openapi::api::rbac::v1::PolicyRule;

/// The API group of Roles, RoleBindings, ClusterRoles and ClusterRoleBindings.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One (API group, resource[/subresource], verb) that a request needs. Serialized with the
/// subresource apart: `{group, resource, subresource?, verb}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub group: String,
    pub resource: String,
    pub verb: String,
}

impl Permission {
    pub fn new(group: &str, resource: &str, verb: &str) -> Self {
        Permission {
            group: group.into(),
            resource: resource.into(),
            verb: verb.into(),
        }
    }

    /// The resource and its subresource: `pods/log` is (`pods`, `Some("log")`).
    pub fn parts(&self) -> (&str, Option<&str>) {
        match self.resource.split_once('/') {
            Some((resource, sub)) => (resource, Some(sub)),
            None => (&self.resource, None),
        }
    }

    /// `kubectl`-style resource name: `deployments.apps`, `pods/log`, `pods`.
    pub fn qualified_resource(&self) -> String {
        qualified(&self.resource, &self.group)
    }
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (resource, subresource) = self.parts();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("group", &self.group)?;
        map.serialize_entry("resource", resource)?;
        if let Some(subresource) = subresource {
            map.serialize_entry("subresource", subresource)?;
        }
        map.serialize_entry("verb", &self.verb)?;
        map.end()
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.qualified_resource())
    }
}

fn qualified(resource: &str, group: &str) -> String {
    match (group, resource.split_once('/')) {
        ("", _) => resource.to_string(),
        (g, Some((r, sub))) => format!("{r}.{g}/{sub}"),
        (g, None) => format!("{resource}.{g}"),
    }
}

fn list(values: &Option<Vec<String>>) -> &[String] {
    values.as_deref().unwrap_or(&[])
}

fn matches_verb(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn matches_group(rule: &PolicyRule, group: &str) -> bool {
    list(&rule.api_groups)
        .iter()
        .any(|g| g == "*" || g == group)
}

/// `*` matches every resource and subresource; `*/scale` matches the scale subresource of any.
fn matches_resource(rule: &PolicyRule, resource: &str) -> bool {
    list(&rule.resources).iter().any(|r| {
        r == "*"
            || r == resource
            || resource
                .split_once('/')
                .is_some_and(|(_, sub)| r.strip_prefix("*/").is_some_and(|s| s == sub))
    })
}

/// Whether `rules` allow the request on any object (rules limited to resourceNames do not).
pub fn allows(rules: &[PolicyRule], permission: &Permission) -> bool {
    rules.iter().any(|rule| {
        list(&rule.resource_names).is_empty()
            && matches_verb(rule, &permission.verb)
            && matches_group(rule, &permission.group)
            && matches_resource(rule, &permission.resource)
    })
}

/// Whether `held` covers every (group, resource, verb, name) combination of `wanted`, as the
/// escalation check demands: a wildcard in `wanted` is covered only by a wildcard in `held`.
fn covers(
    held: &PolicyRule,
    wanted_group: &str,
    wanted_resource: &str,
    wanted_verb: &str,
    names: &[String],
) -> bool {
    let held_names = list(&held.resource_names);
    let names_ok = held_names.is_empty()
        || (!names.is_empty() && names.iter().all(|n| held_names.contains(n)));
    matches_verb(held, wanted_verb)
        && matches_group(held, wanted_group)
        && matches_resource(held, wanted_resource)
        && names_ok
}

/// The parts of `wanted` that no rule of `held` covers, one line each ("create pods").
pub fn missing(held: &[PolicyRule], wanted: &[PolicyRule]) -> Vec<String> {
    let mut gaps = Vec::new();
    for rule in wanted {
        let names = list(&rule.resource_names);
        for group in list(&rule.api_groups) {
            for resource in list(&rule.resources) {
                let verbs: Vec<&str> = rule
                    .verbs
                    .iter()
                    .map(String::as_str)
                    .filter(|verb| !held.iter().any(|h| covers(h, group, resource, verb, names)))
                    .collect();
                if !verbs.is_empty() {
                    let line = format!("{} on {}", verbs.join(","), qualified(resource, group));
                    if !gaps.contains(&line) {
                        gaps.push(line);
                    }
                }
            }
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::rule;

    #[test]
    fn a_subresource_is_serialized_apart() {
        let json = |p: Permission| serde_json::to_value(p).unwrap();
        assert_eq!(
            json(Permission::new("", "pods/log", "get")),
            serde_json::json!({"group": "", "resource": "pods", "subresource": "log", "verb": "get"})
        );
        assert_eq!(
            json(Permission::new("apps", "deployments", "list")),
            serde_json::json!({"group": "apps", "resource": "deployments", "verb": "list"})
        );
    }

    #[test]
    fn allows_follows_wildcards_and_subresources() {
        let rules = [
            rule(&["", "*"], &["*"], &["get", "list"]),
            rule(&["apps"], &["*/scale"], &["update"]),
        ];
        assert!(allows(&rules, &Permission::new("", "pods", "list")));
        assert!(allows(
            &rules,
            &Permission::new("apps", "deployments", "get")
        ));
        assert!(allows(&rules, &Permission::new("", "pods/log", "get")));
        assert!(!allows(&rules, &Permission::new("", "pods", "create")));
        assert!(allows(
            &rules,
            &Permission::new("apps", "deployments/scale", "update")
        ));
        assert!(!allows(
            &rules,
            &Permission::new("apps", "deployments", "update")
        ));
        let named = PolicyRule {
            resource_names: Some(vec!["one".into()]),
            ..rule(&[""], &["pods"], &["get"])
        };
        assert!(!allows(&[named], &Permission::new("", "pods", "get")));
    }

    #[test]
    fn missing_lists_exactly_the_uncovered_verbs() {
        let held = [rule(&[""], &["pods", "services"], &["get", "list"])];
        let wanted = [
            rule(&[""], &["pods"], &["get", "create"]),
            rule(&["apps"], &["deployments"], &["get"]),
        ];
        assert_eq!(
            missing(&held, &wanted),
            ["create on pods", "get on deployments.apps"]
        );
        assert!(missing(&[rule(&["*"], &["*"], &["*"])], &wanted).is_empty());
    }

    #[test]
    fn a_wanted_wildcard_needs_a_held_wildcard() {
        let held = [rule(&[""], &["pods", "secrets"], &["get"])];
        let wanted = [rule(&[""], &["*"], &["get"])];
        assert_eq!(missing(&held, &wanted), ["get on *"]);
        assert_eq!(
            Permission::new("apps", "deployments/scale", "get").to_string(),
            "get deployments.apps/scale"
        );
    }
}
