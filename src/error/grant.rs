//! What the cluster says about a grant that stops a command: objects kscope does not own,
//! permissions the caller lacks, namespaces that cannot take objects, grants that are not
//! there or not kscope's. Each variant's sentence is its `#[error]` and its hint is in
//! `GrantError::hint` below; all are exit 1 (requests were sent).

#[derive(Debug, thiserror::Error)]
pub(crate) enum GrantError {
    /// Objects of the grant's names exist and kscope does not manage them ("Role ask/ask-sa").
    #[error("{} already {} and {} not managed by kscope", objects.join(" and "),
        if objects.len() == 1 { "exists" } else { "exist" }, if objects.len() == 1 { "is" } else { "are" })]
    NotManaged { objects: Vec<String> },

    /// The caller lacks permissions that the grant needs; found before anything was created.
    #[error("you may not make this grant: you lack {}", missing.join("; "))]
    MissingPermissions { missing: Vec<String> },

    #[error("namespace {namespace} is being deleted (terminating) and accepts no new objects")]
    NamespaceTerminating { namespace: String },

    #[error(
        "namespace {namespace} does not exist yet, so the server cannot validate objects inside it"
    )]
    NamespaceMissingForServerDryRun { namespace: String },

    #[error("you may not list kscope's objects across all namespaces ({detail})")]
    ListForbidden { detail: String },

    #[error("there is no kscope grant {namespace}/{service_account} (revoked, or never made)")]
    NoSuchGrant {
        namespace: String,
        service_account: String,
    },

    #[error("ClusterRole {name} does not exist")]
    ClusterRoleMissing { name: String },

    #[error("ClusterRole {name} of the grant does not exist")]
    GrantClusterRoleMissing { name: String },

    #[error("no grant named, and none was made from this machine for context {context:?}")]
    NoGrantNamed {
        context: String,
        command: &'static str,
        grants: Vec<(String, String)>,
    },

    #[error(
        "the --kubeconfig-file credential is {identity}, not a ServiceAccount of namespace {namespace}"
    )]
    NotAServiceAccountOf { identity: String, namespace: String },

    #[error(
        "ServiceAccount {namespace}/{service_account} does not exist: the grant was revoked, or never made"
    )]
    ServiceAccountMissing {
        namespace: String,
        service_account: String,
    },

    #[error("ServiceAccount {namespace}/{service_account} was not made by kscope grant")]
    NotGrantedByKscope {
        namespace: String,
        service_account: String,
    },

    #[error(
        "ServiceAccount {namespace}/{service_account} has an unknown kscope.dev/access: {value:?}"
    )]
    UnknownAccessRecord {
        namespace: String,
        service_account: String,
        value: String,
    },

    #[error("the grant used template {name:?}, which this machine does not have")]
    GrantTemplateMissing { name: String },

    #[error("{failed} of {total} tenants failed")]
    TenantsFailed { failed: usize, total: usize },

    /// `rotate`: the new credential could not be put where the old one was delivered.
    #[error("the new credential was not delivered to {}: no context of your kubeconfig points at its cluster", secrets.join(", "))]
    NotRedelivered { secrets: Vec<String> },

    /// `check -f`: some tenants could not be proven, and none differs.
    #[error("{failed} of {total} tenants could not be proven; the others hold")]
    TenantsUnproven { failed: usize, total: usize },

    /// A ClusterRole whose rules, as the server has them, step outside a grant.
    #[error("ClusterRole {name} lets the tenant step outside its grant: {rule}")]
    EscalatingClusterRole { name: String, rule: String },

    #[error("namespace {namespace} admits pods that take their node (Pod Security {}), and the grant can create pods", enforced.as_ref().map_or_else(|| "not enforced".to_string(), ToString::to_string))]
    HostPodsAdmitted {
        namespace: String,
        enforced: Option<kscope_core::spec::Enforced>,
    },

    #[error(
        "kscope cannot tell whether namespace {namespace} admits pods that take their node: {reason}"
    )]
    HostPodsUnknown { namespace: String, reason: String },

    #[error(
        "namespace {namespace} holds ServiceAccount {service_account}, which has more access than the grant through {binding}, and the grant can act as it"
    )]
    SharedNamespace {
        namespace: String,
        service_account: String,
        binding: String,
    },

    #[error("the grant needs kscope's guard, and you may not install it: you lack {}", missing.join("; "))]
    GuardNotPermitted { missing: Vec<String> },

    /// Several refusals of one grant (or TenantSet tenant), found in one run, each with its
    /// fix: a user fixes them all at once instead of learning of one per run.
    #[error("the grant is refused for {} reasons: {}", reasons.len(), numbered(reasons.iter().map(|r| r.to_string())))]
    Refused { reasons: Vec<GrantError> },

    #[error(
        "kscope's guard for namespace {namespace} was installed but was not in force after {seconds}s"
    )]
    GuardNotInForce { namespace: String, seconds: u64 },

    #[error(
        "kscope's always-pull policy was not in force in namespace {namespace} after {seconds}s: a pod that may use a node's cached image was not refused"
    )]
    AlwaysPullNotInForce { namespace: String, seconds: u64 },

    /// `--delete-namespace` where the tenant could have forged kscope's marks.
    #[error(
        "kscope cannot tell whether it created namespace {namespace}: the grant's role may write the Namespace, and kscope's guard is not there to have kept its labels"
    )]
    NamespaceOriginUnknown { namespace: String },

    /// A revoke left the ServiceAccount (not kscope's): its tokens still authenticate.
    #[error("ServiceAccount {namespace}/{service_account} is not kscope's and was left, so its tokens still authenticate (left: {})", left.join(", "))]
    AccountSurvives {
        namespace: String,
        service_account: String,
        left: Vec<String>,
    },

    /// What the tenant made during the grant still holds access, as the API server says.
    #[error("what the tenant made during the grant still holds access: {}", held.join("; "))]
    TenantAccessRemains {
        held: Vec<String>,
        /// `kubectl delete` commands that remove them.
        commands: Vec<String>,
    },
}

