//! The "high" arguments: validated plans for every command, built from clap's "low" arguments
//! (`cli`) or directly from the wizard's answers. Nothing here sends a request; a plan that
//! leaves this module is valid, and a value that is not becomes an `Error` with exit 2 naming
//! the argument or flag. The only reads are of local files the flags name (templates) and a
//! look at where `--output` would go.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    AccessArgs, ApplyArgs, AuditArgs, CheckArgs, DryRun, GrantArgs, KubeconfigArgs, ListArgs,
    RevokeArgs, RotateArgs,
};
use crate::cli::{ContainmentArgs, CredentialFormat, PodSecurityLevel};
use crate::error::{Input, Result, Unwritable};
use crate::kubeconfig;
use kscope_core::acceptance::{self, Acceptance};
use kscope_core::delivery;
use kscope_core::expiry::{Expires, TokenSource};
use kscope_core::invalid::Invalid;
use kscope_core::names::{self, NamespaceName, ServiceAccountName};
use kscope_core::spec::{
    self, Allowances, Capacity, GrantRef, GrantSpec, Opening, PodSecurity, RoleSource, TokenKind,
    refuse_escalation,
};
use kscope_core::templates;
use kscope_core::tenants::{self, TenantSet};

/// `kscope grant`, validated.
#[derive(Debug, Clone)]
pub(crate) struct GrantPlan {
    pub(crate) spec: GrantSpec,
    pub(crate) adopt: bool,
    pub(crate) dry_run: Option<DryRun>,
    /// How long to wait for the token controller.
    pub(crate) timeout: Duration,
    /// Check up front that the caller may make the grant (`apply` checks once for the set).
    pub(crate) preflight: bool,
    /// Remember it as this machine's last grant for the context (`apply` does not).
    pub(crate) remember: bool,
    /// The risks the flags accept.
    pub(crate) allow: Allowances,
    /// Prove a guard it installs in force before reporting the grant made (`apply` leaves
    /// that to `kscope check`, so a fleet is not held up a second per new namespace).
    pub(crate) prove_guard: bool,
    /// `--renew-before`: how near its end a bound token is renewed (default: a third of its
    /// life).
    pub(crate) renew_before: Option<Duration>,
}

/// `kscope apply`, validated: the whole file before any request.
#[derive(Debug, Clone)]
pub(crate) struct ApplyPlan {
    pub(crate) set: TenantSet,
    pub(crate) kubeconfig_dir: Option<PathBuf>,
    pub(crate) concurrency: usize,
    pub(crate) prune: bool,
    pub(crate) confirmed: bool,
    pub(crate) dry_run: Option<DryRun>,
    pub(crate) timeout: Duration,
    /// The risks the flags accept, for every tenant.
    pub(crate) allow: Allowances,
    /// `--renew-before`, for every tenant's bound token.
    pub(crate) renew_before: Option<Duration>,
}

/// Where a kubeconfig goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    /// Written atomically with mode 0600; an existing file only with `force`.
    File {
        path: PathBuf,
        force: bool,
    },
}

/// `kscope kubeconfig`, validated.
#[derive(Debug, Clone)]
pub(crate) struct KubeconfigPlan {
    /// A kubeconfig, or a deployment system's Secret holding the credential.
    pub(crate) format: CredentialPlan,
    /// `--deliver-to`: the context of the cluster the Secret is applied into.
    pub(crate) deliver_to: Option<String>,
    /// `None`: the grant last made from this machine for the context.
    pub(crate) grant: Option<GrantRef>,
    pub(crate) token: TokenKind,
    pub(crate) destination: Destination,
    /// A server that grants a shorter `--duration` is an error, not a warning.
    pub(crate) strict_duration: bool,
    pub(crate) server: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
}

/// What `kubeconfig --format` emits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialPlan {
    Kubeconfig,
    /// Argo CD's cluster Secret, in `secret_namespace`, named `name` in Argo CD.
    Argocd {
        secret_namespace: String,
        name: Option<String>,
    },
    /// Flux's kubeconfig Secret, in `secret_namespace`.
    Flux {
        secret_namespace: String,
    },
}

