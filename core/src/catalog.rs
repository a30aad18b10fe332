//! The catalog of what `audit` finds and what `check` proves wrong: a stable id per kind of
//! finding, its severity, one sentence and the remediation. CI formats (SARIF, JUnit) and
//! `--accept` files name findings by these ids, so an id never changes meaning. Pure.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        })
    }
}

/// One kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    PowerfulToken,
    TokenInvalidated,
    TokenUnused,
    DefaultRoleWidened,
    ForgedDefaultLabel,
    BroadGroupBinding,
    MissingServiceAccount,
    GrantDrifted,
    HostPods,
    StrongerAccount,
    SystemNamespaceGrant,
    GuardPolicy,
    GuardBinding,
    TenantUnbounded,
    ReachingService,
    QuotaWriter,
    OutsideBinding,
    GrantExpired,
    GrantExpiring,
    CheckIdentity,
    CheckBinding,
    CheckAccess,
    CheckPathOpen,
    CheckMissing,
    CheckFailed,
    CheckUnproven,
}

/// What the catalog says of a rule.
pub struct About {
    pub id: &'static str,
    pub severity: Severity,
    /// What a finding of this rule means, in one sentence.
    pub means: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

impl Rule {
    /// Every rule `audit` reports, in docs/audit.md's order.
    pub const AUDIT: [Rule; 19] = [
        Rule::PowerfulToken,
        Rule::TokenInvalidated,
        Rule::TokenUnused,
        Rule::DefaultRoleWidened,
        Rule::ForgedDefaultLabel,
        Rule::BroadGroupBinding,
        Rule::MissingServiceAccount,
        Rule::GrantDrifted,
        Rule::HostPods,
        Rule::StrongerAccount,
        Rule::SystemNamespaceGrant,
        Rule::GuardPolicy,
        Rule::GuardBinding,
        Rule::TenantUnbounded,
        Rule::ReachingService,
        Rule::QuotaWriter,
        Rule::OutsideBinding,
        Rule::GrantExpired,
        Rule::GrantExpiring,
    ];

    /// The audit rules that judge who may do what from RBAC objects alone: incomplete where
    /// another authorizer (a webhook) allows more.
    pub const RESTS_ON_RBAC: [Rule; 6] = [
        Rule::PowerfulToken,
        Rule::BroadGroupBinding,
        Rule::HostPods,
        Rule::StrongerAccount,
        Rule::QuotaWriter,
        Rule::OutsideBinding,
    ];

    /// Every rule a `check` (or `check -f`) difference falls under.
    pub const CHECK: [Rule; 7] = [
        Rule::CheckIdentity,
        Rule::CheckBinding,
        Rule::CheckAccess,
        Rule::CheckPathOpen,
        Rule::CheckMissing,
        Rule::CheckFailed,
        Rule::CheckUnproven,
    ];

    pub fn id(self) -> &'static str {
        self.about().id
    }

    pub fn severity(self) -> Severity {
        self.about().severity
    }

    /// The rule of an id, as `--accept` files name them.
    pub fn of_id(id: &str) -> Option<Rule> {
        Rule::AUDIT
            .into_iter()
            .chain(Rule::CHECK)
            .find(|rule| rule.id() == id)
    }

