//! What refuses a grant before any write, all of it in one run: the caller's missing
//! permissions (asked up front), and the refusals the other checks find, gathered.

use k8s_openapi::api::rbac::v1::PolicyRule;

use crate::cluster::{Cluster, is_forbidden};
use crate::error::GrantError;
use crate::error::{Error, Result};
use kscope_core::rules::RBAC_GROUP as RBAC;
use kscope_core::rules::{self, Permission};
use kscope_core::spec::{Capacity, Network};
use kscope_core::spec::{GrantSpec, RoleSource};

/// The refusals of one grant, gathered across its checks so that all are said at once.
#[derive(Default)]
pub(super) struct Refusals(pub(super) Vec<GrantError>);

impl Refusals {
    /// A check's value, or `None` once its refusals are noted; any other error ends the grant.
    pub(super) fn note<T>(&mut self, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(Error::Grant(GrantError::Refused { reasons })) => {
                self.0.extend(reasons);
                Ok(None)
            }
            Err(Error::Grant(refusal)) if refusal.refuses_a_grant() => {
                self.0.push(refusal);
                Ok(None)
            }
            // Once the caller is refused for what it lacks, a read it may not make is one more
            // sign of the same: the refusals already say what to do.
            Err(other) if !self.0.is_empty() && is_forbidden(&other) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Nothing refused, or every refusal as one error.
    pub(super) fn finish(self) -> Result<()> {
        match GrantError::refusal(self.0) {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        }
    }
}

/// What the caller may do, as found before anything is written.
#[derive(Default)]
pub(super) struct Preflight {
    /// May bind any Role of the namespace (the server then binds a Role without looking it up).
    pub(super) may_bind: bool,
    /// May create namespaces.
    pub(super) may_create: bool,
    /// Holds every verb on every resource (so may impersonate the ServiceAccount too).
    pub(super) holds_everything: bool,
    /// What it lacks for the grant's writes and the role's permissions (RBAC escalation
    /// prevention), said as "verb on resource".
    pub(super) missing: Vec<String>,
}

/// Finds, before anything is created, what the caller lacks: the writes a grant makes, and
/// (RBAC escalation prevention) every permission the role would hand out. One
/// SelfSubjectRulesReview answers both; where its answer is incomplete (webhook authorizers),
/// the API server's own refusal is left to speak. `role_rules` are the rules the grant hands
/// out (`None`: a ClusterRole the caller may not read). Whether the caller may create
/// namespaces is asked at the same time, whether or not the namespace exists (the read of
/// the namespace goes on meanwhile).
pub(super) async fn preflight(
    cluster: &Cluster,
    spec: &GrantSpec,
    role_rules: Option<&[PolicyRule]>,
) -> Result<Preflight> {
    let ns = spec.namespace.as_str();
    // A caller that holds every verb on every resource of every group (a cluster
    // administrator) lacks nothing: one review answers what a rules review and a namespace
    // question would. Anyone else is asked those two.
    let everything = (None, Permission::new("*", "*", "*"));
    if cluster.can_i(&[everything]).await?.first() == Some(&true) {
        return Ok(Preflight {
            may_bind: true,
            may_create: true,
            holds_everything: true,
            missing: Vec::new(),
        });
    }
    let may_create = async {
        let question = (None, Permission::new("", "namespaces", "create"));
        Ok(cluster
            .can_i(&[question])
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    };
    let (caller, may_create) = futures::try_join!(cluster.caller_rules(ns), may_create)?;
    let mut missing = Vec::new();
    let may_bind =
        !caller.incomplete && rules::allows(&caller.rules, &Permission::new(RBAC, "roles", "bind"));
    if !caller.incomplete {
        let own = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let write = |group: &str, resources: &[&str]| PolicyRule {
            api_groups: own(&[group]),
            resources: own(resources),
            verbs: ["get", "create", "patch"].map(String::from).to_vec(),
            ..Default::default()
        };
        let mut writes = vec![write("", &["serviceaccounts", "secrets"])];
        // kscope's bounds of the namespace, unless the grant opts out of them.
        if spec.capacity != Capacity::Unbounded {
            writes.push(write("", &["resourcequotas", "limitranges"]));
        }
        if spec.network != Network::Open {
            writes.push(write("networking.k8s.io", &["networkpolicies"]));
        }
        let granted: Vec<PolicyRule> = match &spec.role {
            RoleSource::Template(template) => {
                writes.push(write(RBAC, &["roles", "rolebindings"]));
                let escalate = Permission::new(RBAC, "roles", "escalate");
                if rules::allows(&caller.rules, &escalate) {
                    Vec::new()
                } else {
                    template.rules.clone()
                }
            }
            RoleSource::ClusterRole(_) => {
                writes.push(write(RBAC, &["rolebindings"]));
                let bind = Permission::new(RBAC, "clusterroles", "bind");
                match role_rules {
                    Some(held) if !rules::allows(&caller.rules, &bind) => held
                        .iter()
                        .filter(|r| r.resources.as_ref().is_some_and(|r| !r.is_empty()))
                        .cloned()
                        .collect(),
                    // May bind anything, or may not read ClusterRoles (the server's own
                    // check will decide).
                    _ => Vec::new(),
                }
            }
        };
        missing.extend(rules::missing(&caller.rules, &writes));
        missing.extend(rules::missing(&caller.rules, &granted));
    }
    Ok(Preflight {
        may_bind,
        may_create,
        holds_everything: false,
        missing,
    })
}
