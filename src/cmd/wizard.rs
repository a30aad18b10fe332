//! `kscope` (on a terminal) and `kscope wizard`: asks the questions of `crate::wizard` with
//! dialoguer, answering its cluster questions through the chosen context, then runs what the
//! answers say with the functions behind the flags: `grant`'s execute, `kubeconfig`'s render
//! and private writer, and `check`. Without a terminal it refuses and prints those flags.
//!
//! The prompts block, so they run on a blocking thread; Ctrl-C there (dialoguer reads it as a
//! key in raw mode) ends the wizard with exit 130 before anything is created.

use std::io::IsTerminal;

use clap::CommandFactory;
use console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};
use tokio::runtime::Handle;

use crate::cli::{Cli, Global, WizardArgs};
use crate::cluster::{Cluster, Mode};
use crate::cmd::{Session, check, grant, print};
use crate::error::{Error, Exit, Result, api_status};
use crate::kubeconfig::{self, load};
use crate::manifest::{self, FIELD_MANAGER, MANAGED_BY};
use crate::progress::{Spinner, note};
use crate::render;
use crate::spec::{self, NamespaceName, ServiceAccountName};
use crate::templates;
use crate::wizard::{self, Decision, Facts, Presence, Preset, Prompter, Run, Setup};

/// How the wizard was started: bare `kscope` shows the whole usage when it must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Bare,
    Subcommand,
}

pub async fn run(global: &Global, args: &WizardArgs, started: Started) -> Result<Exit> {
    let preset = Preset::parse(args)?;
    let missing = if !std::io::stdin().is_terminal() {
        Some("stdin")
    } else if !std::io::stderr().is_terminal() {
        Some("stderr")
    } else {
        None
    };
    if let Some(stream) = missing {
        let mut command = Cli::command();
        command.build();
        let usage = match started {
            Started::Bare => command.render_help(),
            Started::Subcommand => command
                .find_subcommand_mut("wizard")
                .map(|w| w.render_usage())
                .unwrap_or_else(|| command.render_usage()),
        };
        eprintln!("{}\n", usage.to_string().trim_end());
        return Err(Error::usage(
            format!("the wizard needs a terminal, and {stream} is not one"),
            format!(
                "run the same steps with flags:\n  {}",
                wizard::wrapped(&preset.command_line(global))
            ),
        ));
    }

    let caller = load(global.kubeconfig.as_deref(), global.context.as_deref())?;
    let catalog = templates::catalog(&templates::user_dirs(args.access.template_dir.as_deref()))?;
    let setup = Setup::new(&caller, global, catalog, preset);
    let facts_global = global.clone();
    let handle = Handle::current();
    let decision = tokio::task::spawn_blocking(move || {
        let mut facts = ClusterFacts {
            handle,
            global: facts_global,
            connected: None,
        };
        wizard::run(&setup, &mut Terminal::new(), &mut facts)
    })
    .await
    .map_err(|e| {
        Error::runtime(
            format!("the wizard stopped unexpectedly: {e}"),
            "this is a bug in kscope; run the steps with flags instead (kscope grant --help)",
        )
    })??;
    match decision {
        Decision::Cancelled { command_line } => {
            note("Nothing was created. The same later, with flags:");
            note(&format!("  {}", wizard::wrapped(&command_line)));
            Ok(Exit::Ok)
        }
        Decision::Go(run) => act(&run).await,
    }
}

/// Runs a confirmed wizard: grant, kubeconfig file, check, as the three command lines would.
async fn act(run: &Run) -> Result<Exit> {
    let session = Session::connect(&run.global).await?;
    let endpoint = session.caller.endpoint(None, None)?;
    let output = run.kubeconfig.output.clone().ok_or_else(|| {
        Error::runtime(
            "the wizard chose no kubeconfig file",
            "this is a bug in kscope",
        )
    })?;
    let lifetime = run
        .kubeconfig
        .duration
        .as_deref()
        .map(spec::token_duration)
        .transpose()?;
    kubeconfig::check_destination(&output, run.kubeconfig.force)?;

    let plan = &run.plan;
    let manifests = manifest::build(&plan.spec);
    let report = grant::execute(&session, plan, &manifests, Mode::Apply).await?;
    print(&render::grant_results(&report.objects))?;

    let (namespace, service_account) = (&plan.spec.namespace, &plan.spec.service_account);
    let text = crate::cmd::kubeconfig::render(
        &session.cluster,
        &endpoint,
        namespace,
        service_account,
        lifetime,
    )
    .await?;
    kubeconfig::write_private(&output, &text, run.kubeconfig.force)?;
    note(&format!("wrote {} (mode 0600)", output.display()));

    let (as_sa, _) = check::connect_file(&output).await?;
    let spinner = Spinner::start(&format!(
        "checking the access of system:serviceaccount:{namespace}:{service_account} through {}",
        output.display()
    ));
    let checked = check::check(
        &session,
        namespace,
        service_account,
        Some(plan.spec.role.clone()),
        run.check.access.template_dir.as_deref(),
        Some(as_sa),
    )
    .await;
    spinner.finish("access checked").await;
    let checked = checked?;
    print(&render::check_matrix(&checked))?;

    note(&format!(
        "Try it:\n  kubectl --kubeconfig {} get pods",
        shell_path(&output)
    ));
    note(&format!(
        "The same with flags, for next time:\n  {}",
        wizard::wrapped(&run.command_line)
    ));
    Ok(check::verdict(&checked))
}

