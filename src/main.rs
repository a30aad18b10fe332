//! The `kscope` binary: parse, run, print the one error, exit with its code.

use std::process::ExitCode;

use clap::FromArgMatches;
use kscope::cli::{self, Cli};
use kscope::error::Error;
use kscope::program;

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return report(Error::AsyncRuntime(e)),
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = kscope::run(cli) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    match result {
        Ok(exit) => exit.into(),
        Err(error) => report(error),
    }
}

/// Prints the one error of a run, and its hint, and returns its exit code.
fn report(error: Error) -> ExitCode {
    eprintln!("error: {}", program::spell(&error.to_string()));
    let hint = error.hint();
    if !hint.is_empty() {
        eprintln!("hint: {}", program::spell(&hint));
    }
    error.exit().into()
}
