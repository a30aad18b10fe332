//! The wizard's questions, their order and what the answers mean, as pure logic behind two
//! small traits: [`Prompter`] asks (dialoguer on a terminal, a script in tests) and [`Facts`]
//! answers what only the cluster knows (its namespaces, an existing ServiceAccount, a
//! ClusterRole). No terminal and no client here.
//!
//! The answers become command lines — `kscope grant …`, `kscope kubeconfig … --output F`,
//! `kscope check … --kubeconfig-file F` — which are parsed by the same clap types as typed
//! flags. What the wizard runs is therefore exactly what it prints as "the same with flags".

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{CheckArgs, Cli, Command, Global, GrantArgs, KubeconfigArgs, WizardArgs};
use crate::cmd::grant::{self, Plan};
use crate::error::{Error, Result};
use crate::kubeconfig::{self, Caller};
use crate::manifest;
use crate::spec::{self, NamespaceName, ServiceAccountName};
use crate::templates::{self, Template};

/// How the user answers. Every method returns `Error::Interrupted` on Ctrl-C.
pub trait Prompter {
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
pub trait Facts {
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
pub enum Presence {
    Absent,
    /// Labelled `app.kubernetes.io/managed-by: kscope`: the grant updates it.
    Managed,
    /// Someone else's: the grant refuses it without `--adopt`.
    NotManaged,
    /// The caller may not read it.
    Unknown,
}

/// Where the access comes from, as `--template` / `--cluster-role` say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A template name or file, as given to `--template`.
    Template(String),
    ClusterRole(String),
}

/// The token the kubeconfig holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// The token Secret's own token.
    LongLived,
    /// A TokenRequest token of this (validated) lifetime, as given to `--duration`.
    Expiring(String),
}

/// The flags of `kscope wizard`, validated: each one answers its question in advance.
#[derive(Debug, Clone, Default)]
pub struct Preset {
    pub namespace: Option<NamespaceName>,
    pub service_account: Option<ServiceAccountName>,
    pub access: Option<Access>,
    pub template_dir: Option<PathBuf>,
    pub token: Option<Token>,
    pub output: Option<PathBuf>,
    pub force: bool,
    pub adopt: bool,
}

impl Preset {
    /// Validates the flags with the functions `grant` and `kubeconfig` use (exit 2 on a bad
    /// one, before any question or request).
    pub fn parse(args: &WizardArgs) -> Result<Preset> {
        let namespace = args
            .namespace
            .as_deref()
            .map(NamespaceName::parse)
            .transpose()?;
        let service_account = args
            .serviceaccount
            .as_deref()
            .map(ServiceAccountName::parse)
            .transpose()?;
        let access = match (&args.access.cluster_role, &args.access.template) {
            (None, None) => None,
            (Some(role), _) => {
                grant::role_source(&args.access)?;
                Some(Access::ClusterRole(role.clone()))
            }
            (None, Some(template)) => {
                grant::role_source(&args.access)?;
                Some(Access::Template(template.clone()))
            }
        };
        let token = match (&args.duration, args.long_lived) {
            (Some(duration), _) => {
                spec::token_duration(duration)?;
                Some(Token::Expiring(duration.clone()))
            }
            (None, true) => Some(Token::LongLived),
            (None, false) => None,
        };
        if let Some(path) = &args.output {
            writable_destination(path).map_err(|why| {
                Error::usage(
                    format!("cannot write --output {}: {why}", path.display()),
                    "choose another --output",
                )
            })?;
        }
        Ok(Preset {
            namespace,
            service_account,
            access,
            template_dir: args.access.template_dir.clone(),
            token,
            output: args.output.clone(),
            force: args.force,
            adopt: args.adopt,
        })
    }

    /// The flags that do what the wizard would, with `<namespace>` and `<serviceaccount>`
    /// where the flags did not say (for the refusal without a terminal).
    pub fn command_line(&self, global: &Global) -> String {
        let namespace = self
            .namespace
            .as_ref()
            .map_or(NAMESPACE_PLACEHOLDER.to_string(), ToString::to_string);
        let service_account = self
            .service_account
            .as_ref()
            .map_or(SERVICE_ACCOUNT_PLACEHOLDER.to_string(), ToString::to_string);
        let output = self
            .output
            .clone()
            .unwrap_or_else(|| default_output(&namespace, &service_account));
        let answers = Words {
            kubeconfig: global.kubeconfig.clone(),
            context: global.context.clone(),
            namespace,
            service_account,
            access: self
                .access
                .clone()
                .unwrap_or_else(|| Access::Template(templates::DEFAULT.to_string())),
            template_dir: self.template_dir.clone(),
            token: self.token.clone().unwrap_or(Token::LongLived),
            output,
            force: self.force,
            adopt: self.adopt,
        };
        render_command_line(&answers.argv())
    }
}

