//! The wizard's questions, their order and what the answers mean, as pure logic behind two
//! small traits: [`Prompter`] asks (dialoguer on a terminal, a script in tests) and [`Facts`]
//! answers what only the cluster knows (its namespaces, an existing ServiceAccount, a
//! ClusterRole). No terminal and no client here.
//!
//! The answers become the same typed plans that the flags of `grant`, `kubeconfig` and
//! `check` become; the equivalent command line is rendered from those plans, for the user to
//! read and reuse (`command_line`), never parsed back.

mod command_line;
mod questions;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub(crate) use command_line::{for_preset, shell_path, wrapped};

use crate::error::{Error, Result};
use crate::kubeconfig::Caller;
use crate::plan::{CheckPlan, Destination, GrantPlan, KubeconfigPlan, WizardPreset};
use kscope_core::containment::Reach;
use kscope_core::manifest;
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::spec::{GrantSpec, PodSecurity, RoleSource, TokenKind};
use kscope_core::templates::Template;

/// How the user answers. Every method returns `Error::Interrupted` on Ctrl-C.
pub(crate) trait Prompter {
    /// One of `items` (at least one); returns its index.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    /// A line of text, asked again (with the reason shown) until `validate` accepts it. An
    /// empty answer means `default`, which is validated too.
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
    /// Information for the user, not a question.
    fn note(&mut self, text: &str);
}

/// What the cluster behind a context says. `Ok(None)` means the caller may not ask (403); any
/// other failure is an error that ends the wizard.
pub(crate) trait Facts {
    /// The namespaces' names.
    fn namespaces(&mut self, context: &str) -> Result<Option<Vec<String>>>;
    fn service_account(
        &mut self,
        context: &str,
        namespace: &NamespaceName,
        name: &ServiceAccountName,
    ) -> Result<Presence>;
    fn cluster_role_exists(&mut self, context: &str, name: &str) -> Result<Option<bool>>;
}

/// Whether an object of the grant's name is already there, and whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Absent,
    /// Labelled `app.kubernetes.io/managed-by: kscope`: the grant updates it.
    Managed,
    /// Someone else's: the grant refuses it without `--adopt`.
    NotManaged,
    /// The caller may not read it.
    Unknown,
}

/// A context of the caller's kubeconfig and the API server it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextEntry {
    pub(crate) name: String,
    pub(crate) server: String,
}

/// What the wizard starts from: the caller's contexts, the templates, the flags.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) contexts: Vec<ContextEntry>,
    /// Index into `contexts` of the preselected one (`--context`, else the current context).
    pub(crate) current: usize,
    /// `--context` was given: no question.
    pub(crate) context_given: bool,
    /// The kubeconfig's own current context; another choice is spelled `--context NAME`.
    pub(crate) kubeconfig_current: Option<String>,
    /// `--kubeconfig`, repeated in the printed command lines.
    pub(crate) kubeconfig_path: Option<PathBuf>,
    pub(crate) templates: Vec<Template>,
    /// The user template directories (`--template-dir`, then the XDG one).
    pub(crate) template_dirs: Vec<PathBuf>,
    /// The defaults for a grant's timeout (the wizard has no question for it).
    pub(crate) timeout: std::time::Duration,
    pub(crate) preset: WizardPreset,
}

impl Setup {
    pub(crate) fn new(
        caller: &Caller,
        kubeconfig_path: Option<PathBuf>,
        context_given: bool,
        templates: Vec<Template>,
        template_dirs: Vec<PathBuf>,
        preset: WizardPreset,
    ) -> Setup {
        let config = &caller.kubeconfig;
        let contexts: Vec<ContextEntry> = config
            .contexts
            .iter()
            .map(|named| {
                let server = named
                    .context
                    .as_ref()
                    .and_then(|c| config.clusters.iter().find(|k| k.name == c.cluster))
                    .and_then(|k| k.cluster.as_ref())
                    .and_then(|k| k.server.clone())
                    .unwrap_or_else(|| "(no server)".to_string());
                ContextEntry {
                    name: named.name.clone(),
                    server,
                }
            })
            .collect();
        let current = contexts
            .iter()
            .position(|c| c.name == caller.context)
            .unwrap_or(0);
        Setup {
            contexts,
            current,
            context_given,
            kubeconfig_current: config.current_context.clone().filter(|c| !c.is_empty()),
            kubeconfig_path,
            templates,
            template_dirs,
            timeout: std::time::Duration::from_secs(60),
            preset,
        }
    }
}

/// What the wizard will do: the plans the three commands would make from the same flags.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The chosen context of the caller's kubeconfig.
    pub(crate) context: String,
    pub(crate) grant: GrantPlan,
    /// Always writes to a file (`Destination::File`).
    pub(crate) kubeconfig: KubeconfigPlan,
    /// Checks through that file, against the role just granted.
    pub(crate) check: CheckPlan,
    /// The same, for a script: `kscope grant … && kscope kubeconfig … && kscope check …`.
    pub(crate) command_line: String,
}

