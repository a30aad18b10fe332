//! `check -f`'s report: what the proof of each tenant of a TenantSet came to.

use serde::Serialize;

use crate::access::AccessCheck;

/// What the proof of one tenant came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Everything the file says holds, and every path out is refused.
    Ok,
    /// Access, the binding, the identity or containment differ from the file.
    Differs,
    /// The ServiceAccount (or its namespace) does not exist.
    Missing,
    /// It could not be proven (the error says why).
    Failed,
    /// Nothing differs, but an answer or a path out could not be proven: an authorizer failed
    /// to decide, or the server refused a path for a reason that proves nothing.
    Unproven,
}

impl Verdict {
    /// What a proof came to: a difference wins over what could not be proven.
    pub fn of(report: &AccessCheck) -> Verdict {
        if !report.all_match() {
            Verdict::Differs
        } else if report.proven() {
            Verdict::Ok
        } else {
            Verdict::Unproven
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Differs => "differs",
            Verdict::Missing => "missing",
            Verdict::Failed => "failed",
            Verdict::Unproven => "unproven",
        })
    }
}

/// One tenant on one cluster.
#[derive(Debug, Clone)]
pub struct Item {
    pub context: String,
    pub namespace: String,
    pub service_account: String,
    pub verdict: Verdict,
    /// Why it is not ok: the first differences, or the error.
    pub reasons: Vec<String>,
    /// The proof, when one was made.
    pub report: Option<AccessCheck>,
}