/// A context of the caller's kubeconfig and the API server it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    pub name: String,
    pub server: String,
}

/// What the wizard starts from: the caller's contexts, the templates, the flags.
#[derive(Debug, Clone)]
pub struct Setup {
    pub contexts: Vec<ContextEntry>,
    /// Index into `contexts` of the preselected one (`--context`, else the current context).
    pub current: usize,
    /// `--context` was given: no question.
    pub context_given: bool,
    /// The kubeconfig's own current context; another choice is spelled `--context NAME`.
    pub kubeconfig_current: Option<String>,
    /// `--kubeconfig`, repeated in the printed command lines.
    pub kubeconfig_path: Option<PathBuf>,
    pub templates: Vec<Template>,
    pub preset: Preset,
}

impl Setup {
    pub fn new(
        caller: &Caller,
        global: &Global,
        templates: Vec<Template>,
        preset: Preset,
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
            context_given: global.context.is_some(),
            kubeconfig_current: config.current_context.clone().filter(|c| !c.is_empty()),
            kubeconfig_path: global.kubeconfig.clone(),
            templates,
            preset,
        }
    }
}

/// What the wizard will do, as parsed from its own command lines.
pub struct Run {
    /// `--kubeconfig` and `--context` of the chosen context.
    pub global: Global,
    pub grant: GrantArgs,
    pub kubeconfig: KubeconfigArgs,
    pub check: CheckArgs,
    /// The grant, validated by `grant`'s own `plan`.
    pub plan: Plan,
    /// The same, for a script: `kscope grant … && kscope kubeconfig … && kscope check …`.
    pub command_line: String,
}

/// How the wizard ended.
pub enum Decision {
    /// Confirmed: run it.
    Go(Box<Run>),
    /// Declined at the preview: nothing is done.
    Cancelled { command_line: String },
}

const NAMESPACE_PLACEHOLDER: &str = "<namespace>";
const SERVICE_ACCOUNT_PLACEHOLDER: &str = "<serviceaccount>";
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

/// Asks every question that the flags did not answer, previews the grant and asks for
/// confirmation. Nothing is created here: a `Decision::Go` is run by the caller.
pub fn run(setup: &Setup, prompter: &mut dyn Prompter, facts: &mut dyn Facts) -> Result<Decision> {
    let preset = &setup.preset;
    let context = ask_context(setup, prompter)?;
    let listed = facts.namespaces(&context)?;
    let namespace = ask_namespace(preset, listed.as_deref(), prompter)?;
    let namespace_exists = listed
        .as_ref()
        .map(|names| names.iter().any(|n| n == namespace.as_str()));
    let (service_account, adopt) =
        ask_service_account(preset, &context, &namespace, prompter, facts)?;
    let access = ask_access(setup, &context, prompter, facts)?;
    let token = ask_token(preset, prompter)?;
    let (output, force) = ask_output(preset, &namespace, &service_account, prompter)?;

    let answers = Words {
        kubeconfig: setup.kubeconfig_path.clone(),
        context: (setup.kubeconfig_current.as_deref() != Some(context.as_str())).then_some(context),
        namespace: namespace.to_string(),
        service_account: service_account.to_string(),
        access,
        template_dir: preset.template_dir.clone(),
        token,
        output,
        force,
        adopt,
    };
    let run = parse_run(&answers.argv())?;

    prompter.note("");
    prompter.note("The grant (what kscope grant --dry-run prints):");
    prompter.note(manifest::to_yaml(&manifest::build(&run.plan.spec))?.trim_end());
    if namespace_exists == Some(true) {
        prompter.note(&format!(
            "Namespace {namespace} exists: kscope leaves it as it is."
        ));
    }
    prompter.note(&format!(
        "The kubeconfig goes to {} (mode 0600), with {}.",
        answers.output.display(),
        match &answers.token {
            Token::LongLived => "the long-lived token of the Secret".to_string(),
            Token::Expiring(d) => format!("a token that expires after {d}"),
        }
    ));
    prompter.note(&format!(
        "The same with flags:\n  {}",
        wrapped(&run.command_line)
    ));
    prompter.note("");
    if prompter.confirm("Create these objects and write the kubeconfig?", false)? {
        Ok(Decision::Go(Box::new(run)))
    } else {
        Ok(Decision::Cancelled {
            command_line: run.command_line,
        })
    }
}

