//! kscope: hand a tenant a namespace-scoped Kubernetes credential, and prove that it works.
//!
//! The library holds everything; `main` only parses, calls [`run`], prints the one error and
//! exits with its code. Layers, each using only those below it:
//! - `cmd` (one thin module per subcommand) and `wizard` (questions → plans);
//! - `plan` (validated "high" arguments, from flags or from the wizard's answers);
//! - operations `grant`, `credential`, `check`, `list`, `revoke`, `rotate`:
//!   `execute(&Session, &Plan)`, data only;
//! - `session` (caller, client, progress) and `cluster` (the only module that talks to the
//!   API server), `state` (local memory of grants);
//! - pure builders and arithmetic: `manifest`, `kubeconfig`, `templates`, `rules`, `access`,
//!   `render`;
//! - `error` (every sentence a user reads about a failure), `names`, `duration`, `cli`.

pub mod access;
pub mod apply;
pub mod audit;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod credential;
pub mod duration;
pub mod error;
pub mod grant;
pub mod kubeconfig;
pub mod list;
pub mod manifest;
pub mod names;
pub mod plan;
pub mod program;
pub mod progress;
pub mod render;
pub mod revoke;
pub mod rotate;
pub mod rules;
pub mod session;
pub mod state;
pub mod templates;
pub mod tenants;
#[cfg(test)]
mod test_support;
pub mod wire;
pub mod wizard;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::cluster::Wire;
use crate::error::{Exit, Result};

/// Runs one command line. The only dispatch in kscope.
pub async fn run(cli: Cli) -> Result<Exit> {
    let request_timeout = plan::request_timeout(&cli.global.request_timeout)?;
    let wire = Wire::new(cli.global.verbose, Some(request_timeout));
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let global = &cli.global;
    let exit = match &cli.command {
        Some(Command::Grant(args)) => cmd::grant::grant(global, args, &wire).await,
        Some(Command::Kubeconfig(args)) => cmd::kubeconfig::kubeconfig(global, args, &wire).await,
        Some(Command::Check(args)) => cmd::check::check(global, args, &wire).await,
        Some(Command::List(args)) => cmd::list::list(global, args, &wire).await,
        Some(Command::Audit(args)) => cmd::audit::audit(global, args, &wire).await,
        Some(Command::Apply(args)) => cmd::apply::apply(global, args, &wire).await,
        Some(Command::Revoke(args)) => cmd::revoke::revoke(global, args, &wire).await,
        Some(Command::Rotate(args)) => cmd::rotate::rotate(global, args, &wire).await,
        Some(Command::Templates(args)) => cmd::templates::templates(args),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "kscope", &mut out);
            cmd::print(&String::from_utf8_lossy(&out)).map(|()| Exit::Ok)
        }
        Some(Command::Man) => cmd::print(&render::man_page(cli::command())?).map(|()| Exit::Ok),
        Some(Command::Wizard(args)) => {
            cmd::wizard::wizard(global, args, cmd::wizard::Started::Subcommand, &wire).await
        }
        None => {
            let args = cli::WizardArgs::default();
            cmd::wizard::wizard(global, &args, cmd::wizard::Started::Bare, &wire).await
        }
    };
    if wire.verbose() {
        eprintln!("kscope: {} API requests", wire.requests_sent());
    }
    exit
}