/// `kscope check`, validated.
#[derive(Debug, Clone)]
pub(crate) struct CheckPlan {
    /// `None`: the grant of `--kubeconfig-file`'s identity, else the last grant made here.
    pub(crate) grant: Option<GrantRef>,
    /// Check through this kubeconfig instead of a freshly minted token.
    pub(crate) through: Option<PathBuf>,
    /// `--trust-kubeconfig-file`: that file may use exec plugins, files and proxies.
    pub(crate) trust_file: bool,
    /// What the grant should allow; `None`: what the grant recorded on its ServiceAccount.
    pub(crate) role: Option<RoleSource>,
    /// Where templates named by a recorded grant are looked up.
    pub(crate) template_dirs: Vec<PathBuf>,
    /// Ask about every resource the server serves, not the fixed matrix.
    pub(crate) all_resources: bool,
    /// One SelfSubjectAccessReview per question, no rules review.
    pub(crate) access_reviews: bool,
}

/// `kscope audit`, validated.
#[derive(Debug, Clone)]
pub(crate) struct AuditPlan {
    pub(crate) namespace: Option<NamespaceName>,
    /// `--unused-for` and `--expiring-within`, in seconds.
    pub(crate) thresholds: kscope_core::audit::Thresholds,
    /// `--accept`: the findings accepted, every entry valid.
    pub(crate) accepted: Vec<Acceptance>,
}

pub(crate) fn audit(args: &AuditArgs) -> Result<AuditPlan> {
    let namespace = args
        .namespace
        .as_deref()
        .map(NamespaceName::parse)
        .transpose()?;
    let unused_for = spec::positive("--unused-for", &args.unused_for)?;
    let expiring_within = spec::positive("--expiring-within", &args.expiring_within)?;
    let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let accepted = match &args.accept {
        None => Vec::new(),
        Some(path) => {
            let text = kscope_core::files::read_text(path).map_err(|e| Input::FileUnreadable {
                path: path.clone(),
                detail: e.to_string(),
                flag: "--accept",
            })?;
            acceptance::parse(&text).map_err(|problems| Input::InvalidFile {
                path: path.clone(),
                problems,
            })?
        }
    };
    Ok(AuditPlan {
        namespace,
        thresholds: kscope_core::audit::Thresholds {
            unused_for: seconds(unused_for),
            expiring_within: seconds(expiring_within),
        },
        accepted,
    })
}

/// `kscope check -f FILE`, validated.
#[derive(Debug, Clone)]
pub(crate) struct CheckSetPlan {
    pub(crate) set: TenantSet,
    /// Tenants proven at once, per cluster.
    pub(crate) concurrency: usize,
    pub(crate) all_resources: bool,
    pub(crate) access_reviews: bool,
}

/// `kscope list`, validated.
#[derive(Debug, Clone)]
pub(crate) struct ListPlan {
    /// `None`: every namespace.
    pub(crate) namespace: Option<NamespaceName>,
}

/// `kscope revoke`, validated.
#[derive(Debug, Clone)]
pub(crate) struct RevokePlan {
    pub(crate) grant: GrantRef,
    /// `--yes`: no question.
    pub(crate) confirmed: bool,
    pub(crate) dry_run: bool,
    pub(crate) delete_namespace: bool,
    /// `--purge`: also delete what the tenant made during the grant.
    pub(crate) purge: bool,
    /// How long the old token may take to be refused.
    pub(crate) timeout: Duration,
}

/// `kscope rotate`, validated.
#[derive(Debug, Clone)]
pub(crate) struct RotatePlan {
    pub(crate) grant: GrantRef,
    pub(crate) token: TokenKind,
    pub(crate) destination: Destination,
    pub(crate) strict_duration: bool,
    pub(crate) timeout: Duration,
    /// `--renew-before`: rotate only a bound token that expires within this long.
    pub(crate) renew_before: Option<Duration>,
}

