//! The `kscope` binary: parse, run, print the one error, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use kscope::cli::Cli;
use kscope::error::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    eprintln!("error: {error}");
    let hint = error.hint();
    if !hint.is_empty() {
        eprintln!("hint: {hint}");
    }
    error.exit().into()
}