fn shell_path(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The wizard's questions on the terminal (stderr), with dialoguer.
struct Terminal {
    theme: ColorfulTheme,
}

impl Terminal {
    fn new() -> Terminal {
        Terminal {
            theme: ColorfulTheme::default(),
        }
    }
}

/// dialoguer reports Ctrl-C as an interrupted read; anything else is a broken terminal.
fn prompt_error(error: dialoguer::Error) -> Error {
    // A select hides the cursor and leaves it hidden when it fails.
    let _ = Term::stderr().show_cursor();
    let error = std::io::Error::from(error);
    if error.kind() == std::io::ErrorKind::Interrupted {
        eprintln!();
        Error::Interrupted
    } else {
        Error::runtime(
            format!("the terminal failed during the wizard: {error}"),
            "run the steps with flags instead (kscope grant --help)",
        )
    }
}

impl Prompter for Terminal {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .max_length(12)
            .interact()
            .map_err(prompt_error)
    }

    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        let mut input = Input::<String>::with_theme(&self.theme).with_prompt(prompt);
        if let Some(default) = default {
            input = input.default(default.to_string());
        }
        input
            .validate_with(|text: &String| validate(text.trim()))
            .interact_text()
            .map(|text| text.trim().to_string())
            .map_err(prompt_error)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    fn note(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

/// The wizard's cluster questions, asked as the caller through the chosen context. Runs on the
/// wizard's blocking thread, so it drives the async client with the runtime's handle.
struct ClusterFacts {
    handle: Handle,
    global: Global,
    /// The context connected to last, and its client.
    connected: Option<(String, Cluster)>,
}

impl ClusterFacts {
    fn cluster(&mut self, context: &str) -> Result<Cluster> {
        if let Some((name, cluster)) = &self.connected
            && name == context
        {
            return Ok(cluster.clone());
        }
        let global = Global {
            context: Some(context.to_string()),
            ..self.global.clone()
        };
        let session = self.handle.block_on(Session::connect(&global))?;
        self.connected = Some((context.to_string(), session.cluster.clone()));
        Ok(session.cluster)
    }
}

/// A 403: the caller may not ask, which the wizard works around.
fn forbidden(error: &Error) -> bool {
    matches!(error, Error::Api { source, .. } if api_status(source).is_some_and(|s| s.code == 403))
}

impl Facts for ClusterFacts {
    fn namespaces(&mut self, context: &str) -> Result<Option<Vec<String>>> {
        let cluster = self.cluster(context)?;
        match self.handle.block_on(cluster.namespaces()) {
            Ok(names) => Ok(Some(names)),
            Err(e) if forbidden(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn service_account(
        &mut self,
        context: &str,
        namespace: &NamespaceName,
        name: &ServiceAccountName,
    ) -> Result<Presence> {
        let cluster = self.cluster(context)?;
        let found = self
            .handle
            .block_on(cluster.service_account(namespace.as_str(), name.as_str()));
        match found {
            Ok(None) => Ok(Presence::Absent),
            Ok(Some(sa)) => {
                let managed = sa
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(MANAGED_BY))
                    .is_some_and(|v| v == FIELD_MANAGER);
                Ok(if managed {
                    Presence::Managed
                } else {
                    Presence::NotManaged
                })
            }
            Err(e) if forbidden(&e) => Ok(Presence::Unknown),
            Err(e) => Err(e),
        }
    }

    fn cluster_role_exists(&mut self, context: &str, name: &str) -> Result<Option<bool>> {
        let cluster = self.cluster(context)?;
        match self.handle.block_on(cluster.cluster_role(name)) {
            Ok(found) => Ok(Some(found.is_some())),
            Err(e) if forbidden(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