impl GrantError {
    /// The line under the sentence: what to do about it.
    pub(crate) fn hint(&self) -> String {
        use GrantError::*;
        match self {
            NotManaged { .. } => {
                "pick another name, or re-run with --adopt to let kscope take the object over".into()
            }
            MissingPermissions { missing } if missing.iter().any(|m| m.contains("resourcequotas") || m.contains("networkpolicies")) => {
                "ask a cluster admin to run the grant, or to give you these permissions (or pass --no-quota, --network open to go without kscope's quota and network policy); nothing was created".into()
            }
            MissingPermissions { .. } => {
                "ask a cluster admin to run the grant, or to give you these permissions; nothing was created".into()
            }
            NamespaceTerminating { .. } => {
                "wait until it is gone, then run the grant again".into()
            }
            NamespaceMissingForServerDryRun { .. } => {
                "use --dry-run (client) to see the manifests, or run the grant".into()
            }
            ListForbidden { .. } => {
                "name a namespace you may read: kscope list -n NAMESPACE".into()
            }
            NoSuchGrant {
                namespace,
                service_account,
            } => format!(
                "kscope list shows the grants there are; make this one with kscope grant {namespace} {service_account}"
            ),
            ClusterRoleMissing { .. } => {
                "name an existing ClusterRole such as edit or view (kubectl get clusterroles)".into()
            }
            GrantClusterRoleMissing { .. } => {
                "re-run the grant with an existing --cluster-role".into()
            }
            NoGrantNamed {
                command, grants, ..
            } if grants.is_empty() => format!(
                "run kscope grant <namespace> <serviceaccount> first, or name one: kscope {command} <namespace> <serviceaccount>"
            ),
            NoGrantNamed {
                command, grants, ..
            } => {
                let names: Vec<String> = grants.iter().map(|(ns, sa)| format!("{ns} {sa}")).collect();
                format!(
                    "name one of the kscope grants: kscope {command} {}",
                    names.join(&format!(" | kscope {command} "))
                )
            }
            NotAServiceAccountOf { .. } => {
                "name the grant: kscope check <namespace> <serviceaccount> --kubeconfig-file FILE".into()
            }
            ServiceAccountMissing {
                namespace,
                service_account,
            } => format!("run kscope grant {namespace} {service_account} first"),
            NotGrantedByKscope { .. } => {
                "say what it should have: --template NAME or --cluster-role NAME".into()
            }
            UnknownAccessRecord { .. } => "pass --template NAME or --cluster-role NAME".into(),
            GrantTemplateMissing { .. } => "pass --template FILE or --template-dir DIR".into(),
            TenantsFailed { .. } => {
                "the table names each failure; the others were granted, and running apply again converges".into()
            }
            NotRedelivered { .. } => {
                "add a context for that cluster to your kubeconfig (or pass --kubeconfig), then run kscope kubeconfig --format … --deliver-to CONTEXT".into()
            }
            TenantsUnproven { .. } => {
                "the table gives each error; fix what it names and check again".into()
            }
            EscalatingClusterRole { .. } => "bind a narrower ClusterRole (edit, view, admin), or pass --allow-escalation if the tenant is meant to hold it; nothing was created".into(),
            HostPodsAdmitted { namespace, .. } => format!(
                "label it: kubectl label namespace {namespace} pod-security.kubernetes.io/enforce=baseline; or pass --allow-host-pods to accept it; nothing was created"
            ),
            HostPodsUnknown { .. } => "the dry run of such a pod could not answer (a missing default ServiceAccount: try again in a moment; or you may not create pods there: have a cluster admin run the grant), or pass --allow-host-pods if the namespace is known to refuse them; nothing was created".into(),
            SharedNamespace { .. } => "grant in a namespace of the tenant's own, grant a role that cannot act as other ServiceAccounts (read-only), or pass --allow-shared-namespace; nothing was created".into(),
            NamespaceOriginUnknown { namespace } => format!(
                "revoke without --delete-namespace, then delete the namespace yourself if it should go (kubectl delete namespace {namespace}); nothing was deleted"
            ),
            AccountSurvives {
                namespace,
                service_account,
                ..
            } => format!(
                "someone changed its labels, or made it: delete it yourself (kubectl -n {namespace} delete serviceaccount {service_account}) if nothing of the grant should act any more; kscope deleted the rest"
            ),
            TenantAccessRemains { commands, .. } if commands.is_empty() => "they are still bound by something kscope did not purge: read the bindings the reason names, and delete them yourself".into(),
            TenantAccessRemains { commands, .. } => format!(
                "run kscope revoke with --purge while the grant exists (it deletes them and proves it), or --delete-namespace; the grant itself is revoked; to delete them now: {}",
                commands.join("; ")
            ),
            AlwaysPullNotInForce { .. } => "check that kube-apiserver runs the ValidatingAdmissionPolicy admission plugin and that no other admission refuses the pod first (kscope check names the reason), then run the grant again".into(),
            GuardNotInForce { .. } => "check that kube-apiserver runs the ValidatingAdmissionPolicy admission plugin (on by default since 1.30), then run the grant again; kscope check shows what is open".into(),
            GuardNotPermitted { .. } => "have a cluster admin run the grant once (it installs the guard), or pass --allow-unguarded to accept the risk; nothing was created".into(),
            Refused { reasons } => numbered(reasons.iter().map(|r| {
                r.hint()
                    .trim_end_matches("; nothing was created")
                    .to_string()
            })) + "; nothing was created",
        }
    }

    /// Whether this stops a grant before any write for a reason its user can fix (as opposed
    /// to a failure to ask the cluster): such reasons are gathered and said together.
    pub(crate) fn refuses_a_grant(&self) -> bool {
        matches!(
            self,
            GrantError::MissingPermissions { .. }
                | GrantError::NotManaged { .. }
                | GrantError::EscalatingClusterRole { .. }
                | GrantError::HostPodsAdmitted { .. }
                | GrantError::HostPodsUnknown { .. }
                | GrantError::SharedNamespace { .. }
                | GrantError::GuardNotPermitted { .. }
                | GrantError::Refused { .. }
        )
    }

    /// One refusal, or all of them as one error: `None` when there is none.
    pub(crate) fn refusal(mut reasons: Vec<GrantError>) -> Option<GrantError> {
        match reasons.len() {
            0 => None,
            1 => reasons.pop(),
            _ => Some(GrantError::Refused { reasons }),
        }
    }
}

/// `(1) first; (2) second`: several sentences on one line, each findable by its number.
fn numbered(items: impl Iterator<Item = String>) -> String {
    items
        .enumerate()
        .map(|(i, text)| format!("({}) {text}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}
