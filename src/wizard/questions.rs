//! One function per question of the wizard. Each returns a validated value of the plan types
//! (never text to be parsed again), and skips its question when a flag answered it.

use std::path::{Path, PathBuf};

use crate::error::Input;
use crate::error::{Error, Result};
use crate::kubeconfig;
use crate::plan::{self, WizardPreset};
use kscope_core::expiry::Expires;
use kscope_core::manifest;
use kscope_core::names::{self, NamespaceName, ServiceAccountName};
use kscope_core::spec::{PodSecurity, RoleSource, TokenKind};
use kscope_core::templates;

use super::{Facts, Presence, Prompter, Setup};

/// Namespaces of the control plane itself: not offered in the list (typing one still works).
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
/// ClusterRoles offered by name, with what they allow within a namespace.
const CLUSTER_ROLES: [(&str, &str); 3] = [
    (
        "edit",
        "read and write most objects, including Secrets; no Roles or RoleBindings",
    ),
    ("view", "read most objects; no Secrets"),
    (
        "admin",
        "edit, plus Roles and RoleBindings within the namespace",
    ),
];
const DEFAULT_DURATION: &str = "24h";

/// A validator for `Prompter::input` from a parser of kscope's own.
fn accepts<T, E: Into<Error>>(
    parse: impl Fn(&str) -> std::result::Result<T, E>,
) -> impl Fn(&str) -> std::result::Result<(), String> {
    move |text| parse(text).map(drop).map_err(|e| e.into().to_string())
}

pub(super) fn context(setup: &Setup, prompter: &mut dyn Prompter) -> Result<String> {
    let Some(current) = setup.contexts.get(setup.current) else {
        return Err(Error::from(Input::NoContexts));
    };
    if setup.context_given || setup.contexts.len() == 1 {
        prompter.note(&format!("Context: {} ({})", current.name, current.server));
        return Ok(current.name.clone());
    }
    let width = setup
        .contexts
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let items: Vec<String> = setup
        .contexts
        .iter()
        .map(|c| format!("{:<width$}  {}", c.name, c.server))
        .collect();
    let index = prompter.select("Context", &items, setup.current)?;
    Ok(setup.contexts[index.min(setup.contexts.len() - 1)]
        .name
        .clone())
}

pub(super) fn namespace(
    preset: &WizardPreset,
    listed: Option<&[String]>,
    prompter: &mut dyn Prompter,
) -> Result<NamespaceName> {
    if let Some(namespace) = &preset.namespace {
        return Ok(namespace.clone());
    }
    let choices: Vec<&String> = listed
        .unwrap_or_default()
        .iter()
        .filter(|n| !SYSTEM_NAMESPACES.contains(&n.as_str()))
        .collect();
    if listed.is_none() {
        prompter.note("You may not list namespaces here: type the name.");
    }
    if !choices.is_empty() {
        let mut items = vec!["a new namespace (type its name)".to_string()];
        items.extend(choices.iter().map(|n| n.to_string()));
        let index = prompter.select("Namespace", &items, 0)?;
        if let Some(name) = index.checked_sub(1).and_then(|i| choices.get(i)) {
            return Ok(NamespaceName::parse(name)?);
        }
    }
    let typed = prompter.input("Namespace name", None, &accepts(NamespaceName::parse))?;
    let namespace = NamespaceName::parse(&typed)?;
    if let Some(names) = listed {
        prompter.note(&if names.iter().any(|n| n == &typed) {
            format!("Namespace {namespace} exists: kscope leaves it as it is.")
        } else {
            format!("Namespace {namespace} will be created.")
        });
    }
    Ok(namespace)
}

/// The ServiceAccount, and whether the grant may take over an existing one (`--adopt`).
pub(super) fn service_account(
    preset: &WizardPreset,
    context: &str,
    namespace: &NamespaceName,
    prompter: &mut dyn Prompter,
    facts: &mut dyn Facts,
) -> Result<(ServiceAccountName, bool)> {
    let mut given = preset.service_account.clone();
    let suggestion = format!("{namespace}-sa");
    let default = ServiceAccountName::parse(&suggestion)
        .is_ok()
        .then_some(suggestion.as_str());
    loop {
        let name = match given.take() {
            Some(name) => name,
            None => {
                let typed = prompter.input(
                    "ServiceAccount name",
                    default,
                    &accepts(ServiceAccountName::parse),
                )?;
                ServiceAccountName::parse(&typed)?
            }
        };
        match facts.service_account(context, namespace, &name)? {
            Presence::NotManaged if !preset.adopt => {
                prompter.note(&format!(
                    "Warning: ServiceAccount {namespace}/{name} already exists and kscope does not \
                     manage it (it lacks the label {}={}).",
                    manifest::MANAGED_BY,
                    manifest::FIELD_MANAGER
                ));
                if prompter.confirm("Take it over (like --adopt)?", false)? {
                    return Ok((name, true));
                }
            }
            Presence::Managed => {
                prompter.note(&format!(
                    "ServiceAccount {namespace}/{name} exists and kscope manages it: the grant updates it."
                ));
                return Ok((name, preset.adopt));
            }
            _ => return Ok((name, preset.adopt)),
        }
    }
}