pub(crate) fn list(args: &ListArgs) -> Result<ListPlan> {
    Ok(ListPlan {
        namespace: args
            .namespace
            .as_deref()
            .map(NamespaceName::parse)
            .transpose()?,
    })
}

pub(crate) fn revoke(args: &RevokeArgs) -> Result<RevokePlan> {
    Ok(RevokePlan {
        grant: named(&args.namespace, &args.serviceaccount)?,
        confirmed: args.yes,
        dry_run: args.dry_run,
        delete_namespace: args.delete_namespace,
        purge: args.purge,
        timeout: timeout(&args.timeout)?,
    })
}

pub(crate) fn rotate(args: &RotateArgs) -> Result<RotatePlan> {
    Ok(RotatePlan {
        grant: named(&args.namespace, &args.serviceaccount)?,
        token: token_kind(args.emit.duration.as_deref())?,
        destination: destination(args.emit.output.as_deref(), args.emit.force)?,
        strict_duration: args.emit.strict_duration,
        timeout: timeout(&args.timeout)?,
        renew_before: renew_before(args.renew_before.as_deref())?,
    })
}

fn named(namespace: &str, service_account: &str) -> Result<GrantRef> {
    Ok(GrantRef {
        namespace: NamespaceName::parse(namespace)?,
        service_account: ServiceAccountName::parse(service_account)?,
    })
}

fn token_kind(duration: Option<&str>) -> Result<TokenKind> {
    Ok(match duration {
        Some(value) => TokenKind::Expiring(spec::token_lifetime(value)?),
        None => TokenKind::LongLived,
    })
}

fn destination(output: Option<&Path>, force: bool) -> Result<Destination> {
    Ok(match output {
        Some(path) => {
            kubeconfig::check_destination(path, force, "--output")?;
            Destination::File {
                path: path.to_path_buf(),
                force,
            }
        }
        None => Destination::Stdout,
    })
}

fn namespace_of(value: &str) -> Result<NamespaceName> {
    Ok(NamespaceName::parse(value)?)
}

/// `--also-in`: valid names, none a system namespace (unless allowed), sorted, without
/// duplicates or the home namespace.
pub(crate) fn also_in(
    home: &NamespaceName,
    given: &[String],
    allow: Allowances,
) -> Result<Vec<NamespaceName>> {
    let mut namespaces = Vec::new();
    for value in given {
        let namespace = NamespaceName::parse(value)?;
        spec::refuse_system_namespace(&namespace, allow.system_namespace)?;
        if &namespace != home && !namespaces.contains(&namespace) {
            namespaces.push(namespace);
        }
    }
    namespaces.sort();
    Ok(namespaces)
}

pub(crate) fn grant(args: &GrantArgs) -> Result<GrantPlan> {
    let allow = allowances(&args.containment, args.allow_escalation);
    let namespace = NamespaceName::parse(&args.namespace)?;
    spec::refuse_system_namespace(&namespace, allow.system_namespace)?;
    Ok(GrantPlan {
        spec: GrantSpec {
            namespace,
            service_account: ServiceAccountName::parse(&args.serviceaccount)?,
            role: refuse_escalation(
                match role_source(&args.access)? {
                    Some(role) => role,
                    None => default_role(&args.access)?,
                },
                allow.escalation,
            )?,
            pod_security: pod_security(args.pod_security),
            set: None,
            also_in: also_in(&namespace_of(&args.namespace)?, &args.also_in, allow)?,
            openings: openings(args.allow_service.as_deref())?,
            capacity: capacity(args.quota.as_deref(), args.no_quota)?,
            network: args.network.into(),
            always_pull: args.always_pull,
            expires: expires(args.expires.as_deref(), args.token_source.into())?,
            token_source: args.token_source.into(),
        },
        adopt: args.adopt,
        dry_run: args.dry_run,
        timeout: timeout(&args.timeout)?,
        preflight: true,
        remember: true,
        allow,
        prove_guard: true,
        renew_before: renew_before(args.renew_before.as_deref())?,
    })
}