impl Run {
    /// The kubeconfig file the run writes.
    pub(crate) fn output(&self) -> Result<(&std::path::Path, bool)> {
        match &self.kubeconfig.destination {
            Destination::File { path, force } => Ok((path, *force)),
            Destination::Stdout => Err(Error::bug("the wizard chose no kubeconfig file")),
        }
    }
}

/// How the wizard ended.
pub(crate) enum Decision {
    /// Confirmed: run it.
    Go(Box<Run>),
    /// Declined at the preview: nothing is done.
    Cancelled { command_line: String },
}

/// Asks every question that the flags did not answer, previews the grant and asks for
/// confirmation. Nothing is created here: a `Decision::Go` is run by the caller.
pub(crate) fn interview(
    setup: &Setup,
    prompter: &mut dyn Prompter,
    facts: &mut dyn Facts,
) -> Result<Decision> {
    let preset = &setup.preset;
    let context = questions::context(setup, prompter)?;
    let listed = facts.namespaces(&context)?;
    let namespace = questions::namespace(preset, listed.as_deref(), prompter)?;
    let namespace_exists = listed
        .as_ref()
        .map(|names| names.iter().any(|n| n == namespace.as_str()));
    let (service_account, adopt) =
        questions::service_account(preset, &context, &namespace, prompter, facts)?;
    let role = questions::access(setup, &context, prompter, facts)?;
    let pod_security = questions::pod_security(preset, namespace_exists != Some(true), prompter)?;
    let (token, expires) = questions::token(preset, prompter)?;
    let (output, force) = questions::output(preset, &namespace, &service_account, prompter)?;

    let spec = GrantSpec {
        pod_security,
        expires,
        ..GrantSpec::new(namespace, service_account, role)
    };
    let grant_ref = spec.grant_ref();
    let check = CheckPlan {
        grant: Some(grant_ref.clone()),
        through: Some(output.clone()),
        // The file kscope itself writes in this run (with the context's proxy, if it has one).
        trust_file: true,
        role: Some(spec.role.clone()),
        template_dirs: setup.template_dirs.clone(),
        all_resources: false,
        access_reviews: false,
    };
    let kubeconfig = KubeconfigPlan {
        format: crate::plan::CredentialPlan::Kubeconfig,
        deliver_to: None,
        grant: Some(grant_ref),
        token,
        destination: Destination::File {
            path: output.clone(),
            force,
        },
        strict_duration: false,
        server: None,
        ca_file: None,
    };
    let grant = GrantPlan {
        spec,
        adopt,
        dry_run: None,
        timeout: setup.timeout,
        preflight: true,
        remember: true,
        allow: preset.allow,
        prove_guard: true,
        renew_before: None,
    };
    let context_flag =
        (setup.kubeconfig_current.as_deref() != Some(context.as_str())).then_some(context.as_str());
    let command_line = command_line::for_plans(setup, context_flag, &grant, &kubeconfig, &check);

    prompter.note("");
    prompter.note("The grant (what kscope grant --dry-run prints):");
    prompter.note(manifest::to_yaml(&manifest::build(&grant.spec))?.trim_end());
    if namespace_exists == Some(true) {
        prompter.note(&format!(
            "Namespace {} exists: kscope leaves it as it is.",
            grant.spec.namespace
        ));
    }
    if let RoleSource::Template(template) = &grant.spec.role {
        for reach in Reach::of(&template.rules).sentences(&template.rules) {
            prompter.note(&format!("What {} really reaches: {reach}.", template.name));
        }
    }
    if grant.spec.pod_security == PodSecurity::Privileged {
        prompter.note(&format!(
            "Warning: {}.",
            kscope_core::spec::PRIVILEGED_WARNING
        ));
    }
    prompter.note(&format!(
        "The kubeconfig goes to {} (mode 0600), with {}.",
        output.display(),
        match (token, grant.spec.expires) {
            (_, Some(rule)) => format!(
                "a bound token: the grant's access ends {} (the API server refuses it then)",
                rule.describe()
            ),
            (TokenKind::LongLived, None) => "the long-lived token of the Secret".to_string(),
            (TokenKind::Expiring(d), None) => format!(
                "a token that expires after {}",
                kscope_core::duration::flag(d)
            ),
        }
    ));
    prompter.note(&format!(
        "The same with flags:\n  {}",
        wrapped(&command_line)
    ));
    prompter.note("");
    if prompter.confirm("Create these objects and write the kubeconfig?", false)? {
        Ok(Decision::Go(Box::new(Run {
            context,
            grant,
            kubeconfig,
            check,
            command_line,
        })))
    } else {
        Ok(Decision::Cancelled { command_line })
    }
}