pub(super) fn access(
    setup: &Setup,
    context: &str,
    prompter: &mut dyn Prompter,
    facts: &mut dyn Facts,
) -> Result<RoleSource> {
    let mut given = setup.preset.role.clone();
    loop {
        let role = match given.take() {
            Some(role) => role,
            None => pick_access(setup, prompter)?,
        };
        if let Err(refused) =
            kscope_core::spec::refuse_escalation(role.clone(), setup.preset.allow.escalation)
        {
            prompter.note(&format!(
                "{refused}. Pick another, or start the wizard with --allow-escalation."
            ));
            continue;
        }
        if let RoleSource::ClusterRole(name) = &role
            && facts.cluster_role_exists(context, name)? == Some(false)
        {
            prompter.note(&format!(
                "ClusterRole {name} does not exist in this cluster: pick another."
            ));
            continue;
        }
        return Ok(role);
    }
}

fn pick_access(setup: &Setup, prompter: &mut dyn Prompter) -> Result<RoleSource> {
    let width = setup
        .templates
        .iter()
        .map(|t| t.name.len())
        .chain(CLUSTER_ROLES.iter().map(|(n, _)| n.len()))
        .max()
        .unwrap_or(0);
    let mut items: Vec<String> = setup
        .templates
        .iter()
        .map(|t| format!("{:<width$}  {}", t.name, t.description))
        .collect();
    items.push("an existing ClusterRole (edit, view, admin, …)".to_string());
    let default = setup
        .templates
        .iter()
        .position(|t| t.name == templates::DEFAULT)
        .unwrap_or(0);
    let index = prompter.select("Access", &items, default)?;
    if let Some(template) = setup.templates.get(index) {
        return Ok(RoleSource::Template(template.clone()));
    }
    let mut roles: Vec<String> = CLUSTER_ROLES
        .iter()
        .map(|(name, what)| format!("{name:<width$}  {what}"))
        .collect();
    roles.push("another ClusterRole (type its name)".to_string());
    let index = prompter.select("ClusterRole to bind in the namespace", &roles, 0)?;
    if let Some((name, _)) = CLUSTER_ROLES.get(index) {
        return Ok(RoleSource::ClusterRole(name.to_string()));
    }
    let typed = prompter.input("ClusterRole name", None, &accepts(names::cluster_role))?;
    Ok(RoleSource::ClusterRole(names::cluster_role(&typed)?))
}

/// The Pod Security level of a namespace the grant creates (an existing one is left as it
/// is, so nothing is asked for it).
pub(super) fn pod_security(
    preset: &WizardPreset,
    creates_namespace: bool,
    prompter: &mut dyn Prompter,
) -> Result<PodSecurity> {
    if let Some(level) = preset.pod_security {
        return Ok(level);
    }
    if !creates_namespace {
        return Ok(PodSecurity::default());
    }
    let levels = [
        PodSecurity::Baseline,
        PodSecurity::Restricted,
        PodSecurity::Privileged,
    ];
    let items = [
        "baseline    no privileged pods, host namespaces or host paths (recommended)".to_string(),
        "restricted  baseline, and pods run as non-root with a seccomp profile".to_string(),
        "privileged  anything: a pod of the tenant may take its node".to_string(),
    ];
    let index = prompter.select("Pod Security of the new namespace", &items, 0)?;
    Ok(levels.get(index).copied().unwrap_or_default())
}

/// The token the kubeconfig holds, and whether the grant's access ends: a long-lived Secret
/// token, an expiring token in the kubeconfig (beside the Secret's), or a grant that ends (a
/// bound token, and no long-lived one in the cluster).
pub(super) fn token(
    preset: &WizardPreset,
    prompter: &mut dyn Prompter,
) -> Result<(TokenKind, Option<Expires>)> {
    if let Some(rule) = preset.expires {
        return Ok((preset.token.unwrap_or(TokenKind::LongLived), Some(rule)));
    }
    if let Some(token) = preset.token {
        return Ok((token, None));
    }
    let items = [
        "long-lived  the token Secret's own token; revoke it by deleting the Secret".to_string(),
        "expiring    a token that stops working after a duration you choose".to_string(),
        "ends        the grant's access ends after a duration you choose (no long-lived token)"
            .to_string(),
    ];
    let choice = prompter.select("Token in the kubeconfig", &items, 0)?;
    if choice == 0 {
        return Ok((TokenKind::LongLived, None));
    }
    let typed = prompter.input(
        "Token lifetime (at least 10m, e.g. 8h, 7d)",
        Some(DEFAULT_DURATION),
        &accepts(kscope_core::spec::token_lifetime),
    )?;
    let lifetime = kscope_core::spec::token_lifetime(&typed)?;
    Ok(match choice {
        1 => (TokenKind::Expiring(lifetime), None),
        _ => (TokenKind::LongLived, Some(Expires::After(lifetime))),
    })
}

/// The kubeconfig file, and whether it replaces an existing one.
pub(super) fn output(
    preset: &WizardPreset,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
    prompter: &mut dyn Prompter,
) -> Result<(PathBuf, bool)> {
    let mut given = preset.output.clone();
    let default = plan::default_output(namespace.as_str(), service_account.as_str());
    let default = default.to_string_lossy();
    // An existing file is asked about below, so only what can never be written is refused.
    let writable = |text: &str| kubeconfig::check_destination(Path::new(text), true, "--output");
    loop {
        let path = match given.take() {
            Some(path) => path,
            None => PathBuf::from(prompter.input(
                "Kubeconfig file to write",
                Some(&default),
                &accepts(writable),
            )?),
        };
        let exists = std::fs::symlink_metadata(&path).is_ok();
        if !exists || preset.force {
            return Ok((path, exists));
        }
        if prompter.confirm(&format!("{} exists. Replace it?", path.display()), false)? {
            return Ok((path, true));
        }
    }
}
