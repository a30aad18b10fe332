//! kscope: hand a tenant a namespace-scoped Kubernetes credential, and prove that it works.
//!
//! The binary crate: the command line, the operations and the cluster client. The pure core
//! (names, specs, rules, templates, manifests, the scoped kubeconfig, the audit's rules, the
//! reports and their renderers) is the crate `kscope_core`, which holds no client.
//! The binary only calls [`main`], which parses, runs, prints the one error and exits with its
//! code. Everything else is `pub(crate)`, so the compiler reports dead code. Layers, each using
//! only those below it (`tests/layers.rs` enforces the order of `tests/layers.txt`):
//! - `cmd` (one thin module per subcommand: plan, operation, render, exit code) and `wizard`
//!   (questions behind a trait; answers become plans);
//! - `ops` (one module per operation: `execute(&Session, &Plan)` returns a report, data only);
//! - `session` (caller, client, progress) and `plan` (validated "high" arguments from flags,
//!   the wizard's answers and TenantSets);
//! - `cluster` (the only module that talks to the API server) and `state` (the local memory
//!   of the last grant);
//! - `kubeconfig` (the caller's kubeconfig, and kscope's private files), `wire` (what every
//!   request shares), `progress`, `program`, `cli` (clap types only), `error` (every sentence
//!   a user reads about a failure, and the exit codes).

pub(crate) mod cli;
pub(crate) mod cluster;
pub(crate) mod cmd;
pub(crate) mod error;
pub(crate) mod kubeconfig;
pub(crate) mod ops;
pub(crate) mod plan;
pub(crate) mod program;
pub(crate) mod progress;
pub(crate) mod session;
pub(crate) mod state;
#[cfg(test)]
mod test_support;
pub(crate) mod wire;
pub(crate) mod wizard;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};
use crate::cluster::Wire;
use crate::error::{Error, Exit, Result};

/// The whole program: parse, run, print the one error, exit with its code.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&program::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // One thread: kscope waits on the API server, and its own work is small. Waking worker
    // threads cost a grant a quarter of kscope's CPU time (measured in docs/benchmarks.md).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Error::AsyncRuntime(e)),
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(cli) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    // Everything the run writes is written by now: blocking threads (a question still asked)
    // are not waited for.
    runtime.shutdown_background();
    match result {
        Ok(exit) => exit.into(),
        Err(error) => report(error),
    }
}

/// Prints the one error of a run, and its hint, and returns its exit code.
fn report(error: Error) -> ExitCode {
    progress::note(&format!("error: {error}"));
    let hint = error.hint();
    if !hint.is_empty() {
        progress::note(&format!("hint: {hint}"));
    }
    error.exit().into()
}

/// Runs one command line. The only dispatch in kscope.
async fn run(cli: Cli) -> Result<Exit> {
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
        Some(Command::Man) => {
            cmd::print(&cmd::man::man_page(program::command())?).map(|()| Exit::Ok)
        }
        Some(Command::Wizard(args)) => {
            cmd::wizard::wizard(global, args, cmd::wizard::Started::Subcommand, &wire).await
        }
        None => {
            let args = cli::WizardArgs::default();
            cmd::wizard::wizard(global, &args, cmd::wizard::Started::Bare, &wire).await
        }
    };
    if wire.verbose() {
        progress::note(&format!("kscope: {} API requests", wire.requests_sent()));
    }
    exit
}