/// `--expires`, read against the time of day; refused with `--token-source secret` (a Secret
/// token never ends by itself).
fn expires(value: Option<&str>, source: TokenSource) -> Result<Option<Expires>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if source == TokenSource::Secret {
        return Err(Invalid::flag(
            "--token-source",
            "secret".into(),
            "cannot end: a Secret token lives as long as its Secret (drop it, or use bound, with --expires)",
        )
        .into());
    }
    Ok(Some(Expires::parse("--expires", value, now())?))
}

/// The time of day, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

/// `--allow-service`: the shared machinery a grant opens.
fn openings(list: Option<&str>) -> Result<Vec<Opening>> {
    let reason = "is none of nodeport, loadbalancer, externalname, external-ips";
    Opening::parse_list(list.unwrap_or_default())
        .map_err(|value| Invalid::flag("--allow-service", value, reason).into())
}

/// `--quota` and `--no-quota`: kscope's share of the cluster for the grant's namespaces.
fn capacity(quota: Option<&str>, none: bool) -> Result<Capacity> {
    if none {
        return Ok(Capacity::Unbounded);
    }
    let reason = "is not NAME=QUANTITY (cpu=4, memory=8Gi, pods=50, count/jobs.batch=10)";
    Capacity::parse_overrides(quota.unwrap_or_default())
        .map(Capacity::Bounded)
        .map_err(|value| Invalid::flag("--quota", value, reason).into())
}

/// The containment flags (and `--allow-escalation`) as the risks a plan accepts.
pub(crate) fn allowances(args: &ContainmentArgs, escalation: bool) -> Allowances {
    Allowances {
        escalation,
        host_pods: args.allow_host_pods,
        system_namespace: args.allow_system_namespace,
        shared_namespace: args.allow_shared_namespace,
        unguarded: args.allow_unguarded,
    }
}

/// `--pod-security`, as the core names the levels.
pub(crate) fn pod_security(level: PodSecurityLevel) -> PodSecurity {
    match level {
        PodSecurityLevel::Restricted => PodSecurity::Restricted,
        PodSecurityLevel::Baseline => PodSecurity::Baseline,
        PodSecurityLevel::Privileged => PodSecurity::Privileged,
    }
}

/// The TenantSet in `file`, validated whole (every problem with its line).
fn tenant_set(file: &Path, template_dir: Option<&Path>, allow: Allowances) -> Result<TenantSet> {
    let text = kscope_core::files::read_text(file).map_err(|e| Input::FileUnreadable {
        path: file.to_path_buf(),
        detail: e.to_string(),
        flag: "-f",
    })?;
    tenants::parse(&text, file, template_dir, allow, now()).map_err(|problems| {
        Input::InvalidFile {
            path: file.to_path_buf(),
            problems,
        }
        .into()
    })
}

pub(crate) fn apply(args: &ApplyArgs) -> Result<ApplyPlan> {
    let allow = allowances(&args.containment, args.allow_escalation);
    let set = tenant_set(&args.file, args.template_dir.as_deref(), allow)?;
    if args.concurrency == 0 {
        return Err(Input::InvalidConcurrency.into());
    }
    // A missing directory is created (mode 0700) when kubeconfigs are written; a file there
    // can never be used.
    if let Some(dir) = &args.kubeconfig_dir
        && dir.exists()
        && !dir.is_dir()
    {
        return Err(Input::Output {
            path: dir.clone(),
            why: Unwritable::NotADirectory,
            flag: "--kubeconfig-dir",
        }
        .into());
    }
    Ok(ApplyPlan {
        set,
        kubeconfig_dir: args.kubeconfig_dir.clone(),
        concurrency: args.concurrency,
        prune: args.prune,
        confirmed: args.yes,
        dry_run: args.dry_run,
        timeout: timeout(&args.timeout)?,
        allow,
        renew_before: renew_before(args.renew_before.as_deref())?,
    })
}

