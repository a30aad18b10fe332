//! The "high" arguments: validated plans for every command, built from clap's "low" arguments
//! (`cli`) or directly from the wizard's answers. Nothing here sends a request; a plan that
//! leaves this module is valid, and a value that is not becomes an `Error` with exit 2 naming
//! the argument or flag. The only reads are of local files the flags name (templates) and a
//! look at where `--output` would go.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    AccessArgs, ApplyArgs, CheckArgs, DryRun, GrantArgs, KubeconfigArgs, ListArgs, RevokeArgs,
    RotateArgs, WizardArgs,
};
use crate::error::{Error, Result};
use crate::kubeconfig;
use crate::names::{self, NamespaceName, ServiceAccountName};
use crate::templates::{self, Template};
use crate::tenants::{self, TenantSet};

/// The shortest TokenRequest the API server accepts.
pub const MIN_TOKEN_SECONDS: u64 = 600;
/// The longest TokenRequest the API server accepts (`expirationSeconds` is capped at 2^32).
pub const MAX_TOKEN_SECONDS: u64 = 1 << 32;

/// The role a grant binds its ServiceAccount to.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleSource {
    /// A Role named like the ServiceAccount, made from this template.
    Template(Template),
    /// An existing ClusterRole, bound in the namespace only.
    ClusterRole(String),
}

impl RoleSource {
    /// How the grant records its access on the ServiceAccount (`kscope.dev/access`).
    pub fn access_annotation(&self) -> String {
        match self {
            RoleSource::Template(t) => format!("template/{}", t.name),
            RoleSource::ClusterRole(name) => format!("clusterrole/{name}"),
        }
    }
}

/// One grant by name: a ServiceAccount in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRef {
    pub namespace: NamespaceName,
    pub service_account: ServiceAccountName,
}

/// What a grant makes.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub namespace: NamespaceName,
    pub service_account: ServiceAccountName,
    pub role: RoleSource,
    /// The TenantSet the grant belongs to (`apply`), labelled on every object.
    pub set: Option<String>,
}

impl GrantSpec {
    pub fn grant_ref(&self) -> GrantRef {
        GrantRef {
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
        }
    }
}

/// `kscope grant`, validated.
#[derive(Debug, Clone)]
pub struct GrantPlan {
    pub spec: GrantSpec,
    pub adopt: bool,
    pub dry_run: Option<DryRun>,
    /// How long to wait for the token controller.
    pub timeout: Duration,
    /// Check up front that the caller may make the grant (`apply` checks once for the set).
    pub preflight: bool,
    /// Remember it as this machine's last grant for the context (`apply` does not).
    pub remember: bool,
}

/// `kscope apply`, validated: the whole file before any request.
#[derive(Debug, Clone)]
pub struct ApplyPlan {
    pub set: TenantSet,
    pub kubeconfig_dir: Option<PathBuf>,
    pub concurrency: usize,
    pub prune: bool,
    pub confirmed: bool,
    pub dry_run: Option<DryRun>,
    pub timeout: Duration,
}

/// The token a kubeconfig holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The token Secret's own, long-lived token.
    LongLived,
    /// A TokenRequest token of this lifetime, bound to the token Secret.
    Expiring(Duration),
}

/// Where a kubeconfig goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    /// Written atomically with mode 0600; an existing file only with `force`.
    File {
        path: PathBuf,
        force: bool,
    },
}

/// `kscope kubeconfig`, validated.
#[derive(Debug, Clone)]
pub struct KubeconfigPlan {
    /// `None`: the grant last made from this machine for the context.
    pub grant: Option<GrantRef>,
    pub token: TokenKind,
    pub destination: Destination,
    /// A server that grants a shorter `--duration` is an error, not a warning.
    pub strict_duration: bool,
    pub server: Option<String>,
    pub ca_file: Option<PathBuf>,
}

