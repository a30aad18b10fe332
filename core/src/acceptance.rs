//! `audit --accept FILE`: known findings accepted with a reason until a date. The file is a
//! YAML list of `{ruleId, object: {kind, namespace, name}, reason, expires}` (`name: "*"`
//! for every object of that kind there), validated whole: every problem is reported with its
//! line before any request. Pure.

use std::collections::BTreeMap;

use k8s_openapi::jiff::civil::Date;
use serde_saphyr::Spanned;

use crate::catalog::{ObjectRef, Rule};
use crate::object::Kind;
use crate::tenants::{Problem, at, syntax_problem};

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub rule: Rule,
    pub kind: Kind,
    /// `None`: a cluster-scoped object.
    pub namespace: Option<String>,
    /// `None` for `*`: every object of the kind (in the namespace).
    pub name: Option<String>,
    pub reason: String,
    /// The last day the acceptance holds (UTC).
    pub expires: Date,
}

impl Acceptance {
    /// Whether the entry names this finding.
    pub fn covers(&self, rule: Rule, object: &ObjectRef) -> bool {
        self.rule == rule
            && self.kind == object.kind
            && self.namespace == object.namespace
            && self.name.as_ref().is_none_or(|name| *name == object.name)
    }

    /// Whether `today` is past the last day.
    pub fn expired(&self, today: Date) -> bool {
        today > self.expires
    }
}

type Fields = BTreeMap<String, Spanned<serde_json::Value>>;

const FIELDS: [&str; 4] = ["ruleId", "object", "reason", "expires"];
const OBJECT_FIELDS: [&str; 3] = ["kind", "namespace", "name"];

/// Every entry of the file, or every problem in it.
pub fn parse(text: &str) -> Result<Vec<Acceptance>, Vec<Problem>> {
    let entries: Vec<Spanned<Fields>> =
        serde_saphyr::from_str(text).map_err(|e| vec![syntax_problem(&e)])?;
    let mut problems = Vec::new();
    let mut accepted = Vec::new();
    for entry in &entries {
        if let Some(found) = one(entry, &mut problems) {
            accepted.push(found);
        }
    }
    if problems.is_empty() {
        Ok(accepted)
    } else {
        Err(problems)
    }
}

fn one(entry: &Spanned<Fields>, problems: &mut Vec<Problem>) -> Option<Acceptance> {
    let before = problems.len();
    let mut problem = |at: (u32, u32), message: String| {
        problems.push(Problem {
            line: at.0,
            column: at.1,
            message,
        })
    };
    let fields = &entry.value;
    for (key, value) in fields {
        if !FIELDS.contains(&key.as_str()) {
            problem(
                at(value),
                format!("unknown field {key:?} (an entry has {})", FIELDS.join(", ")),
            );
        }
    }
    let text = |key: &str, problem: &mut dyn FnMut((u32, u32), String)| -> Option<String> {
        match fields.get(key) {
            None => {
                problem(at(entry), format!("the entry has no {key}"));
                None
            }
            Some(v) => match v.value.as_str() {
                Some(s) if !s.trim().is_empty() => Some(s.to_string()),
                _ => {
                    problem(at(v), format!("{key} must be a non-empty string"));
                    None
                }
            },
        }
    };
    let rule = text("ruleId", &mut problem).and_then(|id| {
        let rule = Rule::of_id(&id);
        if rule.is_none() {
            problem(
                at(&fields["ruleId"]),
                format!("unknown ruleId {id:?} (kscope audit's rules are listed in docs/audit.md)"),
            );
        }
        rule
    });
    let reason = text("reason", &mut problem);
    let expires = text("expires", &mut problem).and_then(|day| match day.parse::<Date>() {
        Ok(date) => Some(date),
        Err(_) => {
            problem(
                at(&fields["expires"]),
                format!("expires must be a date as YYYY-MM-DD, not {day:?}"),
            );
            None
        }
    });
    let object = match fields.get("object") {
        None => {
            problem(at(entry), "the entry has no object".into());
            None
        }
        Some(spanned) => object(spanned, &mut problem),
    };
    if problems.len() > before {
        return None;
    }
    let (kind, namespace, name) = object?;
    Some(Acceptance {
        rule: rule?,
        kind,
        namespace,
        name,
        reason: reason?,
        expires: expires?,
    })
}