/// `--renew-before`: any positive duration.
fn renew_before(value: Option<&str>) -> Result<Option<Duration>> {
    Ok(value
        .map(|v| spec::positive("--renew-before", v))
        .transpose()?)
}

pub(crate) fn kubeconfig(args: &KubeconfigArgs) -> Result<KubeconfigPlan> {
    if let Some(server) = &args.server
        && !server.starts_with("https://")
    {
        return Err(Input::ServerNotHttps {
            value: server.clone(),
        }
        .into());
    }
    let secret_namespace = args
        .secret_namespace
        .as_deref()
        .map(NamespaceName::parse)
        .transpose()?;
    let format = match (args.format, secret_namespace) {
        (CredentialFormat::Kubeconfig, None) => CredentialPlan::Kubeconfig,
        (CredentialFormat::Kubeconfig, Some(_)) => {
            return Err(Input::FormatFlag {
                flag: "--secret-namespace",
            }
            .into());
        }
        (CredentialFormat::Argocd, namespace) => CredentialPlan::Argocd {
            secret_namespace: namespace
                .map_or(delivery::ARGOCD_NAMESPACE.to_string(), |n| n.to_string()),
            name: args.name.clone(),
        },
        (CredentialFormat::Flux, Some(namespace)) => CredentialPlan::Flux {
            secret_namespace: namespace.to_string(),
        },
        (CredentialFormat::Flux, None) => return Err(Input::FluxNamespace.into()),
    };
    if args.name.is_some() && args.format != CredentialFormat::Argocd {
        return Err(Input::FormatFlag { flag: "--name" }.into());
    }
    if args.deliver_to.is_some() && format == CredentialPlan::Kubeconfig {
        return Err(Input::FormatFlag {
            flag: "--deliver-to",
        }
        .into());
    }
    Ok(KubeconfigPlan {
        format,
        deliver_to: args.deliver_to.clone(),
        grant: grant_ref(args.namespace.as_deref(), args.serviceaccount.as_deref())?,
        token: token_kind(args.emit.duration.as_deref())?,
        destination: destination(args.emit.output.as_deref(), args.emit.force)?,
        strict_duration: args.emit.strict_duration,
        server: args.server.clone(),
        ca_file: args.ca_file.clone(),
    })
}

/// `kscope check -f FILE`: the set, read as `apply` reads it but with every risk accepted
/// (a check creates nothing; it proves what the file says).
pub(crate) fn check_set(args: &CheckArgs, file: &Path) -> Result<CheckSetPlan> {
    let everything = Allowances {
        escalation: true,
        host_pods: true,
        system_namespace: true,
        shared_namespace: true,
        unguarded: true,
    };
    let set = tenant_set(file, args.access.template_dir.as_deref(), everything)?;
    if args.concurrency == 0 {
        return Err(Input::InvalidConcurrency.into());
    }
    Ok(CheckSetPlan {
        set,
        concurrency: args.concurrency,
        all_resources: args.all_resources,
        access_reviews: args.access_reviews,
    })
}

pub(crate) fn check(args: &CheckArgs) -> Result<CheckPlan> {
    Ok(CheckPlan {
        grant: grant_ref(args.namespace.as_deref(), args.serviceaccount.as_deref())?,
        through: args.kubeconfig_file.clone(),
        trust_file: args.trust_kubeconfig_file,
        role: role_source(&args.access)?,
        template_dirs: templates::user_dirs(args.access.template_dir.as_deref()),
        all_resources: args.all_resources,
        access_reviews: args.access_reviews,
    })
}

/// `--template` / `--cluster-role` → the role, or `None` when neither was given.
pub(crate) fn role_source(access: &AccessArgs) -> Result<Option<RoleSource>> {
    match (&access.cluster_role, &access.template) {
        (Some(name), _) => Ok(Some(RoleSource::ClusterRole(names::cluster_role(name)?))),
        (None, Some(template)) => Ok(Some(RoleSource::Template(templates::resolve(
            template,
            &templates::user_dirs(access.template_dir.as_deref()),
        )?))),
        (None, None) => Ok(None),
    }
}

