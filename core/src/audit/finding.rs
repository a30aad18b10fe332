//! One finding of the audit, under its rule, and how an `--accept` entry met it.

use serde::Serialize;

use crate::catalog::{ObjectRef, Rule, Severity};

/// One finding: its rule, the object it is about, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(rename = "ruleId")]
    pub rule: Rule,
    pub severity: Severity,
    /// `Kind namespace/name` (or `Kind name` for a cluster-scoped object).
    pub object: String,
    /// The object's apiVersion, kind, namespace and name.
    #[serde(flatten)]
    pub target: ObjectRef,
    /// The namespace the finding concerns (`-n` filters on it); a cluster-scoped object may
    /// concern one, as the guard's binding for a namespace does.
    #[serde(skip)]
    pub scope: Option<String>,
    pub message: String,
    /// What tells this finding apart from the others of its rule on its object, made from
    /// names where the finding is made (a binding, a role, a ServiceAccount), never from the
    /// message, so that it stays the same while the finding does; empty where a rule finds at
    /// most one thing per object. CI formats fingerprint a finding by it.
    #[serde(skip)]
    pub key: String,
    /// Set when an `--accept` entry covers the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Accepted>,
}

/// How an `--accept` entry met a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub expires: String,
    /// The acceptance has expired: the finding counts again.
    pub expired: bool,
}

impl Finding {
    pub fn new(
        rule: Rule,
        target: ObjectRef,
        scope: Option<String>,
        key: String,
        message: String,
    ) -> Self {
        Finding {
            rule,
            severity: rule.severity(),
            object: target.to_string(),
            target,
            scope,
            message,
            key,
            accepted: None,
        }
    }

    /// Whether the finding counts for `--fail-on`: not accepted, or accepted until a day
    /// that has passed.
    pub fn counts(&self) -> bool {
        self.accepted.as_ref().is_none_or(|a| a.expired)
    }
}
