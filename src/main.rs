//! The `kscope` binary: parse, run, print the one error, exit with its code.

use std::process::ExitCode;

use clap::Parser;
use kscope::cli::Cli;
use kscope::error::{Error, Exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return Exit::Runtime.into();
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = kscope::run(cli) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("error: {error}");
            let hint = error.hint();
            if !hint.is_empty() {
                eprintln!("hint: {hint}");
            }
            error.exit().into()
        }
    }
}