/// The role of a grant that names none: the default template.
fn default_role(access: &AccessArgs) -> Result<RoleSource> {
    Ok(templates::resolve(
        templates::DEFAULT,
        &templates::user_dirs(access.template_dir.as_deref()),
    )
    .map(RoleSource::Template)?)
}

/// Optional positional names (both or neither; clap enforces the pairing).
fn grant_ref(namespace: Option<&str>, service_account: Option<&str>) -> Result<Option<GrantRef>> {
    match (namespace, service_account) {
        (Some(ns), Some(sa)) => named(ns, sa).map(Some),
        _ => Ok(None),
    }
}

/// A `--timeout`: any positive duration.
pub(crate) fn timeout(value: &str) -> Result<Duration> {
    Ok(spec::positive("--timeout", value)?)
}

/// `--request-timeout`: how long one API request may wait for an answer.
pub(crate) fn request_timeout(value: &str) -> Result<Duration> {
    Ok(spec::positive("--request-timeout", value)?)
}

/// Whether `path` names a template file found in one of `dirs` (so its name finds it again).
pub(crate) fn template_in_dirs(path: &Path, dirs: &[PathBuf]) -> bool {
    path.parent().is_some_and(|p| dirs.iter().any(|d| d == p))
}

mod wizard;
pub(crate) use wizard::{WizardPreset, default_output, wizard};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_plans_validate_every_flag() {
        let args = |ns: &str, sa: &str| GrantArgs {
            namespace: ns.into(),
            serviceaccount: sa.into(),
            also_in: Vec::new(),
            access: AccessArgs::default(),
            adopt: false,
            allow_escalation: false,
            pod_security: Default::default(),
            allow_service: None,
            quota: None,
            no_quota: false,
            network: Default::default(),
            always_pull: false,
            expires: None,
            renew_before: None,
            token_source: crate::cli::TokenSourceArg::Auto,
            containment: Default::default(),
            dry_run: None,
            timeout: "60s".into(),
            output: crate::cli::Output::Table,
            write_kubeconfig: None,
            force: false,
        };
        let plan = grant(&args("ask", "ask-sa")).unwrap();
        assert_eq!(
            plan.spec.role.record().to_string(),
            "template/namespace-admin"
        );
        let e = grant(&args("Ask", "ask-sa")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid namespace name \"Ask\": it contains the uppercase letter 'A'; names must be lowercase"
        );
        assert_eq!(e.exit() as u8, 2);
        let mut bad_role = args("ask", "ask-sa");
        bad_role.access.cluster_role = Some("a/b".into());
        let e = grant(&bad_role).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --cluster-role \"a/b\": not a valid ClusterRole name"
        );
        // --expires: a bound token by its rule; never with a Secret token, never under 10m.
        let mut ends = args("ask", "ask-sa");
        ends.expires = Some("2h".into());
        let plan = grant(&ends).unwrap();
        assert_eq!(
            plan.spec.bound_rule(),
            Some(Expires::After(Duration::from_secs(7200)))
        );
        ends.token_source = crate::cli::TokenSourceArg::Secret;
        let e = grant(&ends).unwrap_err();
        assert!(e.to_string().contains("cannot end"), "{e}");
        assert_eq!(e.exit() as u8, 2);
        ends.token_source = crate::cli::TokenSourceArg::Auto;
        ends.expires = Some("5m".into());
        let e = grant(&ends).unwrap_err();
        assert!(e.to_string().contains("shorter than 10m"), "{e}");
        let mut bound = args("ask", "ask-sa");
        bound.token_source = crate::cli::TokenSourceArg::Bound;
        assert_eq!(
            grant(&bound).unwrap().spec.bound_rule(),
            Some(Expires::After(kscope_core::expiry::DEFAULT_LIFETIME))
        );
        assert_eq!(
            grant(&args("ask", "ask-sa")).unwrap().spec.bound_rule(),
            None
        );
    }
}
