//! `kscope` (on a terminal) and `kscope wizard`: asks the questions of `crate::wizard` with
//! dialoguer, answering its cluster questions through the chosen context, then runs what the
//! answers say with the functions behind the flags: `grant`'s execute, `kubeconfig`'s render
//! and private writer, and `check`. Without a terminal it refuses and prints those flags.
//!
//! The prompts block, so they run on a blocking thread; Ctrl-C there (dialoguer reads it as a
//! key in raw mode) ends the wizard with exit 130 before anything is created.

use std::io::IsTerminal;

use tokio::runtime::Handle;

use crate::cli::{Global, WizardArgs};
use crate::cluster::{Cluster, Wire, WriteMode, is_forbidden, is_managed};
use crate::cmd::terminal::Terminal;
use crate::cmd::{caller, check_exit, emit_kubeconfig, print, single_context, warn};
use crate::error::Input;
use crate::error::{Error, Exit, Result};
use crate::kubeconfig::Caller;
use crate::ops::check;
use crate::ops::credential;
use crate::ops::grant;
use crate::plan::{self, Destination};
use crate::progress::{Progress, note};
use crate::session::Session;
use crate::wizard::{self, Decision, Facts, Presence, Run, Setup};
use kscope_core::names::{NamespaceName, ServiceAccountName};
use kscope_core::render;
use kscope_core::templates;

/// How the wizard was started: bare `kscope` shows the whole usage when it must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Started {
    Bare,
    Subcommand,
}

pub(crate) async fn wizard(
    global: &Global,
    args: &WizardArgs,
    started: Started,
    wire: &Wire,
) -> Result<Exit> {
    let preset = plan::wizard(args)?;
    let template_dirs = templates::user_dirs(args.access.template_dir.as_deref());
    let missing = if !std::io::stdin().is_terminal() {
        Some("stdin")
    } else if !std::io::stderr().is_terminal() {
        Some("stderr")
    } else {
        None
    };
    if let Some(stream) = missing {
        let mut command = crate::program::command();
        command.build();
        let usage = match started {
            Started::Bare => command.render_help(),
            Started::Subcommand => command
                .find_subcommand_mut("wizard")
                .map(|w| w.render_usage())
                .unwrap_or_else(|| command.render_usage()),
        };
        crate::progress::note(&format!("{}\n", usage.to_string().trim_end()));
        return Err(Error::from(Input::WizardNeedsTerminal {
            stream,
            command_line: wizard::for_preset(
                &preset,
                global.kubeconfig.as_deref(),
                single_context(global)?,
                &template_dirs,
            ),
        }));
    }

    let caller = caller(global)?;
    let catalog = templates::catalog(&template_dirs)?;
    let setup = Setup::new(
        &caller,
        global.kubeconfig.clone(),
        !global.contexts.is_empty(),
        catalog,
        template_dirs,
        preset,
    );
    let handle = Handle::current();
    let mut facts = ClusterFacts {
        handle,
        caller: caller.clone(),
        wire: wire.clone(),
        connected: None,
    };
    let (decision, facts) = tokio::task::spawn_blocking(move || {
        let decision = wizard::interview(&setup, &mut Terminal::new(), &mut facts);
        (decision, facts)
    })
    .await
    .map_err(|e| Error::bug(format!("the wizard stopped unexpectedly: {e}")))?;
    match decision? {
        Decision::Cancelled { command_line } => {
            note("Nothing was created. The same later, with flags:");
            note(&format!("  {}", wizard::wrapped(&command_line)));
            Ok(Exit::Ok)
        }
        Decision::Go(run) => act(facts.session_for(&run.context).await?, &run).await,
    }
}

/// Runs a confirmed wizard: grant, kubeconfig file, check, as the three command lines would.
async fn act(session: Session, run: &Run) -> Result<Exit> {
    let (output, force) = run.output()?;
    let report = grant::execute(&session, &run.grant, WriteMode::Apply).await?;
    print(&render::grant_results(&report.objects))?;
    if let Some(error) = &report.not_remembered {
        warn(error);
    }

    let grant_ref = run.grant.spec.grant_ref();
    let endpoint = super::endpoint(&session, None, None)?;
    let known = credential::Known {
        secret: report.token_secret.as_ref(),
        also_in: Some(&report.also_in),
    };
    let issued =
        credential::issue(&session, &grant_ref, known, run.kubeconfig.token, &endpoint).await?;
    let destination = Destination::File {
        path: output.to_path_buf(),
        force,
    };
    emit_kubeconfig(&issued, &destination, false)?;

    let spinner = session.progress.start(&format!(
        "checking the access of {} through {}",
        grant_ref.username(),
        output.display()
    ));
    let checked = check::execute(&session, &run.check).await;
    spinner.finish("access checked");
    let checked = checked?;
    let color = std::io::stdout().is_terminal() && console::colors_enabled();
    print(&render::check_matrix_styled(&checked, color))?;

    note(&format!(
        "Try it:\n  kubectl --kubeconfig {} get pods",
        wizard::shell_path(output)
    ));
    note(&format!(
        "The same with flags, for next time:\n  {}",
        wizard::wrapped(&run.command_line)
    ));
    Ok(check_exit(&checked))
}

/// The wizard's cluster questions, asked as the caller through the chosen context. Runs on the
/// wizard's blocking thread, so it drives the async client with the runtime's handle.
struct ClusterFacts {
    handle: Handle,
    /// The caller's kubeconfig, loaded once; each context is a view of it.
    caller: Caller,
    wire: Wire,
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
        let session = self.handle.block_on(Session::connect(
            self.caller.with_context(context)?,
            &self.wire,
        ))?;
        self.connected = Some((context.to_string(), session.cluster.clone()));
        Ok(session.cluster)
    }

    /// A session for the chosen context, reusing the client the questions used.
    async fn session_for(self, context: &str) -> Result<Session> {
        let caller = self.caller.with_context(context)?;
        match self.connected {
            Some((name, cluster)) if name == context => Ok(Session {
                caller,
                cluster,
                wire: self.wire,
                progress: Progress::Shown,
            }),
            _ => Session::connect(caller, &self.wire).await,
        }
    }
}

/// What the wizard may ask without permission to: a 403 becomes "unknown".
fn unless_forbidden<T>(answer: Result<T>) -> Result<Option<T>> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(e) if is_forbidden(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Facts for ClusterFacts {
    fn namespaces(&mut self, context: &str) -> Result<Option<Vec<String>>> {
        let cluster = self.cluster(context)?;
        unless_forbidden(self.handle.block_on(cluster.namespaces()))
    }

    fn service_account(
        &mut self,
        context: &str,
        namespace: &NamespaceName,
        name: &ServiceAccountName,
    ) -> Result<Presence> {
        let cluster = self.cluster(context)?;
        let found =
            self.handle
                .block_on(cluster.get::<k8s_openapi::api::core::v1::ServiceAccount>(
                    namespace.as_str(),
                    name.as_str(),
                ));
        Ok(match unless_forbidden(found)? {
            None => Presence::Unknown,
            Some(None) => Presence::Absent,
            Some(Some(sa)) if is_managed(&sa.metadata) => Presence::Managed,
            Some(Some(_)) => Presence::NotManaged,
        })
    }

    fn cluster_role_exists(&mut self, context: &str, name: &str) -> Result<Option<bool>> {
        let cluster = self.cluster(context)?;
        let found = self
            .handle
            .block_on(cluster.get_cluster_scoped::<k8s_openapi::api::rbac::v1::ClusterRole>(name));
        Ok(unless_forbidden(found)?.map(|role| role.is_some()))
    }
}