    pub fn about(self) -> About {
        let (id, severity, means, fix) = match self {
            Rule::PowerfulToken => (
                "KSCOPE-POWERFUL-TOKEN",
                Severity::High,
                "A long-lived token Secret belongs to a ServiceAccount that a binding gives cluster-admin, every Secret or RBAC escalation: whoever reads the Secret holds that power until it is deleted.",
                "Delete the token Secret and hand out short-lived tokens (kscope kubeconfig --duration), or bind the ServiceAccount to less.",
            ),
            Rule::TokenInvalidated => (
                "KSCOPE-TOKEN-INVALIDATED",
                Severity::Medium,
                "The API server marked this legacy token invalid (kubernetes.io/legacy-token-invalid-since); the Secret is left behind.",
                "Delete the Secret; grant again (kscope grant or rotate) if the tenant still needs a token.",
            ),
            Rule::TokenUnused => (
                "KSCOPE-TOKEN-UNUSED",
                Severity::Medium,
                "A long-lived token older than --unused-for (30 days by default) has not been used within that time (kubernetes.io/legacy-token-last-used): a credential nobody needs, still valid.",
                "Revoke the grant (kscope revoke) or delete the Secret; accept it with --accept if it is kept on purpose (a break-glass token).",
            ),
            Rule::DefaultRoleWidened => (
                "KSCOPE-DEFAULT-ROLE-WIDENED",
                Severity::High,
                "One of Kubernetes' own bindings of a broad group points at a ClusterRole that holds more than Kubernetes gives it: every user or ServiceAccount holds the extra rules.",
                "Restore the ClusterRole's rules (kube-apiserver reconciles its defaults on restart unless autoupdate is off) and find who changed it.",
            ),
            Rule::ForgedDefaultLabel => (
                "KSCOPE-FORGED-DEFAULT-LABEL",
                Severity::High,
                "A binding of a broad group carries kubernetes.io/bootstrapping=rbac-defaults but is not one of Kubernetes' own: the label can be set by anyone who may write bindings, and hides the binding from a casual look.",
                "Delete the binding, or remove the label and judge it as any other binding.",
            ),
            Rule::BroadGroupBinding => (
                "KSCOPE-BROAD-GROUP-BINDING",
                Severity::High,
                "A binding gives a broad group (system:serviceaccounts, system:authenticated, system:unauthenticated) or the anonymous user more than every user gets by default.",
                "Bind the role to the ServiceAccounts or groups that need it instead.",
            ),
            Rule::MissingServiceAccount => (
                "KSCOPE-MISSING-SERVICEACCOUNT",
                Severity::Medium,
                "A binding names a ServiceAccount that does not exist: whoever creates that name inherits the role.",
                "Delete the binding, or remove that subject from it.",
            ),
            Rule::GrantDrifted => (
                "KSCOPE-GRANT-DRIFTED",
                Severity::Medium,
                "A grant kscope made no longer matches what kscope applied (an object missing, changed or without its token).",
                "Run kscope grant (or kscope apply -f) again to restore it, or kscope revoke it.",
            ),
            Rule::HostPods => (
                "KSCOPE-HOST-PODS",
                Severity::High,
                "A binding lets an identity create pods in a namespace whose admission (Pod Security) admits pods that take their node: privileged, host namespaces, hostPath.",
                "Label the namespace pod-security.kubernetes.io/enforce=baseline (or restricted).",
            ),
            Rule::StrongerAccount => (
                "KSCOPE-STRONGER-ACCOUNT",
                Severity::High,
                "A binding lets an identity act as another ServiceAccount of its namespace (run pods as it, mint its tokens, read its Secret) that holds more than it.",
                "Move the stronger ServiceAccount to a namespace of its own, or narrow the role that can act as it.",
            ),
            Rule::SystemNamespaceGrant => (
                "KSCOPE-SYSTEM-NAMESPACE-GRANT",
                Severity::High,
                "A kscope grant lives in one of the cluster's own namespaces (kube-system, kube-public, kube-node-lease, default), beside the identities of the cluster itself.",
                "Revoke it (kscope revoke) and grant in a namespace of the tenant's own.",
            ),
            Rule::GuardPolicy => (
                "KSCOPE-GUARD-POLICY",
                Severity::Medium,
                "kscope's guard (ValidatingAdmissionPolicy kscope-tenant-guard) is missing or changed: tenants may change their Namespace, their grant's objects, Endpoints and quotas, make Services that reach outside, give pods the system's priority, and let others in.",
                "Run kscope grant (or apply) again for a tenant: it restores the policy.",
            ),
            Rule::GuardBinding => (
                "KSCOPE-GUARD-BINDING",
                Severity::Medium,
                "The guard's binding is missing or changed, or a namespace with kscope grants lacks kscope's tenant label: the tenants there are not guarded.",
                "Run kscope grant (or apply) again for a tenant of that namespace: it restores the binding and the label.",
            ),
            Rule::TenantUnbounded => (
                "KSCOPE-TENANT-UNBOUNDED",
                Severity::Medium,
                "A tenant namespace (kscope.dev/tenant) lacks the ResourceQuota (in force: recorded by a resource quota controller), LimitRange or NetworkPolicy its grants give it: its tenants may take the cluster's capacity, or every pod reaches its pods.",
                "Run kscope grant (or apply) again: it gives the namespace kscope's quota, limit range and network policy.",
            ),
            Rule::ReachingService => (
                "KSCOPE-REACHING-SERVICE",
                Severity::High,
                "A Service in a tenant namespace reaches outside it (a NodePort or LoadBalancer opens a port on every node, an ExternalName points anywhere, externalIPs claim addresses for the cluster), and no grant there opens it.",
                "Delete the Service, or grant the tenant with --allow-service for that kind if it is meant to have it.",
            ),
            Rule::QuotaWriter => (
                "KSCOPE-QUOTA-WRITER",
                Severity::Medium,
                "A binding lets ServiceAccounts outside kube-system write ResourceQuotas or LimitRanges in their own namespace: they set their own share of the cluster.",
                "Bind a role without ResourceQuota and LimitRange writes; kscope's guard refuses them in tenant namespaces.",
            ),
            Rule::OutsideBinding => (
                "KSCOPE-OUTSIDE-BINDING",
                Severity::Medium,
                "A RoleBinding in a tenant namespace (kscope.dev/tenant) lets in an identity from outside it (a user, a group, another namespace's ServiceAccount), and it is not kscope's: who may enter a tenant namespace is the platform's to decide, and kscope's guard refuses such bindings from tenants.",
                "Delete the binding or remove those subjects; accept it with --accept if the platform gave that access on purpose.",
            ),
            Rule::GrantExpired => (
                "KSCOPE-GRANT-EXPIRED",
                Severity::Low,
                "A kscope grant's bound token has expired (the API server refuses it), and the grant's ServiceAccount, Role, RoleBinding and Secret remain.",
                "Renew it (kscope rotate, or apply of its TenantSet) if the tenant still needs access; otherwise revoke it (kscope revoke).",
            ),
            Rule::GrantExpiring => (
                "KSCOPE-GRANT-EXPIRING",
                Severity::Low,
                "A kscope grant's bound token expires within --expiring-within (7 days by default): its tenant loses access then unless it is renewed.",
                "Renew it (kscope rotate, or apply of its TenantSet) if the tenant still needs access; accept it with --accept if it is meant to end.",
            ),
            Rule::CheckIdentity => (
                "KSCOPE-CHECK-IDENTITY",
                Severity::High,
                "The credential authenticates as someone other than the grant's ServiceAccount.",
                "Use the kubeconfig kscope wrote for the grant (kscope kubeconfig), or check the right grant.",
            ),
            Rule::CheckBinding => (
                "KSCOPE-CHECK-BINDING",
                Severity::High,
                "The grant's RoleBinding is missing or binds another role than the grant (or the TenantSet) says.",
                "Run kscope grant (or apply -f) again to restore it.",
            ),
            Rule::CheckAccess => (
                "KSCOPE-CHECK-ACCESS",
                Severity::High,
                "The API server answers a question as the ServiceAccount differently than the grant implies: extra access from another binding, or access the grant should give that is missing.",
                "For an allow, the reason names the binding that gives it: remove or narrow it. For a denial, run the grant again.",
            ),
            Rule::CheckPathOpen => (
                "KSCOPE-CHECK-PATH-OPEN",
                Severity::High,
                "A path out of the namespace that RBAC does not show is open to the ServiceAccount (a pod that takes its node, its own Namespace or grant objects, Endpoints, a stronger ServiceAccount).",
                "Label the namespace for Pod Security, restore kscope's guard (grant again), or move the stronger ServiceAccount away, as the reason says.",
            ),
            Rule::CheckMissing => (
                "KSCOPE-CHECK-MISSING",
                Severity::High,
                "A tenant of the TenantSet does not exist on the cluster (its ServiceAccount or namespace is missing).",
                "Run kscope apply -f with the file.",
            ),
            Rule::CheckFailed => (
                "KSCOPE-CHECK-FAILED",
                Severity::Medium,
                "A tenant could not be proven (the error says why).",
                "Fix what the error names and check again.",
            ),
            Rule::CheckUnproven => (
                "KSCOPE-CHECK-UNPROVEN",
                Severity::Medium,
                "The API server could not answer a question as the ServiceAccount (an authorizer of its chain failed: evaluationError), or refused a path out for a reason that does not prove it closed: the check proves nothing there.",
                "Fix what the server said (the authorization webhook, the other admission policy) and check again; the answer is neither a denial nor a difference until then.",
            ),
        };
        About {
            id,
            severity,
            means,
            fix,
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

pub use crate::object::ObjectRef;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_found_again() {
        let all: Vec<Rule> = Rule::AUDIT.into_iter().chain(Rule::CHECK).collect();
        let mut ids: Vec<&str> = all.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for rule in all {
            assert!(rule.id().starts_with("KSCOPE-"));
            assert_eq!(Rule::of_id(rule.id()), Some(rule));
            assert!(rule.about().means.ends_with('.') && rule.about().fix.ends_with('.'));
        }
        assert_eq!(Rule::of_id("KSCOPE-NOPE"), None);
    }
}