/// `kscope check`, validated.
#[derive(Debug, Clone)]
pub struct CheckPlan {
    /// `None`: the grant of `--kubeconfig-file`'s identity, else the last grant made here.
    pub grant: Option<GrantRef>,
    /// Check through this kubeconfig instead of a freshly minted token.
    pub through: Option<PathBuf>,
    /// What the grant should allow; `None`: what the grant recorded on its ServiceAccount.
    pub role: Option<RoleSource>,
    /// Where templates named by a recorded grant are looked up.
    pub template_dirs: Vec<PathBuf>,
    /// Ask about every resource the server serves, not the fixed matrix.
    pub all_resources: bool,
}

/// `kscope wizard`'s flags: each one answers its question in advance.
#[derive(Debug, Clone, Default)]
pub struct WizardPreset {
    pub namespace: Option<NamespaceName>,
    pub service_account: Option<ServiceAccountName>,
    pub role: Option<RoleSource>,
    pub template_dir: Option<PathBuf>,
    pub token: Option<TokenKind>,
    pub output: Option<PathBuf>,
    pub force: bool,
    pub adopt: bool,
    /// Templates that escalate may be chosen (`--allow-escalation`).
    pub allow_escalation: bool,
}

/// `kscope list`, validated.
#[derive(Debug, Clone)]
pub struct ListPlan {
    /// `None`: every namespace.
    pub namespace: Option<NamespaceName>,
}

/// `kscope revoke`, validated.
#[derive(Debug, Clone)]
pub struct RevokePlan {
    pub grant: GrantRef,
    /// `--yes`: no question.
    pub confirmed: bool,
    pub dry_run: bool,
    pub delete_namespace: bool,
    /// How long the old token may take to be refused.
    pub timeout: Duration,
}

/// `kscope rotate`, validated.
#[derive(Debug, Clone)]
pub struct RotatePlan {
    pub grant: GrantRef,
    pub token: TokenKind,
    pub destination: Destination,
    pub strict_duration: bool,
    pub timeout: Duration,
}

pub fn list(args: &ListArgs) -> Result<ListPlan> {
    Ok(ListPlan {
        namespace: args
            .namespace
            .as_deref()
            .map(NamespaceName::parse)
            .transpose()?,
    })
}

pub fn revoke(args: &RevokeArgs) -> Result<RevokePlan> {
    Ok(RevokePlan {
        grant: named(&args.namespace, &args.serviceaccount)?,
        confirmed: args.yes,
        dry_run: args.dry_run,
        delete_namespace: args.delete_namespace,
        timeout: timeout(&args.timeout)?,
    })
}

pub fn rotate(args: &RotateArgs) -> Result<RotatePlan> {
    Ok(RotatePlan {
        grant: named(&args.namespace, &args.serviceaccount)?,
        token: token_kind(args.emit.duration.as_deref())?,
        destination: destination(args.emit.output.as_deref(), args.emit.force)?,
        strict_duration: args.emit.strict_duration,
        timeout: timeout(&args.timeout)?,
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
        Some(value) => TokenKind::Expiring(token_lifetime(value)?),
        None => TokenKind::LongLived,
    })
}

fn destination(output: Option<&Path>, force: bool) -> Result<Destination> {
    Ok(match output {
        Some(path) => {
            kubeconfig::check_destination(path, force)?;
            Destination::File {
                path: path.to_path_buf(),
                force,
            }
        }
        None => Destination::Stdout,
    })
}

pub fn grant(args: &GrantArgs) -> Result<GrantPlan> {
    Ok(GrantPlan {
        spec: GrantSpec {
            namespace: NamespaceName::parse(&args.namespace)?,
            service_account: ServiceAccountName::parse(&args.serviceaccount)?,
            role: refuse_escalation(
                match role_source(&args.access)? {
                    Some(role) => role,
                    None => default_role(&args.access)?,
                },
                args.allow_escalation,
            )?,
            set: None,
        },
        adopt: args.adopt,
        dry_run: args.dry_run,
        timeout: timeout(&args.timeout)?,
        preflight: true,
        remember: true,
    })
}

