//! The command lines that do what the wizard does: `kscope grant … && kscope kubeconfig …
//! --output F && kscope check … --kubeconfig-file F`, rendered from the plans (or, before any
//! answer, from the flags with placeholders). For people to read and reuse, never parsed back.

use std::path::{Path, PathBuf};

use crate::plan::{self, CheckPlan, Destination, GrantPlan, KubeconfigPlan, WizardPreset};
use kscope_core::duration;
use kscope_core::expiry::Expires;
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::spec::{Allowances, PodSecurity, RoleSource, TokenKind};
use kscope_core::templates::{self, Origin};

use super::Setup;

const NAMESPACE_PLACEHOLDER: &str = "<namespace>";
const SERVICE_ACCOUNT_PLACEHOLDER: &str = "<serviceaccount>";

/// Everything the three command lines say, in the plans' own types.
struct Steps<'a> {
    kubeconfig: Option<&'a Path>,
    context: Option<&'a str>,
    namespace: Option<&'a NamespaceName>,
    service_account: Option<&'a ServiceAccountName>,
    /// `None`: the default template.
    role: Option<&'a RoleSource>,
    template_dir: Option<&'a Path>,
    /// Where a template file found by its name lives, so its name is enough.
    template_dirs: &'a [PathBuf],
    token: TokenKind,
    /// The grant's `--expires`.
    expires: Option<Expires>,
    output: &'a Path,
    force: bool,
    adopt: bool,
    pod_security: PodSecurity,
    allow: Allowances,
}

/// The command lines of a planned wizard run.
pub(super) fn for_plans(
    setup: &Setup,
    context: Option<&str>,
    grant: &GrantPlan,
    kubeconfig: &KubeconfigPlan,
    check: &CheckPlan,
) -> String {
    let (output, force) = match &kubeconfig.destination {
        Destination::File { path, force } => (path.as_path(), *force),
        Destination::Stdout => (Path::new("-"), false),
    };
    render(&Steps {
        kubeconfig: setup.kubeconfig_path.as_deref(),
        context,
        namespace: Some(&grant.spec.namespace),
        service_account: Some(&grant.spec.service_account),
        role: Some(&grant.spec.role),
        template_dir: setup.preset.template_dir.as_deref(),
        template_dirs: &check.template_dirs,
        token: kubeconfig.token,
        expires: grant.spec.expires,
        output,
        force,
        adopt: grant.adopt,
        pod_security: grant.spec.pod_security,
        allow: grant.allow,
    })
}

/// The flags that do what the wizard would, with `<namespace>` and `<serviceaccount>` where
/// the flags did not say (for the refusal without a terminal).
pub(crate) fn for_preset(
    preset: &WizardPreset,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    template_dirs: &[PathBuf],
) -> String {
    let output = preset.output.clone().unwrap_or_else(|| {
        plan::default_output(
            preset
                .namespace
                .as_ref()
                .map_or(NAMESPACE_PLACEHOLDER, |n| n.as_str()),
            preset
                .service_account
                .as_ref()
                .map_or(SERVICE_ACCOUNT_PLACEHOLDER, |s| s.as_str()),
        )
    });
    render(&Steps {
        kubeconfig,
        context,
        namespace: preset.namespace.as_ref(),
        service_account: preset.service_account.as_ref(),
        role: preset.role.as_ref(),
        template_dir: preset.template_dir.as_deref(),
        template_dirs,
        token: preset.token.unwrap_or(TokenKind::LongLived),
        expires: preset.expires,
        output: &output,
        force: preset.force,
        adopt: preset.adopt,
        pod_security: preset.pod_security.unwrap_or_default(),
        allow: preset.allow,
    })
}

fn render(steps: &Steps) -> String {
    let start = |command: &str| {
        let mut words: Vec<String> = vec!["kscope".into()];
        if let Some(path) = steps.kubeconfig {
            words.extend(["--kubeconfig".into(), shell_path(path)]);
        }
        if let Some(context) = steps.context {
            words.extend(["--context".into(), shell_word(context)]);
        }
        words.extend([
            command.to_string(),
            steps
                .namespace
                .map_or(NAMESPACE_PLACEHOLDER.into(), |n| shell_word(n.as_str())),
            steps
                .service_account
                .map_or(SERVICE_ACCOUNT_PLACEHOLDER.into(), |s| {
                    shell_word(s.as_str())
                }),
        ]);
        words
    };
    let mut grant = start("grant");
    match steps.role {
        None => grant.extend(["--template".into(), templates::DEFAULT.into()]),
        Some(RoleSource::Template(t)) => {
            let by_name = match &t.origin {
                Origin::BuiltIn => true,
                Origin::File(path) => plan::template_in_dirs(path, steps.template_dirs),
            };
            let spelled = match &t.origin {
                Origin::File(path) if !by_name => shell_path(path),
                _ => shell_word(&t.name),
            };
            grant.extend(["--template".into(), spelled]);
        }
        Some(RoleSource::ClusterRole(name)) => {
            grant.extend(["--cluster-role".into(), shell_word(name)]);
        }
    }
    if let Some(dir) = steps.template_dir {
        grant.extend(["--template-dir".into(), shell_path(dir)]);
    }
    if steps.adopt {
        grant.push("--adopt".into());
    }
    if steps.pod_security != PodSecurity::default() {
        grant.extend(["--pod-security".into(), steps.pod_security.to_string()]);
    }
    if let Some(rule) = steps.expires {
        grant.extend(["--expires".into(), shell_word(&rule.record())]);
    }
    let allow = steps.allow;
    for (given, flag) in [
        (allow.escalation, "--allow-escalation"),
        (allow.host_pods, "--allow-host-pods"),
        (allow.system_namespace, "--allow-system-namespace"),
        (allow.shared_namespace, "--allow-shared-namespace"),
        (allow.unguarded, "--allow-unguarded"),
    ] {
        if given {
            grant.push(flag.into());
        }
    }
    let output = shell_path(steps.output);
    let mut kubeconfig = start("kubeconfig");
    if let TokenKind::Expiring(lifetime) = steps.token {
        kubeconfig.extend(["--duration".into(), duration::flag(lifetime)]);
    }
    kubeconfig.extend(["--output".into(), output.clone()]);
    if steps.force {
        kubeconfig.push("--force".into());
    }
    let mut check = start("check");
    check.extend(["--kubeconfig-file".into(), output]);
    if let Some(dir) = steps.template_dir {
        check.extend(["--template-dir".into(), shell_path(dir)]);
    }
    [grant, kubeconfig, check]
        .iter()
        .map(|words| words.join(" "))
        .collect::<Vec<_>>()
        .join(" && ")
}

/// A command line of `&&`-joined commands, one command per line (a shell reads it the same).
pub(crate) fn wrapped(command_line: &str) -> String {
    command_line.replace(" && ", " &&\n  ")
}

/// A path as a POSIX shell reads it back (see [`shell_word`]).
pub(crate) fn shell_path(path: &Path) -> String {
    shell_word(&path.to_string_lossy())
}

/// A word as a POSIX shell reads it back: bare when safe, else single-quoted. The
/// placeholders `<namespace>` and `<serviceaccount>` are left bare for the reader to replace.
fn shell_word(text: &str) -> String {
    let unplaceheld = text
        .replace(NAMESPACE_PLACEHOLDER, "")
        .replace(SERVICE_ACCOUNT_PLACEHOLDER, "");
    let bare = !text.is_empty()
        && unplaceheld
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c));
    if bare {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