fn ask_context(setup: &Setup, prompter: &mut dyn Prompter) -> Result<String> {
    let Some(current) = setup.contexts.get(setup.current) else {
        return Err(Error::kubeconfig(
            "the kubeconfig has no contexts",
            "pass --kubeconfig FILE with a context for the cluster",
        ));
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

fn ask_namespace(
    preset: &Preset,
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
            return NamespaceName::parse(name);
        }
    }
    let typed = prompter.input("Namespace name", None, &|text| {
        NamespaceName::parse(text)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
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

fn ask_service_account(
    preset: &Preset,
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
                let typed = prompter.input("ServiceAccount name", default, &|text| {
                    ServiceAccountName::parse(text)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })?;
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

fn ask_access(
    setup: &Setup,
    context: &str,
    prompter: &mut dyn Prompter,
    facts: &mut dyn Facts,
) -> Result<Access> {
    let mut given = setup.preset.access.clone();
    loop {
        let access = match given.take() {
            Some(access) => access,
            None => pick_access(setup, prompter)?,
        };
        if let Access::ClusterRole(name) = &access
            && facts.cluster_role_exists(context, name)? == Some(false)
        {
            prompter.note(&format!(
                "ClusterRole {name} does not exist in this cluster: pick another."
            ));
            continue;
        }
        return Ok(access);
    }
}

fn pick_access(setup: &Setup, prompter: &mut dyn Prompter) -> Result<Access> {
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
        return Ok(Access::Template(template.name.clone()));
    }
    let mut roles: Vec<String> = CLUSTER_ROLES
        .iter()
        .map(|(name, what)| format!("{name:<width$}  {what}"))
        .collect();
    roles.push("another ClusterRole (type its name)".to_string());
    let index = prompter.select("ClusterRole to bind in the namespace", &roles, 0)?;
    if let Some((name, _)) = CLUSTER_ROLES.get(index) {
        return Ok(Access::ClusterRole(name.to_string()));
    }
    let typed = prompter.input("ClusterRole name", None, &|text| {
        spec::cluster_role(text)
            .map(drop)
            .map_err(|e| e.to_string())
    })?;
    Ok(Access::ClusterRole(spec::cluster_role(&typed)?))
}

fn ask_token(preset: &Preset, prompter: &mut dyn Prompter) -> Result<Token> {
    if let Some(token) = &preset.token {
        return Ok(token.clone());
    }
    let items = [
        "long-lived  the token Secret's own token; revoke it by deleting the Secret".to_string(),
        "expiring    a token that stops working after a duration you choose".to_string(),
    ];
    if prompter.select("Token in the kubeconfig", &items, 0)? == 0 {
        return Ok(Token::LongLived);
    }
    let typed = prompter.input(
        "Token lifetime (at least 10m, e.g. 8h, 7d)",
        Some(DEFAULT_DURATION),
        &|text| {
            spec::token_duration(text)
                .map(drop)
                .map_err(|e| e.to_string())
        },
    )?;
    spec::token_duration(&typed)?;
    Ok(Token::Expiring(typed))
}

/// The kubeconfig file, and whether it replaces an existing one.
fn ask_output(
    preset: &Preset,
    namespace: &NamespaceName,
    service_account: &ServiceAccountName,
    prompter: &mut dyn Prompter,
) -> Result<(PathBuf, bool)> {
    let mut given = preset.output.clone();
    let default = default_output(namespace.as_str(), service_account.as_str());
    let default = default.to_string_lossy();
    loop {
        let path = match given.take() {
            Some(path) => path,
            None => PathBuf::from(prompter.input(
                "Kubeconfig file to write",
                Some(&default),
                &|text| writable_destination(Path::new(text)),
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

/// Why `path` cannot take the kubeconfig, as `write_private` would say (an existing file is
/// asked about separately).
fn writable_destination(path: &Path) -> std::result::Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("the file name is empty".into());
    }
    kubeconfig::check_destination(path, true).map_err(|e| e.to_string())?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!("the directory {} does not exist", dir.display()))
    }
}

fn default_output(namespace: &str, service_account: &str) -> PathBuf {
    PathBuf::from(format!("./{namespace}-{service_account}.kubeconfig"))
}

/// The answers in the words of the flags.
struct Words {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespace: String,
    service_account: String,
    access: Access,
    template_dir: Option<PathBuf>,
    token: Token,
    output: PathBuf,
    force: bool,
    adopt: bool,
}

/// The three command lines, without the leading `kscope`.
struct Argv {
    grant: Vec<OsString>,
    kubeconfig: Vec<OsString>,
    check: Vec<OsString>,
}

impl Words {
    fn argv(&self) -> Argv {
        let start = |command: &str| {
            let mut argv: Vec<OsString> = Vec::new();
            if let Some(path) = &self.kubeconfig {
                argv.extend(["--kubeconfig".into(), path.into()]);
            }
            if let Some(context) = &self.context {
                argv.extend(["--context".into(), context.into()]);
            }
            argv.extend([
                command.into(),
                self.namespace.clone().into(),
                self.service_account.clone().into(),
            ]);
            argv
        };
        let mut grant = start("grant");
        match &self.access {
            Access::Template(name) => grant.extend(["--template".into(), name.into()]),
            Access::ClusterRole(name) => grant.extend(["--cluster-role".into(), name.into()]),
        }
        if let Some(dir) = &self.template_dir {
            grant.extend(["--template-dir".into(), dir.into()]);
        }
        if self.adopt {
            grant.push("--adopt".into());
        }
        let mut kubeconfig = start("kubeconfig");
        if let Token::Expiring(duration) = &self.token {
            kubeconfig.extend(["--duration".into(), duration.into()]);
        }
        kubeconfig.extend(["--output".into(), self.output.clone().into()]);
        if self.force {
            kubeconfig.push("--force".into());
        }
        let mut check = start("check");
        check.extend(["--kubeconfig-file".into(), self.output.clone().into()]);
        if let Some(dir) = &self.template_dir {
            check.extend(["--template-dir".into(), dir.into()]);
        }
        Argv {
            grant,
            kubeconfig,
            check,
        }
    }
}

/// Parses the wizard's own command lines with kscope's clap types, and plans the grant with
/// `grant`'s `plan`: the wizard runs what it prints.
fn parse_run(argv: &Argv) -> Result<Run> {
    let parse = |args: &[OsString]| {
        Cli::try_parse_from(
            std::iter::once(OsStr::new("kscope")).chain(args.iter().map(|a| a.as_os_str())),
        )
        .map_err(|e| {
            Error::runtime(
                format!(
                    "the wizard built a command line that kscope does not accept: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
                "this is a bug in kscope; run the steps with flags instead",
            )
        })
    };
    let bug = || {
        Error::runtime(
            "the wizard built a command line for the wrong command",
            "this is a bug in kscope",
        )
    };
    let granted = parse(&argv.grant)?;
    let global = granted.global;
    let Some(Command::Grant(grant)) = granted.command else {
        return Err(bug());
    };
    let Some(Command::Kubeconfig(kubeconfig)) = parse(&argv.kubeconfig)?.command else {
        return Err(bug());
    };
    let Some(Command::Check(check)) = parse(&argv.check)?.command else {
        return Err(bug());
    };
    let plan = grant::plan(&grant)?;
    Ok(Run {
        global,
        grant,
        kubeconfig,
        check,
        plan,
        command_line: render_command_line(argv),
    })
}

fn render_command_line(argv: &Argv) -> String {
    [&argv.grant, &argv.kubeconfig, &argv.check]
        .iter()
        .map(|args| {
            let words: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
            format!("kscope {}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// A command line of `&&`-joined commands, one command per line (a shell reads it the same).
pub fn wrapped(command_line: &str) -> String {
    command_line.replace(" && ", " &&\n  ")
}

/// A word as a POSIX shell reads it back: bare when safe, else single-quoted. The
/// placeholders `<namespace>` and `<serviceaccount>` are left bare for the reader to replace.
fn shell_word(word: &OsStr) -> String {
    let text = word.to_string_lossy();
    let unplaceheld = text
        .replace(NAMESPACE_PLACEHOLDER, "")
        .replace(SERVICE_ACCOUNT_PLACEHOLDER, "");
    let bare = !text.is_empty()
        && unplaceheld
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c));
    if bare {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use super::*;
    use crate::spec::RoleSource;

    /// One scripted answer.
    #[derive(Debug, Clone)]
    enum Answer<'a> {
        Select(usize),
        Type(&'a str),
        Confirm(bool),
    }
    use Answer::{Confirm, Select, Type};

    /// Answers from a script, like a user at dialoguer's prompts would: typed text that fails
    /// validation is refused with the reason and the next answer is taken. When the script
    /// runs out, the user pressed Ctrl-C.
    struct Script<'a> {
        answers: VecDeque<Answer<'a>>,
        /// Prompts, notes and refusals, in order.
        seen: Vec<String>,
    }

    impl<'a> Script<'a> {
        fn new(answers: &[Answer<'a>]) -> Script<'a> {
            Script {
                answers: answers.iter().cloned().collect(),
                seen: Vec::new(),
            }
        }
        fn next(&mut self, prompt: &str) -> Result<Answer<'a>> {
            self.seen.push(format!("? {prompt}"));
            self.answers.pop_front().ok_or(Error::Interrupted)
        }
        fn saw(&self, text: &str) -> bool {
            self.seen.iter().any(|s| s.contains(text))
        }
    }

    impl Prompter for Script<'_> {
        fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
            assert!(
                default < items.len(),
                "{prompt}: default {default} out of range"
            );
            match self.next(prompt)? {
                Select(i) => {
                    assert!(i < items.len(), "{prompt}: no item {i} in {items:?}");
                    self.seen.push(format!("> {}", items[i]));
                    Ok(i)
                }
                other => panic!("{prompt}: a select, but the script says {other:?}"),
            }
        }
        fn input(
            &mut self,
            prompt: &str,
            default: Option<&str>,
            validate: &dyn Fn(&str) -> std::result::Result<(), String>,
        ) -> Result<String> {
            loop {
                let text = match self.next(prompt)? {
                    Type("") => default.unwrap_or_default().to_string(),
                    Type(text) => text.to_string(),
                    other => panic!("{prompt}: an input, but the script says {other:?}"),
                };
                match validate(&text) {
                    Ok(()) => return Ok(text),
                    Err(why) => self.seen.push(format!("✘ {why}")),
                }
            }
        }
        fn confirm(&mut self, prompt: &str, _default: bool) -> Result<bool> {
            match self.next(prompt)? {
                Confirm(yes) => Ok(yes),
                other => panic!("{prompt}: a confirm, but the script says {other:?}"),
            }
        }
        fn note(&mut self, text: &str) {
            self.seen.push(text.to_string());
        }
    }

    /// A cluster in memory.
    #[derive(Default)]
    struct Cluster {
        /// None: listing is forbidden.
        namespaces: Option<Vec<String>>,
        service_accounts: HashMap<String, Presence>,
        cluster_roles: Vec<&'static str>,
        asked: Vec<String>,
    }

    impl Facts for Cluster {
        fn namespaces(&mut self, context: &str) -> Result<Option<Vec<String>>> {
            self.asked.push(format!("namespaces@{context}"));
            Ok(self.namespaces.clone())
        }
        fn service_account(
            &mut self,
            _context: &str,
            namespace: &NamespaceName,
            name: &ServiceAccountName,
        ) -> Result<Presence> {
            Ok(*self
                .service_accounts
                .get(&format!("{namespace}/{name}"))
                .unwrap_or(&Presence::Absent))
        }
        fn cluster_role_exists(&mut self, _context: &str, name: &str) -> Result<Option<bool>> {
            Ok(Some(self.cluster_roles.contains(&name)))
        }
    }

    fn cluster() -> Cluster {
        Cluster {
            namespaces: Some(vec![
                "default".into(),
                "kube-system".into(),
                "team-b".into(),
            ]),
            cluster_roles: vec!["edit", "view", "admin"],
            ..Default::default()
        }
    }

    fn setup(preset: Preset) -> Setup {
        Setup {
            contexts: vec![
                ContextEntry {
                    name: "kind-dev".into(),
                    server: "https://127.0.0.1:6443".into(),
                },
                ContextEntry {
                    name: "prod".into(),
                    server: "https://prod.example:6443".into(),
                },
            ],
            current: 0,
            context_given: false,
            kubeconfig_current: Some("kind-dev".into()),
            kubeconfig_path: None,
            templates: templates::built_ins(),
            preset,
        }
    }

    fn go(decision: Decision) -> Run {
        match decision {
            Decision::Go(run) => *run,
            Decision::Cancelled { .. } => panic!("cancelled"),
        }
    }

    fn wizard<'a>(
        preset: Preset,
        facts: &mut Cluster,
        answers: &[Answer<'a>],
    ) -> (Result<Decision>, Script<'a>) {
        let mut script = Script::new(answers);
        let result = run(&setup(preset), &mut script, facts);
        (result, script)
    }

    #[test]
    fn answers_become_the_grant_and_the_flags_that_make_it() {
        let mut facts = cluster();
        let (result, script) = wizard(
            Preset::default(),
            &mut facts,
            &[
                Select(0),                             // context kind-dev
                Select(0),                             // a new namespace
                Type("Team_A"),                        // refused: uppercase
                Type("team-a"),                        // accepted
                Type(""),                              // ServiceAccount: the default team-a-sa
                Select(2),                             // deployer
                Select(1),                             // expiring
                Type("5m"),                            // refused: under 10 minutes
                Type(""),                              // the default, 24h
                Type("/nonexistent-dir/x.kubeconfig"), // refused: no such directory
                Type(""),                              // ./team-a-team-a-sa.kubeconfig
                Confirm(true),
            ],
        );
        let run = go(result.unwrap());
        assert!(
            script.saw("✘ invalid namespace name \"Team_A\": it contains the uppercase letter 'T'")
        );
        assert!(script.saw("✘ invalid --duration \"5m\": tokens must live at least 10 minutes"));
        assert!(script.saw("✘ the directory /nonexistent-dir does not exist"));
        assert!(script.saw("Namespace team-a will be created."));
        assert!(
            !script.saw("> kube-system"),
            "system namespaces are not offered"
        );
        assert_eq!(run.plan.spec.namespace.as_str(), "team-a");
        assert_eq!(run.plan.spec.service_account.as_str(), "team-a-sa");
        match &run.plan.spec.role {
            RoleSource::Template(t) => assert_eq!(t.name, "deployer"),
            other => panic!("{other:?}"),
        }
        assert_eq!(run.kubeconfig.duration.as_deref(), Some("24h"));
        assert_eq!(
            run.kubeconfig.output.as_deref(),
            Some(Path::new("./team-a-team-a-sa.kubeconfig"))
        );
        assert!(!run.kubeconfig.force);
        assert_eq!(run.check.kubeconfig_file, run.kubeconfig.output);
        assert_eq!(
            run.global.context, None,
            "the current context needs no flag"
        );
        assert_eq!(
            run.command_line,
            "kscope grant team-a team-a-sa --template deployer && \
             kscope kubeconfig team-a team-a-sa --duration 24h --output ./team-a-team-a-sa.kubeconfig && \
             kscope check team-a team-a-sa --kubeconfig-file ./team-a-team-a-sa.kubeconfig"
        );
        assert!(
            script.saw("kind: RoleBinding"),
            "the preview shows the manifests"
        );
        assert!(
            script.saw(&wrapped(&run.command_line)),
            "the preview shows the flags"
        );
        assert_eq!(facts.asked, ["namespaces@kind-dev"]);
    }

    #[test]
    fn another_context_an_existing_namespace_and_a_cluster_role() {
        let mut facts = cluster();
        let (result, script) = wizard(
            Preset::default(),
            &mut facts,
            &[
                Select(1), // prod
                Select(2), // team-b (after "new" and default; kube-system is hidden)
                Type("ci"),
                Select(4),   // an existing ClusterRole
                Select(3),   // another one, typed
                Type("a/b"), // refused
                Type("missing"),
                Select(4), // asked again: an existing ClusterRole
                Select(1), // view
                Select(0), // long-lived
                Type("out.kubeconfig"),
                Confirm(true),
            ],
        );
        let run = go(result.unwrap());
        assert_eq!(facts.asked, ["namespaces@prod"]);
        assert!(script.saw("✘ invalid --cluster-role \"a/b\""));
        assert!(script.saw("ClusterRole missing does not exist in this cluster"));
        assert!(script.saw("Namespace team-b exists: kscope leaves it as it is."));
        assert_eq!(run.plan.spec.role, RoleSource::ClusterRole("view".into()));
        assert_eq!(run.global.context.as_deref(), Some("prod"));
        assert_eq!(run.kubeconfig.duration, None);
        assert_eq!(
            run.command_line,
            "kscope --context prod grant team-b ci --cluster-role view && \
             kscope --context prod kubeconfig team-b ci --output out.kubeconfig && \
             kscope --context prod check team-b ci --kubeconfig-file out.kubeconfig"
        );
    }

    #[test]
    fn no_at_the_preview_cancels() {
        let (result, script) = wizard(
            Preset::default(),
            &mut cluster(),
            &[
                Select(0),
                Select(0),
                Type("team-c"),
                Type("app"),
                Select(0),
                Select(0),
                Type(""),
                Confirm(false),
            ],
        );
        match result.unwrap() {
            Decision::Cancelled { command_line } => {
                assert!(
                    command_line
                        .starts_with("kscope grant team-c app --template namespace-admin && ")
                )
            }
            Decision::Go(_) => panic!("went ahead after no"),
        }
        assert!(script.saw("? Create these objects and write the kubeconfig?"));
    }

    #[test]
    fn ctrl_c_at_a_question_is_interrupted() {
        let (result, _) = wizard(Preset::default(), &mut cluster(), &[Select(0), Select(0)]);
        assert!(matches!(result, Err(Error::Interrupted)));
    }

    #[test]
    fn forbidden_listing_goes_straight_to_typing() {
        let mut facts = Cluster {
            namespaces: None,
            ..cluster()
        };
        let (result, script) = wizard(
            Preset::default(),
            &mut facts,
            &[
                Select(0),
                Type("team-d"),
                Type("app"),
                Select(0),
                Select(0),
                Type(""),
                Confirm(true),
            ],
        );
        assert_eq!(go(result.unwrap()).plan.spec.namespace.as_str(), "team-d");
        assert!(script.saw("You may not list namespaces here"));
        assert!(!script.saw("will be created"), "unknown without a list");
    }

    #[test]
    fn a_service_account_kscope_does_not_manage_is_named_and_needs_consent() {
        let mut facts = cluster();
        facts
            .service_accounts
            .insert("team-b/builder".into(), Presence::NotManaged);
        facts
            .service_accounts
            .insert("team-b/ours".into(), Presence::Managed);
        let mut answers = vec![
            Select(0),
            Select(2),
            Type("builder"),
            Confirm(false),
            Type("ours"),
        ];
        answers.extend([Select(0), Select(0), Type(""), Confirm(true)]);
        let (result, script) = wizard(Preset::default(), &mut facts, &answers);
        let run = go(result.unwrap());
        assert!(script.saw(
            "Warning: ServiceAccount team-b/builder already exists and kscope does not manage it \
             (it lacks the label app.kubernetes.io/managed-by=kscope)"
        ));
        assert!(script.saw("ServiceAccount team-b/ours exists and kscope manages it"));
        assert_eq!(run.plan.spec.service_account.as_str(), "ours");
        assert!(!run.plan.adopt);

        let answers = [Select(0), Select(2), Type("builder"), Confirm(true)];
        let answers: Vec<Answer> = answers
            .into_iter()
            .chain([Select(0), Select(0), Type(""), Confirm(true)])
            .collect();
        let (result, _) = wizard(Preset::default(), &mut facts, &answers);
        let run = go(result.unwrap());
        assert!(run.plan.adopt);
        assert!(
            run.command_line
                .contains("grant team-b builder --template namespace-admin --adopt")
        );
    }

    #[test]
    fn flags_answer_their_questions() {
        let args = WizardArgs {
            namespace: Some("team-e".into()),
            serviceaccount: Some("deploy".into()),
            access: crate::cli::AccessArgs {
                cluster_role: Some("edit".into()),
                ..Default::default()
            },
            duration: Some("8h".into()),
            output: Some("/tmp/kscope-wizard-unit/it's.kubeconfig".into()),
            force: true,
            ..Default::default()
        };
        let preset = Preset::parse(&args).unwrap_err();
        assert!(preset.to_string().contains("does not exist"), "{preset}");

        let args = WizardArgs {
            output: Some("it's.kubeconfig".into()),
            ..args
        };
        let preset = Preset::parse(&args).unwrap();
        let mut setup = setup(preset);
        setup.context_given = true;
        let mut script = Script::new(&[Confirm(true)]);
        let run = go(run(&setup, &mut script, &mut cluster()).unwrap());
        assert_eq!(
            script.seen.iter().filter(|s| s.starts_with("? ")).count(),
            1
        );
        assert!(script.saw("Context: kind-dev (https://127.0.0.1:6443)"));
        assert_eq!(
            run.command_line,
            "kscope grant team-e deploy --cluster-role edit && \
             kscope kubeconfig team-e deploy --duration 8h --output 'it'\\''s.kubeconfig' && \
             kscope check team-e deploy --kubeconfig-file 'it'\\''s.kubeconfig'"
        );
    }

    #[test]
    fn an_existing_file_is_replaced_only_when_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("taken.kubeconfig");
        std::fs::write(&taken, "old").unwrap();
        let fresh = dir.path().join("fresh.kubeconfig");
        let (taken_text, fresh_text) = (taken.to_str().unwrap(), fresh.to_str().unwrap());
        let dir_text = dir.path().to_str().unwrap();
        let start = [
            Select(0),
            Select(0),
            Type("team-f"),
            Type("app"),
            Select(0),
            Select(0),
        ];

        let mut answers = start.to_vec();
        answers.extend([
            Type(dir_text), // a directory: refused
            Type(taken_text),
            Confirm(false), // keep it: asked again
            Type(fresh_text),
            Confirm(true),
        ]);
        let (result, script) = wizard(Preset::default(), &mut cluster(), &answers);
        let run = go(result.unwrap());
        assert!(script.saw(&format!("✘ {dir_text} is a directory")));
        assert!(script.saw(&format!("? {taken_text} exists. Replace it?")));
        assert_eq!(run.kubeconfig.output, Some(fresh.clone()));
        assert!(!run.kubeconfig.force);

        let mut answers = start.to_vec();
        answers.extend([Type(taken_text), Confirm(true), Confirm(true)]);
        let (result, _) = wizard(Preset::default(), &mut cluster(), &answers);
        let run = go(result.unwrap());
        assert_eq!(run.kubeconfig.output, Some(taken.clone()));
        assert!(run.kubeconfig.force, "replacing needs --force");
        assert!(
            run.command_line.contains(" --force && "),
            "{}",
            run.command_line
        );
        assert_eq!(
            std::fs::read_to_string(&taken).unwrap(),
            "old",
            "nothing written yet"
        );
    }

    #[test]
    fn bad_flags_are_refused_before_any_question() {
        let cases = [
            (
                WizardArgs {
                    namespace: Some("Nope".into()),
                    ..Default::default()
                },
                "invalid namespace name",
            ),
            (
                WizardArgs {
                    duration: Some("9m".into()),
                    ..Default::default()
                },
                "at least 10 minutes",
            ),
            (
                WizardArgs {
                    access: crate::cli::AccessArgs {
                        template: Some("nope".into()),
                        ..Default::default()
                    },
                    ..Default::default()
                },
                "unknown template",
            ),
        ];
        for (args, why) in cases {
            let e = Preset::parse(&args).unwrap_err();
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(e.exit() as u8, 2);
        }
    }

    #[test]
    fn the_refusal_spells_out_the_flags_with_placeholders() {
        let global = Global {
            kubeconfig: Some("/home/me/my cluster.yaml".into()),
            context: None,
            verbose: false,
        };
        assert_eq!(
            Preset::default().command_line(&global),
            "kscope --kubeconfig '/home/me/my cluster.yaml' grant <namespace> <serviceaccount> --template namespace-admin && \
             kscope --kubeconfig '/home/me/my cluster.yaml' kubeconfig <namespace> <serviceaccount> --output ./<namespace>-<serviceaccount>.kubeconfig && \
             kscope --kubeconfig '/home/me/my cluster.yaml' check <namespace> <serviceaccount> --kubeconfig-file ./<namespace>-<serviceaccount>.kubeconfig"
        );
        let preset = Preset::parse(&WizardArgs {
            namespace: Some("ask".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(
            preset
                .command_line(&Global {
                    kubeconfig: None,
                    context: Some("kind".into()),
                    verbose: false
                })
                .starts_with("kscope --context kind grant ask <serviceaccount> ")
        );
    }
}
