//! `kscope wizard`'s flags as a plan: each one answers its question in advance.

use super::*;
use crate::cli::WizardArgs;

/// `kscope wizard`'s flags: each one answers its question in advance.
#[derive(Debug, Clone, Default)]
pub(crate) struct WizardPreset {
    pub(crate) namespace: Option<NamespaceName>,
    pub(crate) service_account: Option<ServiceAccountName>,
    pub(crate) role: Option<RoleSource>,
    pub(crate) template_dir: Option<PathBuf>,
    pub(crate) token: Option<TokenKind>,
    /// `--expires`: the grant's access ends (a bound token).
    pub(crate) expires: Option<Expires>,
    pub(crate) output: Option<PathBuf>,
    pub(crate) force: bool,
    pub(crate) adopt: bool,
    /// The Pod Security level of a new namespace, when the flags say.
    pub(crate) pod_security: Option<PodSecurity>,
    /// The risks the flags accept (roles that escalate may be chosen with `escalation`).
    pub(crate) allow: Allowances,
}

pub(crate) fn wizard(args: &WizardArgs) -> Result<WizardPreset> {
    let allow = allowances(&args.containment, args.allow_escalation);
    let token = match (&args.duration, args.long_lived) {
        (Some(value), _) => Some(TokenKind::Expiring(spec::token_lifetime(value)?)),
        (None, true) => Some(TokenKind::LongLived),
        (None, false) => None,
    };
    if let Some(path) = &args.output {
        kubeconfig::check_destination(path, true, "--output")?;
    }
    let namespace = args
        .namespace
        .as_deref()
        .map(NamespaceName::parse)
        .transpose()?;
    if let Some(namespace) = &namespace {
        spec::refuse_system_namespace(namespace, allow.system_namespace)?;
    }
    Ok(WizardPreset {
        namespace,
        service_account: args
            .serviceaccount
            .as_deref()
            .map(ServiceAccountName::parse)
            .transpose()?,
        role: role_source(&args.access)?
            .map(|role| refuse_escalation(role, allow.escalation))
            .transpose()?,
        template_dir: args.access.template_dir.clone(),
        token,
        expires: args
            .expires
            .as_deref()
            .map(|v| Expires::parse("--expires", v, now()))
            .transpose()?,
        output: args.output.clone(),
        force: args.force,
        adopt: args.adopt,
        pod_security: args.pod_security.map(pod_security),
        allow,
    })
}

/// Where a wizard kubeconfig goes when the user does not say.
pub(crate) fn default_output(namespace: &str, service_account: &str) -> PathBuf {
    PathBuf::from(format!("./{namespace}-{service_account}.kubeconfig"))
}