pub fn apply(args: &ApplyArgs) -> Result<ApplyPlan> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| Error::TenantSetUnreadable {
        path: args.file.clone(),
        detail: e.to_string(),
    })?;
    let set = tenants::parse(
        &text,
        &args.file,
        args.template_dir.as_deref(),
        args.allow_escalation,
    )
    .map_err(|problems| Error::InvalidTenantSet {
        path: args.file.clone(),
        problems,
    })?;
    if args.concurrency == 0 {
        return Err(Error::InvalidConcurrency);
    }
    if let Some(dir) = &args.kubeconfig_dir
        && !dir.is_dir()
    {
        return Err(Error::Output {
            path: dir.clone(),
            why: crate::error::Unwritable::MissingDirectory,
        });
    }
    Ok(ApplyPlan {
        set,
        kubeconfig_dir: args.kubeconfig_dir.clone(),
        concurrency: args.concurrency,
        prune: args.prune,
        confirmed: args.yes,
        dry_run: args.dry_run,
        timeout: timeout(&args.timeout)?,
    })
}

pub fn kubeconfig(args: &KubeconfigArgs) -> Result<KubeconfigPlan> {
    Ok(KubeconfigPlan {
        grant: grant_ref(args.namespace.as_deref(), args.serviceaccount.as_deref())?,
        token: token_kind(args.emit.duration.as_deref())?,
        destination: destination(args.emit.output.as_deref(), args.emit.force)?,
        strict_duration: args.emit.strict_duration,
        server: args.server.clone(),
        ca_file: args.ca_file.clone(),
    })
}

pub fn check(args: &CheckArgs) -> Result<CheckPlan> {
    Ok(CheckPlan {
        grant: grant_ref(args.namespace.as_deref(), args.serviceaccount.as_deref())?,
        through: args.kubeconfig_file.clone(),
        role: role_source(&args.access)?,
        template_dirs: templates::user_dirs(args.access.template_dir.as_deref()),
        all_resources: args.all_resources,
    })
}

pub fn wizard(args: &WizardArgs) -> Result<WizardPreset> {
    let token = match (&args.duration, args.long_lived) {
        (Some(value), _) => Some(TokenKind::Expiring(token_lifetime(value)?)),
        (None, true) => Some(TokenKind::LongLived),
        (None, false) => None,
    };
    if let Some(path) = &args.output {
        kubeconfig::check_destination(path, true)?;
    }
    Ok(WizardPreset {
        namespace: args
            .namespace
            .as_deref()
            .map(NamespaceName::parse)
            .transpose()?,
        service_account: args
            .serviceaccount
            .as_deref()
            .map(ServiceAccountName::parse)
            .transpose()?,
        role: role_source(&args.access)?
            .map(|role| refuse_escalation(role, args.allow_escalation))
            .transpose()?,
        template_dir: args.access.template_dir.clone(),
        token,
        output: args.output.clone(),
        force: args.force,
        adopt: args.adopt,
        allow_escalation: args.allow_escalation,
    })
}

/// `--template` / `--cluster-role` → the role, or `None` when neither was given.
pub fn role_source(access: &AccessArgs) -> Result<Option<RoleSource>> {
    match (&access.cluster_role, &access.template) {
        (Some(name), _) => Ok(Some(RoleSource::ClusterRole(names::cluster_role(name)?))),
        (None, Some(template)) => Ok(Some(RoleSource::Template(templates::resolve(
            template,
            &templates::user_dirs(access.template_dir.as_deref()),
        )?))),
        (None, None) => Ok(None),
    }
}

/// A template that lets its tenant step outside what it was given is refused, naming the rule,
/// unless `--allow-escalation`.
pub fn refuse_escalation(role: RoleSource, allow: bool) -> Result<RoleSource> {
    if let RoleSource::Template(template) = &role
        && !allow
        && let Some(rule) = templates::escalations(template).into_iter().next()
    {
        return Err(Error::EscalatingTemplate {
            template: template.name.clone(),
            rule,
        });
    }
    Ok(role)
}