type Named = (Kind, Option<String>, Option<String>);

/// `{kind, namespace?, name}` of an entry.
fn object(
    spanned: &Spanned<serde_json::Value>,
    problem: &mut dyn FnMut((u32, u32), String),
) -> Option<Named> {
    let Some(map) = spanned.value.as_object() else {
        problem(
            at(spanned),
            "object must be a map of kind, namespace and name".into(),
        );
        return None;
    };
    let mut ok = true;
    for key in map.keys() {
        if !OBJECT_FIELDS.contains(&key.as_str()) {
            problem(
                at(spanned),
                format!(
                    "unknown field {key:?} in object (it has {})",
                    OBJECT_FIELDS.join(", ")
                ),
            );
            ok = false;
        }
    }
    let mut field = |key: &str, required: bool| match map.get(key) {
        None if required => {
            problem(at(spanned), format!("object has no {key}"));
            ok = false;
            None
        }
        None => None,
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => {
            problem(
                at(spanned),
                format!("object's {key} must be a non-empty string"),
            );
            ok = false;
            None
        }
    };
    let kind = field("kind", true);
    let namespace = field("namespace", false);
    let name = field("name", true);
    let kind = match kind.as_deref().map(|k| (k, Kind::parse(k))) {
        Some((_, Some(kind))) => Some(kind),
        Some((other, None)) => {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            problem(
                at(spanned),
                format!(
                    "object's kind {other:?} is not one audit reports (one of {})",
                    known.join(", ")
                ),
            );
            None
        }
        None => None,
    };
    if !ok {
        return None;
    }
    let name = name?;
    Some((kind?, namespace, (name != "*").then_some(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_file_is_read_and_matches_by_kind_namespace_and_name() {
        let text = "\
- ruleId: KSCOPE-TOKEN-UNUSED
  object: {kind: Secret, namespace: ops, name: \"*\"}
  reason: break-glass tokens, kept on purpose
  expires: 2027-06-30
- ruleId: KSCOPE-BROAD-GROUP-BINDING
  object: {kind: ClusterRoleBinding, name: everyone-views}
  reason: read-only dashboards
  expires: \"2026-01-31\"
";
        let accepted = parse(text).unwrap();
        assert_eq!(accepted.len(), 2);
        let secret = ObjectRef::namespaced(Kind::Secret, "ops", "break-glass");
        assert!(accepted[0].covers(Rule::TokenUnused, &secret));
        assert!(!accepted[0].covers(Rule::PowerfulToken, &secret));
        assert!(!accepted[0].covers(
            Rule::TokenUnused,
            &ObjectRef::namespaced(Kind::Secret, "dev", "x")
        ));
        let binding = ObjectRef::cluster_scoped(Kind::ClusterRoleBinding, "everyone-views");
        assert!(accepted[1].covers(Rule::BroadGroupBinding, &binding));
        let today: Date = "2026-12-01".parse().unwrap();
        assert!(!accepted[0].expired(today));
        assert!(accepted[1].expired(today));
        assert!(
            !accepted[1].expired("2026-01-31".parse().unwrap()),
            "the last day holds"
        );
    }

    #[test]
    fn every_problem_is_named_with_its_line() {
        let text = "\
- ruleId: KSCOPE-NOPE
  object: {kind: Secret, name: x}
  reason: r
  expires: 2027-02-30
- ruleId: KSCOPE-TOKEN-UNUSED
  object: {kind: Secret, nmae: x}
  reason: r
  expires: 2027-01-01
  owner: me
";
        let problems = parse(text).unwrap_err();
        let said = |line: u32, text: &str| {
            problems
                .iter()
                .any(|p| p.line == line && p.message.contains(text))
        };
        assert!(said(1, "unknown ruleId \"KSCOPE-NOPE\""), "{problems:?}");
        assert!(said(4, "expires must be a date"), "{problems:?}");
        assert!(said(6, "unknown field \"nmae\" in object"), "{problems:?}");
        assert!(said(9, "unknown field \"owner\""), "{problems:?}");
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(parse("{not: a list}").is_err());
    }
}
