//! kscope: hand a tenant a namespace-scoped Kubernetes credential, and prove that it works.
//!
//! The library holds everything; `main` only parses, calls `run`, prints the one error and
//! exits with its code. Arrows run one way: `cmd` uses `spec`, the pure builders
//! (`manifest`, `kubeconfig`, `templates`, `rules`, `access`), `cluster` and `render`.

pub mod access;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod error;
pub mod kubeconfig;
pub mod manifest;
pub mod progress;
pub mod render;
pub mod rules;
pub mod spec;
pub mod state;
pub mod templates;
#[cfg(test)]
mod test_support;
pub mod wizard;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::error::{Exit, Result};

/// Runs one command line. The only dispatch in kscope.
pub async fn run(cli: Cli) -> Result<Exit> {
    cluster::set_verbose(cli.global.verbose);
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let exit = match &cli.command {
        Some(Command::Grant(args)) => cmd::grant::run(&cli.global, args).await,
        Some(Command::Kubeconfig(args)) => cmd::kubeconfig::run(&cli.global, args).await,
        Some(Command::Check(args)) => cmd::check::run(&cli.global, args).await,
        Some(Command::Templates(args)) => cmd::templates::run(args),
        Some(Command::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "kscope", &mut out);
            cmd::print(&String::from_utf8_lossy(&out)).map(|()| Exit::Ok)
        }
        Some(Command::Wizard(args)) => {
            cmd::wizard::run(&cli.global, args, cmd::wizard::Started::Subcommand).await
        }
        None => {
            let args = cli::WizardArgs::default();
            cmd::wizard::run(&cli.global, &args, cmd::wizard::Started::Bare).await
        }
    };
    if cli.global.verbose {
        eprintln!("kscope: {} API requests", cluster::requests_sent());
    }
    exit
}