/// The role of a grant that names none: the default template.
fn default_role(access: &AccessArgs) -> Result<RoleSource> {
    templates::resolve(
        templates::DEFAULT,
        &templates::user_dirs(access.template_dir.as_deref()),
    )
    .map(RoleSource::Template)
}

/// Optional positional names (both or neither; clap enforces the pairing).
fn grant_ref(namespace: Option<&str>, service_account: Option<&str>) -> Result<Option<GrantRef>> {
    match (namespace, service_account) {
        (Some(ns), Some(sa)) => named(ns, sa).map(Some),
        _ => Ok(None),
    }
}

/// A `--duration`: a token lifetime that the TokenRequest API accepts.
pub fn token_lifetime(value: &str) -> Result<Duration> {
    let lifetime = crate::duration::parse(value).map_err(|reason| Error::InvalidDuration {
        flag: "--duration",
        value: value.to_string(),
        reason,
    })?;
    let seconds = lifetime.as_secs();
    if !(MIN_TOKEN_SECONDS..=MAX_TOKEN_SECONDS).contains(&seconds) {
        return Err(Error::TokenLifetime {
            value: value.to_string(),
            too_long: seconds > MAX_TOKEN_SECONDS,
        });
    }
    Ok(lifetime)
}

/// A `--timeout`: any positive duration.
pub fn timeout(value: &str) -> Result<Duration> {
    positive("--timeout", value)
}

/// `--request-timeout`: how long one API request may wait for an answer.
pub fn request_timeout(value: &str) -> Result<Duration> {
    positive("--request-timeout", value)
}

fn positive(flag: &'static str, value: &str) -> Result<Duration> {
    let invalid = |reason: String| Error::InvalidDuration {
        flag,
        value: value.to_string(),
        reason,
    };
    match crate::duration::parse(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(invalid("must be positive".into())),
        Err(reason) => Err(invalid(reason)),
    }
}

/// Where a wizard kubeconfig goes when the user does not say.
pub fn default_output(namespace: &str, service_account: &str) -> PathBuf {
    PathBuf::from(format!("./{namespace}-{service_account}.kubeconfig"))
}

/// Whether `path` names a template file found in one of `dirs` (so its name finds it again).
pub fn template_in_dirs(path: &Path, dirs: &[PathBuf]) -> bool {
    path.parent().is_some_and(|p| dirs.iter().any(|d| d == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes_are_bounded_like_the_api() {
        assert!(token_lifetime("10m").is_ok());
        assert!(token_lifetime("24h").is_ok());
        let short = token_lifetime("9m59s").unwrap_err();
        assert!(short.to_string().contains("at least 10 minutes"), "{short}");
        assert_eq!(short.exit() as u8, 2);
        assert!(token_lifetime(&format!("{}s", MAX_TOKEN_SECONDS + 1)).is_err());
        assert!(token_lifetime(&format!("{MAX_TOKEN_SECONDS}s")).is_ok());
        assert!(
            token_lifetime("soon")
                .unwrap_err()
                .to_string()
                .starts_with("invalid --duration \"soon\": it needs a number")
        );
    }

    #[test]
    fn timeouts_must_be_positive() {
        assert_eq!(timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            timeout("0s").unwrap_err().to_string(),
            "invalid --timeout \"0s\": it must be positive"
        );
    }

    #[test]
    fn grant_plans_validate_every_flag() {
        let args = |ns: &str, sa: &str| GrantArgs {
            namespace: ns.into(),
            serviceaccount: sa.into(),
            access: AccessArgs::default(),
            adopt: false,
            allow_escalation: false,
            dry_run: None,
            timeout: "60s".into(),
            output: crate::cli::Output::Table,
        };
        let plan = grant(&args("ask", "ask-sa")).unwrap();
        assert_eq!(
            plan.spec.role.access_annotation(),
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
    }
}
